// Package bench measures cookiesession's middleware beside
// gorilla/sessions' CookieStore, in the same run. It lives in the
// internal/e2e module, apart from the core's, so that gorilla/sessions never
// appears in the module graph of an application that imports the core.
//
//	go test -run '^$' -bench . -count 6 ./internal/e2e/bench > new.txt
//	benchstat -col /impl new.txt
package bench

import (
	"encoding/gob"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testpayload"
	"github.com/cookiesession/cookiesession/keyring"
)

// payload is a session fixture, decoded into the generic shape both
// libraries can store without a schema: for cookiesession-map a
// map[string]any as T (encoding/json), for gorilla/sessions the same map
// as one value of Session.Values (encoding/gob, its default). The
// cookiesession case uses the typed testpayload.Session instead.
type payload = map[string]any

func init() {
	gob.Register(map[string]any{})
	gob.Register([]any{})
}

func loadPayload(b *testing.B, name string) payload {
	var p payload
	if err := json.Unmarshal(testpayload.Read(b, name), &p); err != nil {
		b.Fatal(err)
	}
	return p
}

// roundTrip is a pair of handlers: one saves the payload, the next
// request's loads it.
type roundTrip struct {
	save, load http.Handler
	loaded     *int // fields of the payload the last load saw
}

// typed converts a fixture to the typed session, checking that nothing is
// lost on the way.
func typed(b *testing.B, p payload) testpayload.Session {
	raw, _ := json.Marshal(p)
	var s testpayload.Session
	if err := json.Unmarshal(raw, &s); err != nil {
		b.Fatal(err)
	}
	back, _ := json.Marshal(s)
	var q payload
	json.Unmarshal(back, &q)
	if !reflect.DeepEqual(p, q) {
		b.Fatalf("the typed session does not carry the fixture:\n%s\n%s", raw, back)
	}
	return s
}

func cookiesessionHandlers[T any](b *testing.B, v T, fields func(*T) int) roundTrip {
	m, err := cookiesession.New[T](cookiesession.Options{
		Keys:              [][]byte{keyring.Generate()},
		InsecureAllowHTTP: true,
		OnError:           func(_ *http.Request, err error) { b.Fatal(err) },
	})
	if err != nil {
		b.Fatal(err)
	}
	var loaded int
	return roundTrip{
		save: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			*m.Get(r).Data = v
		})),
		load: m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			loaded = fields(m.Get(r).Data)
		})),
		loaded: &loaded,
	}
}

func gorillaHandlers(b *testing.B, p payload) roundTrip {
	// Authenticated and encrypted, as cookiesession: HMAC-SHA256 and
	// AES-256 keys.
	store := sessions.NewCookieStore(keyring.Generate(), keyring.Generate())
	store.Options.HttpOnly = true
	var loaded int
	return roundTrip{
		save: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session")
			if err != nil {
				b.Fatal(err)
			}
			s.Values["data"] = p
			if err := s.Save(r, w); err != nil {
				b.Fatal(err)
			}
		}),
		load: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session")
			if err != nil {
				b.Fatal(err)
			}
			v, _ := s.Values["data"].(payload)
			loaded = len(v)
		}),
		loaded: &loaded,
	}
}

// BenchmarkRoundTrip saves a session in one request and loads it in the
// next, through httptest: the Set-Cookie lines of the first response
// become the Cookie header of the second.
func BenchmarkRoundTrip(b *testing.B) {
	for _, size := range []string{"100b", "1kb"} {
		p := loadPayload(b, size)
		ts := typed(b, p)
		for _, impl := range []struct {
			name string
			new  func() roundTrip
		}{
			// The typed session cookiesession is made for.
			{"cookiesession", func() roundTrip {
				return cookiesessionHandlers(b, ts, func(s *testpayload.Session) int {
					if s.CSRF != ts.CSRF {
						return 0
					}
					return len(p)
				})
			}},
			// The same untyped map gorilla/sessions stores.
			{"cookiesession-map", func() roundTrip {
				return cookiesessionHandlers(b, p, func(m *payload) int { return len(*m) })
			}},
			{"gorilla", func() roundTrip { return gorillaHandlers(b, p) }},
			// The harness alone (requests, recorders, the Cookie
			// header): what every case above pays besides sessions.
			{"none", func() roundTrip {
				var loaded int
				return roundTrip{
					save:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Add("Set-Cookie", "a=b") }),
					load:   http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { loaded = len(p) }),
					loaded: &loaded,
				}
			}},
		} {
			b.Run("payload="+size+"/impl="+impl.name, func(b *testing.B) {
				rt := impl.new()
				raw, _ := json.Marshal(p)
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				var cookieBytes int
				cpu := cpuTime()
				for b.Loop() {
					w := httptest.NewRecorder()
					rt.save.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
					r := httptest.NewRequest("GET", "/", nil)
					r.Header.Set("Cookie", cookieHeader(w.Header()))
					*rt.loaded = 0
					rt.load.ServeHTTP(httptest.NewRecorder(), r)
					if *rt.loaded != len(p) {
						b.Fatalf("loaded %d fields, want %d", *rt.loaded, len(p))
					}
					cookieBytes = len(r.Header.Get("Cookie"))
				}
				reportCPU(b, cpu)
				b.ReportMetric(float64(cookieBytes), "cookie-B")
			})
		}
	}
}

// cookieHeader turns Set-Cookie lines into a Cookie header, as a browser
// would send them back.
func cookieHeader(h http.Header) string {
	var parts []string
	for _, line := range h["Set-Cookie"] {
		nv, _, _ := strings.Cut(line, ";")
		parts = append(parts, nv)
	}
	return strings.Join(parts, "; ")
}

// nopWriter is a ResponseWriter that discards everything, so that the
// untouched benchmark measures the middleware, not a recorder.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w nopWriter) WriteHeader(int)             {}

// BenchmarkUntouched is a request whose handler never asks for its
// session, through the middleware and on the bare handler. The request
// carries a session cookie, which must not be opened.
func BenchmarkUntouched(b *testing.B) {
	m, err := cookiesession.New[payload](cookiesession.Options{Keys: [][]byte{keyring.Generate()}})
	if err != nil {
		b.Fatal(err)
	}
	hello := []byte("hello")
	bare := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(hello) })
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("Cookie", "session="+strings.Repeat("A", 3000))
	for _, impl := range []struct {
		name string
		h    http.Handler
	}{{"bare", bare}, {"cookiesession", m.Handler(bare)}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			w := nopWriter{h: http.Header{}}
			b.ReportAllocs()
			cpu := cpuTime()
			for b.Loop() {
				impl.h.ServeHTTP(w, r)
			}
			reportCPU(b, cpu)
			if len(w.h["Set-Cookie"]) != 0 {
				b.Fatal("an untouched session set a cookie")
			}
		})
	}
}
