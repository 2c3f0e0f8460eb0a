package otelmetrics_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/cookiesessiontest"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/otelmetrics"
	"github.com/cookiesession/cookiesession/store"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

type cart struct {
	N    int    `json:"n"`
	Note string `json:"note,omitempty"`
}

// collected is what a ManualReader collected from the otelmetrics scope:
// counter values and histogram points by instrument, then by outcome.
type collected struct {
	sums  map[string]map[string]int64
	hists map[string]map[string]metricdata.HistogramDataPoint[int64]
	units map[string]string
}

func collect(t *testing.T, reader *sdkmetric.ManualReader) collected {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	c := collected{
		sums:  map[string]map[string]int64{},
		hists: map[string]map[string]metricdata.HistogramDataPoint[int64]{},
		units: map[string]string{},
	}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelmetrics.ScopeName {
			t.Errorf("scope %q, want %q", sm.Scope.Name, otelmetrics.ScopeName)
			continue
		}
		for _, m := range sm.Metrics {
			c.units[m.Name] = m.Unit
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				if !d.IsMonotonic {
					t.Errorf("%s: not monotonic", m.Name)
				}
				for _, p := range d.DataPoints {
					if c.sums[m.Name] == nil {
						c.sums[m.Name] = map[string]int64{}
					}
					c.sums[m.Name][outcome(t, m.Name, p.Attributes.ToSlice())] = p.Value
				}
			case metricdata.Histogram[int64]:
				for _, p := range d.DataPoints {
					if c.hists[m.Name] == nil {
						c.hists[m.Name] = map[string]metricdata.HistogramDataPoint[int64]{}
					}
					c.hists[m.Name][outcome(t, m.Name, p.Attributes.ToSlice())] = p
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return c
}

// outcome returns the value of the only attribute a point may carry.
func outcome(t *testing.T, name string, attrs []attribute.KeyValue) string {
	t.Helper()
	if len(attrs) != 1 || attrs[0].Key != "outcome" {
		t.Errorf("%s: attributes %v, want only outcome", name, attrs)
		return fmt.Sprint(attrs)
	}
	return attrs[0].Value.AsString()
}

// TestRequestSequence drives a real Manager through a server and a
// browser-like client (new visitor, two writes, a read, a tampered cookie,
// logout, a replayed cookie) and checks every collected counter and
// histogram against what the responses show.
func TestRequestSequence(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	hook, err := otelmetrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	var reported []string
	var mu sync.Mutex
	m, err := cookiesession.New[cart](cookiesession.Options{
		Keys:              [][]byte{testkit.Key(0)},
		InsecureAllowHTTP: true,
		Revoker:           cookiesessiontest.NewRevoker(nil),
		OnEvent:           hook,
		OnError: func(_ *http.Request, err error) {
			mu.Lock()
			reported = append(reported, cookiesession.Reason(err))
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, m.Get(r).Data.N)
	})
	mux.HandleFunc("/add", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		s.Data.Note = strings.Repeat("x", atoi(r.URL.Query().Get("note")))
	})
	mux.HandleFunc("/logout", func(w http.ResponseWriter, r *http.Request) {
		m.Get(r).Destroy()
	})
	srv := httptest.NewServer(m.Handler(mux))
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar}
	get := func(client *http.Client, path, cookie string) *http.Response {
		t.Helper()
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// written returns the bytes and the number of the session cookies a
	// response set (expired ones excluded).
	written := func(resp *http.Response) (bytes, cookies int64) {
		for _, c := range resp.Cookies() {
			if c.MaxAge >= 0 && c.Value != "" {
				bytes += int64(len(c.Value))
				cookies++
			}
		}
		return bytes, cookies
	}
	u, _ := url.Parse(srv.URL)
	header := func() string {
		var parts []string
		for _, c := range jar.Cookies(u) {
			parts = append(parts, c.Name+"="+c.Value)
		}
		return strings.Join(parts, "; ")
	}

	if resp := get(browser, "/", ""); len(resp.Cookies()) != 0 { // a new visitor: read none
		t.Fatalf("a read-only new visitor got cookies %v", resp.Cookies())
	}
	b1, c1 := written(get(browser, "/add", ""))           // read none, write 1 cookie
	b2, c2 := written(get(browser, "/add?note=3500", "")) // read ok, write 2 cookies
	if c1 != 1 || c2 != 2 {
		t.Fatalf("writes set %d and %d cookies, want 1 and 2", c1, c2)
	}
	get(browser, "/", "") // read ok
	good := header()
	tampered := []byte(good)
	tampered[len(good)/2] ^= 1
	if resp := get(http.DefaultClient, "/", string(tampered)); len(resp.Cookies()) == 0 { // read invalid, clear refused
		t.Fatal("tampered cookies not expired")
	}
	get(browser, "/logout", "")        // read ok, clear logout, revoke id
	get(http.DefaultClient, "/", good) // read revoked, clear refused

	want := map[string]map[string]int64{
		"cookiesession.session.reads":  {"none": 2, "ok": 3, "invalid": 1, "revoked": 1},
		"cookiesession.session.writes": {"cookie": 2},
		"cookiesession.session.clears": {"refused": 2, "logout": 1},
		"cookiesession.revocations":    {"id": 1},
	}
	got := collect(t, reader)
	if !reflect.DeepEqual(got.sums, want) {
		t.Errorf("counters:\n got %v\nwant %v", got.sums, want)
	}
	if fmt.Sprint(reported) != "[invalid revoked]" {
		t.Errorf("OnError heard %v, want [invalid revoked]", reported)
	}

	if len(got.hists) != 2 {
		t.Errorf("histograms: %v", got.hists)
	}
	size := got.hists["cookiesession.session.write.size"]["cookie"]
	checkHist(t, "size", size, 2, b1+b2, []float64{256, 512, 1024, 2048, 3072, 4096, 6144, 8192, 16384}, b1, b2)
	n := got.hists["cookiesession.session.write.cookies"]["cookie"]
	checkHist(t, "cookies", n, 2, c1+c2, []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, c1, c2)
	if b2 <= 4096 || b2 > 6144 {
		t.Errorf("second write of %d bytes: the test meant it for the (4096, 6144] bucket", b2)
	}

	units := map[string]string{
		"cookiesession.session.reads":         "{read}",
		"cookiesession.session.writes":        "{write}",
		"cookiesession.session.clears":        "{clear}",
		"cookiesession.revocations":           "{revocation}",
		"cookiesession.session.write.size":    "By",
		"cookiesession.session.write.cookies": "{cookie}",
	}
	if !reflect.DeepEqual(got.units, units) {
		t.Errorf("units:\n got %v\nwant %v", got.units, units)
	}
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// checkHist checks a histogram point's count, sum and bounds, and that
// each of values is counted in its bucket.
func checkHist(t *testing.T, name string, p metricdata.HistogramDataPoint[int64], count uint64, sum int64, bounds []float64, values ...int64) {
	t.Helper()
	if p.Count != count || p.Sum != sum {
		t.Errorf("%s: count %d sum %d, want %d and %d", name, p.Count, p.Sum, count, sum)
	}
	if !reflect.DeepEqual(p.Bounds, bounds) {
		t.Errorf("%s: bounds %v, want %v", name, p.Bounds, bounds)
	}
	want := make([]uint64, len(bounds)+1)
	for _, v := range values {
		want[sort.SearchFloat64s(bounds, float64(v))]++ // buckets are (prev, bound]
	}
	if !reflect.DeepEqual(p.BucketCounts, want) {
		t.Errorf("%s: buckets %v, want %v (values %v)", name, p.BucketCounts, want, values)
	}
}

// allOutcomes are the events the core emits: each must record without
// allocating.
func allOutcomes() []cookiesession.Event {
	evs := []cookiesession.Event{
		{Kind: "read", Outcome: "ok"},
		{Kind: "read", Outcome: "none"},
		{Kind: "write", Outcome: "cookie", Bytes: 300, Cookies: 1},
		{Kind: "write", Outcome: "overflow", Bytes: 200, Cookies: 1},
		{Kind: "clear", Outcome: "logout"},
		{Kind: "clear", Outcome: "refused"},
		{Kind: "clear", Outcome: "lifetime"},
		{Kind: "revoke", Outcome: "id"},
		{Kind: "revoke", Outcome: "subject"},
		{Kind: "revoke", Outcome: "all"},
		{Kind: "revoke", Outcome: "error"},
		{Kind: "revoke", Outcome: "pending"},
		{Kind: "revoke", Outcome: "expired"},
	}
	for _, err := range []error{
		cookiesession.ErrInvalid, cookiesession.ErrExpired, cookiesession.ErrTooLarge,
		cookiesession.ErrAmbiguous, cookiesession.ErrRevoked, store.ErrRevocationUnavailable,
		store.ErrOverflowMissing, store.ErrOverflowUnavailable, cookiesession.ErrUndecodable,
		cookiesession.ErrHeaderWritten, cookiesession.ErrNoMiddleware, cookiesession.ErrUnknownKey,
		cookiesession.ErrNameConflict, errors.New("other"),
	} {
		evs = append(evs, cookiesession.Event{Kind: "read", Outcome: cookiesession.Reason(err)})
	}
	return evs
}

// TestKnownOutcomesDoNotAllocate: recording any outcome the core emits,
// every Reason included, costs no allocation with the SDK.
func TestKnownOutcomesDoNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	hook, err := otelmetrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range allOutcomes() {
		hook(e) // the SDK makes each series once
		if n := testing.AllocsPerRun(100, func() { hook(e) }); n != 0 {
			t.Errorf("%s %s: %v allocations per event", e.Kind, e.Outcome, n)
		}
	}
}

// TestUnknownOutcomeAndKind: an outcome the module does not know is
// recorded as it is; an unknown kind is ignored.
func TestUnknownOutcomeAndKind(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	hook, err := otelmetrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	hook(cookiesession.Event{Kind: "read", Outcome: "future_reason"})
	hook(cookiesession.Event{Kind: "read", Outcome: "future_reason"})
	hook(cookiesession.Event{Kind: "unknown", Outcome: "ok"})
	got := collect(t, reader)
	want := map[string]map[string]int64{"cookiesession.session.reads": {"future_reason": 2}}
	if !reflect.DeepEqual(got.sums, want) || len(got.hists) != 0 {
		t.Errorf("got %v %v, want %v", got.sums, got.hists, want)
	}
}

// TestNilUsesGlobalProvider: New(nil) records on the global provider,
// including one installed after New.
func TestNilUsesGlobalProvider(t *testing.T) {
	hook, err := otelmetrics.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	reader := sdkmetric.NewManualReader()
	prev := otel.GetMeterProvider()
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	defer otel.SetMeterProvider(prev)
	hook(cookiesession.Event{Kind: "write", Outcome: "overflow", Bytes: 180, Cookies: 1})
	got := collect(t, reader)
	if want := map[string]map[string]int64{"cookiesession.session.writes": {"overflow": 1}}; !reflect.DeepEqual(got.sums, want) {
		t.Errorf("got %v, want %v", got.sums, want)
	}
	if p := got.hists["cookiesession.session.write.size"]["overflow"]; p.Count != 1 || p.Sum != 180 {
		t.Errorf("size: count %d sum %d, want 1 and 180", p.Count, p.Sum)
	}
}

// BenchmarkHook measures one event on the SDK: a read, a write (a counter
// and two histograms) and an outcome the module does not know.
func BenchmarkHook(b *testing.B) {
	hook, err := otelmetrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader())))
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range []cookiesession.Event{
		{Kind: "read", Outcome: "ok"},
		{Kind: "read", Outcome: "invalid"},
		{Kind: "write", Outcome: "cookie", Bytes: 2900, Cookies: 1},
		{Kind: "read", Outcome: "unknown_reason"},
	} {
		b.Run(e.Kind+"_"+e.Outcome, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				hook(e)
			}
		})
	}
}

// TestConcurrentEvents: one hook shared by concurrent requests (and by
// several Managers) loses no event; run it under -race.
func TestConcurrentEvents(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	hook, err := otelmetrics.New(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if err != nil {
		t.Fatal(err)
	}
	const workers, events = 8, 500
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range events {
				hook(cookiesession.Event{Kind: "read", Outcome: "ok"})
				hook(cookiesession.Event{Kind: "write", Outcome: "cookie", Bytes: 100, Cookies: 1})
			}
		}()
	}
	wg.Wait()
	got := collect(t, reader)
	want := map[string]map[string]int64{
		"cookiesession.session.reads":  {"ok": workers * events},
		"cookiesession.session.writes": {"cookie": workers * events},
	}
	if !reflect.DeepEqual(got.sums, want) {
		t.Errorf("got %v, want %v", got.sums, want)
	}
	if p := got.hists["cookiesession.session.write.size"]["cookie"]; p.Count != workers*events || p.Sum != 100*workers*events {
		t.Errorf("size: count %d sum %d", p.Count, p.Sum)
	}
}
