package main

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/cookiesession/cookiesession"
)

// metrics counts the Manager's events (Options.OnEvent) by kind and
// outcome, and the bytes and cookies it wrote, for the /metrics page and
// the index page's panel. It is a few counters behind a mutex: a real
// application would feed the events to its metrics library instead.
type metrics struct {
	mu           sync.Mutex
	events       map[eventKey]uint64
	writeBytes   uint64
	writeCookies uint64
}

type eventKey struct{ Kind, Outcome string }

// eventCount is one line of the metrics panel.
type eventCount struct {
	Kind, Outcome string
	N             uint64
}

func newMetrics() *metrics { return &metrics{events: map[eventKey]uint64{}} }

// observe is the Manager's OnEvent.
func (mt *metrics) observe(e cookiesession.Event) {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	mt.events[eventKey{e.Kind, e.Outcome}]++
	if e.Kind == "write" {
		mt.writeBytes += uint64(e.Bytes)
		mt.writeCookies += uint64(e.Cookies)
	}
}

// counts returns the event counters, sorted by kind and outcome.
func (mt *metrics) counts() []eventCount {
	mt.mu.Lock()
	defer mt.mu.Unlock()
	out := make([]eventCount, 0, len(mt.events))
	for k, n := range mt.events {
		out = append(out, eventCount{k.Kind, k.Outcome, n})
	}
	slices.SortFunc(out, func(a, b eventCount) int {
		if a.Kind != b.Kind {
			return cmp.Compare(a.Kind, b.Kind)
		}
		return cmp.Compare(a.Outcome, b.Outcome)
	})
	return out
}

// serveMetrics writes the counters as plain text, in the Prometheus text
// format, with the demo stores' sizes.
func (d *demo) serveMetrics(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	fmt.Fprintln(w, "# HELP cookiesession_events_total Session events (Options.OnEvent) by kind and outcome.")
	fmt.Fprintln(w, "# TYPE cookiesession_events_total counter")
	for _, c := range d.metrics.counts() {
		fmt.Fprintf(w, "cookiesession_events_total{kind=%q,outcome=%q} %d\n", c.Kind, c.Outcome, c.N)
	}
	d.metrics.mu.Lock()
	wb, wc := d.metrics.writeBytes, d.metrics.writeCookies
	d.metrics.mu.Unlock()
	fmt.Fprintln(w, "# HELP cookiesession_write_bytes_total Bytes of cookie values written.")
	fmt.Fprintln(w, "# TYPE cookiesession_write_bytes_total counter")
	fmt.Fprintf(w, "cookiesession_write_bytes_total %d\n", wb)
	fmt.Fprintln(w, "# HELP cookiesession_write_cookies_total Cookies written.")
	fmt.Fprintln(w, "# TYPE cookiesession_write_cookies_total counter")
	fmt.Fprintf(w, "cookiesession_write_cookies_total %d\n", wc)
	if d.revoker != nil {
		fmt.Fprintln(w, "# HELP demo_revocations Revocations the demo's in-memory Revoker holds.")
		fmt.Fprintln(w, "# TYPE demo_revocations gauge")
		fmt.Fprintf(w, "demo_revocations %d\n", d.revoker.Len())
	}
	if d.overflow != nil {
		n, b := d.overflow.Stats()
		fmt.Fprintln(w, "# HELP demo_overflow_values Sessions in the demo's in-memory Overflow store.")
		fmt.Fprintln(w, "# TYPE demo_overflow_values gauge")
		fmt.Fprintf(w, "demo_overflow_values %d\n", n)
		fmt.Fprintln(w, "# HELP demo_overflow_bytes Bytes of sealed sessions in the demo's in-memory Overflow store.")
		fmt.Fprintln(w, "# TYPE demo_overflow_bytes gauge")
		fmt.Fprintf(w, "demo_overflow_bytes %d\n", b)
	}
}
