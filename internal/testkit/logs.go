package testkit

import (
	"context"
	"log/slog"
	"strings"
	"sync"
)

// Logs is a slog.Handler that keeps every record, for tests of what is
// logged: slog.New(logs) is the logger to hand over. It is safe for
// concurrent use; the zero Logs is ready.
type Logs struct {
	mu   sync.Mutex
	recs []slog.Record
}

// Enabled reports true: every level is kept.
func (h *Logs) Enabled(context.Context, slog.Level) bool { return true }

// WithAttrs returns h; the attributes are dropped.
func (h *Logs) WithAttrs([]slog.Attr) slog.Handler { return h }

// WithGroup returns h; the group is dropped.
func (h *Logs) WithGroup(string) slog.Handler { return h }

// Handle keeps r.
func (h *Logs) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

// Reset forgets the records kept so far.
func (h *Logs) Reset() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = nil
}

// Texts returns the records at level, each as its message followed by
// its attributes (" key=value").
func (h *Logs) Texts(level slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Level != level {
			continue
		}
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.Key + "=" + a.Value.String())
			return true
		})
		out = append(out, b.String())
	}
	return out
}
