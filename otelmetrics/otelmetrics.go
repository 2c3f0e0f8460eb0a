// Package otelmetrics turns the events of a cookiesession Manager into
// OpenTelemetry metrics, through the OpenTelemetry metrics API only: the
// application chooses the SDK and the exporter (Prometheus, OTLP, …).
//
//	hook, err := otelmetrics.New(meterProvider)
//	if err != nil { … }
//	m, err := cookiesession.New[T](cookiesession.Options{Keys: keys, OnEvent: hook})
//
// It records, under the instrumentation scope [ScopeName]:
//
//	name                                 kind       unit          attributes
//	cookiesession.session.reads          counter    {read}        outcome: ok, none or a reason
//	cookiesession.session.writes         counter    {write}       outcome: cookie, overflow
//	cookiesession.session.clears         counter    {clear}       outcome: logout, refused, lifetime
//	cookiesession.revocations            counter    {revocation}  outcome: id, subject, all, error, pending, expired
//	cookiesession.session.write.size     histogram  By            outcome: cookie, overflow
//	cookiesession.session.write.cookies  histogram  {cookie}      outcome: cookie, overflow
//
// A read's outcome is "ok", "none" (no cookie: a new visitor) or the
// reason its cookies were refused, as [cookiesession.Reason] names it
// ("invalid", "expired", "revoked", …); the other outcomes are those that
// [cookiesession.Event] documents. Every attribute value is one of these
// names, chosen by the library, never by the client, so the number of
// series stays small and no cookie, session data or key reaches a metric.
//
// The histograms advise bucket boundaries fitted to cookie budgets (an SDK
// view overrides them): for the size, 256, 512, 1024, 2048, 3072, 4096,
// 6144, 8192 and 16384 bytes (a reference to an overflowed session, about
// 200 bytes, falls in the first bucket, one full cookie at 4096, the
// default total budget at 6144); for the cookies, 1 to 10, one bucket per
// cookie up to the default limit of 10.
//
// Recording an event costs no allocation for the outcomes above: the
// attribute sets and the measurement options are built once, in [New].
package otelmetrics

import (
	"context"
	"fmt"

	"github.com/cookiesession/cookiesession"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the name of the instrumentation scope (the Meter) that
// holds the instruments, for SDK views that select them.
const ScopeName = "github.com/cookiesession/cookiesession/otelmetrics"

// sizeBuckets and cookieBuckets are the advised bucket boundaries (see
// the package documentation).
var (
	sizeBuckets   = []float64{256, 512, 1024, 2048, 3072, 4096, 6144, 8192, 16384}
	cookieBuckets = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
)

// outcomes are the outcomes of every event kind the core emits (see
// cookiesession.Event and cookiesession.Reason); each gets its attribute
// set and measurement options once, in New.
var outcomes = []string{
	// read
	"ok", "none",
	"invalid", "unknown_key", "expired", "too_large", "ambiguous", "revoked",
	"revocation_unavailable", "overflow_missing", "overflow_unavailable",
	"undecodable", "header_written", "no_middleware", "name_conflict", "error",
	// write
	"cookie", "overflow",
	// clear
	"logout", "refused", "lifetime",
	// revoke (and "error", above)
	"id", "subject", "all", "pending", "expired",
}

// options are the measurement options of one outcome, built once and
// shared (read only) by every event with that outcome.
type options struct {
	add []metric.AddOption
	rec []metric.RecordOption
}

func newOptions(outcome string) options {
	o := metric.WithAttributeSet(attribute.NewSet(attribute.String("outcome", outcome)))
	return options{add: []metric.AddOption{o}, rec: []metric.RecordOption{o}}
}

type recorder struct {
	reads, writes, clears, revocations metric.Int64Counter
	size, cookies                      metric.Int64Histogram
	known                              map[string]options // read only after New
}

// New returns a hook for [cookiesession.Options.OnEvent] that records
// each event on instruments of a Meter named [ScopeName] from mp (see the
// package documentation for the list). The hook is safe for concurrent
// use and may be shared by several Managers (their counts add up) or
// called by any code that emits [cookiesession.Event] values. Events of
// an unknown kind are ignored; an unknown outcome is recorded as it is,
// at the cost of one attribute set per event.
//
// mp nil means the global provider, otel.GetMeterProvider(): instruments
// made before the application installs its provider with
// otel.SetMeterProvider forward to it once it is installed. New fails,
// with an error wrapping the provider's, when the provider cannot create
// an instrument (the SDK and the global provider create them all).
func New(mp metric.MeterProvider) (func(cookiesession.Event), error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	meter := mp.Meter(ScopeName)
	r := &recorder{known: make(map[string]options, len(outcomes))}
	var err error
	counter := func(dst *metric.Int64Counter, name, unit, desc string) {
		if err == nil {
			*dst, err = meter.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		}
	}
	histogram := func(dst *metric.Int64Histogram, name, unit, desc string, bounds []float64) {
		if err == nil {
			*dst, err = meter.Int64Histogram(name, metric.WithUnit(unit), metric.WithDescription(desc),
				metric.WithExplicitBucketBoundaries(bounds...))
		}
	}
	counter(&r.reads, "cookiesession.session.reads", "{read}",
		"Sessions read from a request's cookies, by outcome: ok, none (no cookie: a new visitor) or the reason the cookies were refused.")
	counter(&r.writes, "cookiesession.session.writes", "{write}",
		"Sessions written to cookies, by outcome: cookie, or overflow (the session went to the overflow store).")
	counter(&r.clears, "cookiesession.session.clears", "{clear}",
		"Session cookies expired, by outcome: logout, refused (cookies that did not open) or lifetime.")
	counter(&r.revocations, "cookiesession.revocations", "{revocation}",
		"Revocations recorded, by outcome: id, subject, all, or error when recording failed; pending for a logout held on its server and retried, expired for one whose session ended before it was recorded.")
	histogram(&r.size, "cookiesession.session.write.size", "By",
		"Bytes of cookie values set by one session write.", sizeBuckets)
	histogram(&r.cookies, "cookiesession.session.write.cookies", "{cookie}",
		"Cookies set by one session write.", cookieBuckets)
	if err != nil {
		return nil, fmt.Errorf("cookiesession: otelmetrics.New: %w", err)
	}
	for _, o := range outcomes {
		r.known[o] = newOptions(o)
	}
	return r.record, nil
}

// record is the hook: one counter increment, plus the two histograms for
// a write.
func (r *recorder) record(e cookiesession.Event) {
	o, ok := r.known[e.Outcome]
	if !ok {
		o = newOptions(e.Outcome)
	}
	ctx := context.Background()
	switch e.Kind {
	case "read":
		r.reads.Add(ctx, 1, o.add...)
	case "write":
		r.writes.Add(ctx, 1, o.add...)
		r.size.Record(ctx, int64(e.Bytes), o.rec...)
		r.cookies.Record(ctx, int64(e.Cookies), o.rec...)
	case "clear":
		r.clears.Add(ctx, 1, o.add...)
	case "revoke":
		r.revocations.Add(ctx, 1, o.add...)
	}
}
