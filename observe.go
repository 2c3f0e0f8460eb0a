package cookiesession

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/cookiesession/cookiesession/store"
)

// Observing a Manager: every problem goes to [Options.OnError] (by
// default a structured record on [Options.Logger]), and every read, write,
// clear and revocation to [Options.OnEvent] (for metrics; the otelmetrics
// module turns events into OpenTelemetry counters).

// Event is one thing a Manager did, for metrics ([Options.OnEvent]). It
// never carries a cookie value, session data or a key.
type Event struct {
	// Kind is what happened:
	//   - "read": a request's session was read (the first Get, or Load);
	//   - "write": the session's cookies were set;
	//   - "clear": the session's cookies were expired;
	//   - "revoke": a revocation was recorded.
	Kind string

	// Outcome qualifies Kind:
	//   - read: "ok", "none" (no cookie: a new visitor) or the reason the
	//     cookies were refused, as [Reason] names it;
	//   - write: "cookie", or "overflow" (the session went to the
	//     Overflow store and the cookie holds a reference);
	//   - clear: "logout" (Destroy or Data = nil), "refused" (cookies that
	//     did not open, expired once so the browser stops sending them) or
	//     "lifetime" (SetLifetime ended the session);
	//   - revoke: "id", "subject", "provider" (a provider session) or
	//     "all"; "error" when it failed;
	//     "pending" when the Revoker failed to record a logout, which is
	//     then refused on this server and retried in the background
	//     (its "id" comes when it is recorded), and "expired" when the
	//     session's deadline passed before it was.
	Outcome string

	// Bytes is the length of the cookie values written (write only).
	Bytes int

	// Cookies is the number of cookies written (write only).
	Cookies int
}

// Reason names the condition err reports, for logs and metrics:
// "invalid", "unknown_key" (sealed with a key not in the ring: a rotation
// mistake rather than tampering), "expired", "too_large", "ambiguous",
// "revoked", "revocation_unavailable", "overflow_missing",
// "overflow_unavailable", "undecodable", "unbound" (a session bound to a
// device, without the device's proof), "header_written", "no_middleware",
// "name_conflict", or "error" for any other.
func Reason(err error) string {
	switch {
	case errors.Is(err, ErrUndecodable):
		return "undecodable"
	case errors.Is(err, ErrRevoked):
		return "revoked"
	case errors.Is(err, store.ErrRevocationUnavailable):
		return "revocation_unavailable" // the session's, or a binding check's
	case errors.As(err, new(*unboundError)):
		return "unbound"
	case errors.Is(err, store.ErrOverflowMissing):
		return "overflow_missing"
	case errors.Is(err, store.ErrOverflowUnavailable):
		return "overflow_unavailable"
	case errors.Is(err, ErrAmbiguous):
		return "ambiguous"
	case errors.Is(err, ErrExpired):
		return "expired"
	case errors.Is(err, ErrTooLarge):
		return "too_large"
	case errors.Is(err, ErrUnknownKey):
		return "unknown_key"
	case errors.Is(err, ErrInvalid):
		return "invalid"
	case errors.Is(err, ErrHeaderWritten):
		return "header_written"
	case errors.Is(err, ErrNoMiddleware):
		return "no_middleware"
	case errors.Is(err, ErrNameConflict):
		return "name_conflict"
	}
	return "error"
}

// undecodableError is ErrUndecodable for a type; it matches ErrInvalid
// too, as every session that does not open does.
type undecodableError struct{ typ string }

func (e *undecodableError) Error() string {
	return "cookiesession: payload does not deserialize into " + e.typ
}

func (e *undecodableError) Is(target error) bool {
	return target == ErrUndecodable || target == ErrInvalid
}

// refusable reports whether cookies that failed to open with err are
// expired in the response, so that the browser stops sending them: not
// when the failure may pass (a store that is down) or when another
// candidate may be the user's real session (ErrAmbiguous: expiring our
// cookie would leave a planted one alone).
func refusable(err error) bool {
	switch {
	case errors.Is(err, ErrAmbiguous), errors.Is(err, store.ErrRevocationUnavailable), errors.Is(err, store.ErrOverflowUnavailable),
		errors.As(err, new(*unboundError)):
		return false
	}
	return true
}

// unboundError refuses a session bound to a device (Options.Binding) on a
// request that [Options.Binding] did not accept (or with no Binding to
// ask). It matches [ErrInvalid] and the check's own error. The cookies are
// left as they are: a copy the thief holds opens nowhere anyway, and the
// device that holds them opens them again once it has renewed its proof.
type unboundError struct{ err error }

func (e *unboundError) Error() string {
	return "cookiesession: session bound to a device, refused: " + e.err.Error()
}
func (e *unboundError) Unwrap() []error { return []error{ErrInvalid, e.err} }

// errNoBindingCheck is the refusal of a bound session by a Manager without
// Options.Binding: binding fails closed.
var errNoBindingCheck = errors.New("no Options.Binding to check it")

// readError marks an error found reading a request's cookies: caused by
// the client (or a store), not by the application. It prints and matches
// as the error it wraps.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// emit sends an event to OnEvent, if set.
func (m *Manager[T]) emit(kind, outcome string, bytes, cookies int) {
	if m.opts.OnEvent != nil {
		m.opts.OnEvent(Event{Kind: kind, Outcome: outcome, Bytes: bytes, Cookies: cookies})
	}
}

// logReport is the default OnError: one structured record on logger.
// Problems a client causes (a bad, expired or foreign cookie) are logged
// at Info (expired cookies, the everyday case, at Debug); problems of the
// server or the application (a session too large to save, a change after
// the header went out, a store that is down) at Warn, or Error for a
// store that is down.
func logReport(logger *slog.Logger, name string, r *http.Request, err error) {
	reason := Reason(err)
	level := slog.LevelWarn
	var re *readError
	switch {
	case reason == "revocation_unavailable" || reason == "overflow_unavailable":
		level = slog.LevelError
	case errors.As(err, &re) && reason == "expired", reason == "name_conflict":
		// name_conflict: warned once already (misconfig.go), with the fix.
		level = slog.LevelDebug
	case errors.As(err, &re):
		level = slog.LevelInfo
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 8)
	attrs = append(attrs, slog.String("reason", reason), slog.String("cookie", name))
	var se *SizeError
	if errors.As(err, &se) {
		attrs = append(attrs, slog.String("limit", se.What), slog.Int("size", se.Size), slog.Int("max", se.Limit))
	}
	if r != nil {
		attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
	logger.LogAttrs(ctx, level, err.Error(), attrs...)
}
