package cookiesession

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// The core's half of device binding (issue 23; the dbsc module is the
// other half): the binding is sealed in the envelope, and a bound session
// opens only on a request Options.Binding accepts, in the one open path.

var errNoProof = errors.New("no proof")

// bindServer serves /bind (binds the session to "device-1"), /regenerate,
// /unbind and / (prints the binding), with a Binding that accepts a
// request carrying the header Proof equal to the binding.
func bindServer(t *testing.T, check bool) (*http.Client, func(path string, proof string) string, func() []error) {
	t.Helper()
	var mu sync.Mutex
	var errs []error
	o := Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true, OnError: func(_ *http.Request, err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
	}}
	if check {
		o.Binding = testkit.CheckBinding(func(r *http.Request, id string, binding []byte) error {
			if id == "" || r.Header.Get("Proof") != string(binding) {
				return errNoProof
			}
			return nil
		})
	}
	m, err := New[revUser](o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		switch r.URL.Path {
		case "/bind":
			s.Data.N = 1
			s.Bind([]byte("device-1"))
		case "/unbind":
			s.Bind(nil)
		case "/regenerate":
			s.Regenerate()
			s.Data.N = 2
		case "/subject":
			s.SetSubject("alice")
		}
		w.Write(s.Binding())
	})))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(path, proof string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if proof != "" {
			req.Header.Set("Proof", proof)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var b bytes.Buffer
		b.ReadFrom(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s: status %d", path, res.StatusCode)
		}
		return b.String()
	}
	take := func() []error {
		mu.Lock()
		defer mu.Unlock()
		e := errs
		errs = nil
		return e
	}
	return c, get, take
}

// TestBindingSealedAndChecked: a bound session opens only with the proof
// Binding asks for; without it the request gets a new session, the error
// matches ErrInvalid and names "unbound", and the cookies stay, so the
// next request with the proof opens the session again. Regenerate and
// Bind(nil) unbind.
func TestBindingSealedAndChecked(t *testing.T) {
	_, get, take := bindServer(t, true)
	if got := get("/bind", ""); got != "device-1" {
		t.Fatalf("after Bind: %q", got)
	}
	if got := get("/", "device-1"); got != "device-1" {
		t.Fatalf("with the proof: binding %q, want device-1", got)
	}
	if errs := take(); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if got := get("/", ""); got != "" {
		t.Fatalf("without the proof the session opened, bound to %q", got)
	}
	errs := take()
	if len(errs) != 1 || !errors.Is(errs[0], ErrInvalid) || !errors.Is(errs[0], errNoProof) || Reason(errs[0]) != "unbound" {
		t.Fatalf("without the proof: %v, want one error matching ErrInvalid and the check's, reason unbound", errs)
	}
	if got := get("/", "device-1"); got != "device-1" {
		t.Fatalf("the refusal expired the device's cookies: %q", got)
	}
	if got := get("/subject", "device-1"); got != "" {
		t.Fatalf("SetSubject's new identity kept the binding %q (the device's credential names the old ID)", got)
	}
	if got := get("/", ""); got != "" {
		t.Fatalf("a session with a new subject is bound: %q", got)
	}
	if errs := take(); len(errs) != 0 {
		t.Fatalf("after SetSubject on a bound session: %v, want the session open and unbound", errs)
	}
	get("/bind", "")
	if got := get("/regenerate", "device-1"); got != "" {
		t.Fatalf("Regenerate kept the binding %q", got)
	}
	if got := get("/", ""); got != "" {
		t.Fatalf("a regenerated session is bound: %q", got)
	}
	get("/bind", "")
	if got := get("/unbind", "device-1"); got != "" {
		t.Fatalf("Bind(nil) kept %q", got)
	}
	if errs := take(); len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
}

// TestBindingFailsClosed: a Manager without Options.Binding refuses a
// bound session (it cannot check it).
func TestBindingFailsClosed(t *testing.T) {
	_, get, take := bindServer(t, false)
	get("/bind", "")
	if got := get("/", "device-1"); got != "" {
		t.Fatalf("opened without a Binding: %q", got)
	}
	if errs := take(); len(errs) != 1 || !errors.Is(errs[0], errNoBindingCheck) || !errors.Is(errs[0], ErrInvalid) {
		t.Fatalf("errors %v, want one for the missing Binding", errs)
	}
}

// TestBindingEnvelope: the binding's round trip through the envelope at
// its limits, and the refusal of a frame that lies about its length.
func TestBindingEnvelope(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 34, maxBindingLen} {
		for _, subject := range []string{"", "alice"} {
			s := &Session[revUser]{m: m, id: newID(), subject: subject, binding: bytes.Repeat([]byte{7}, n), lifetime: 5 * time.Millisecond}
			var got Session[revUser]
			data, ok := got.unframe(s.frame([]byte("{}")))
			if !ok || string(data) != "{}" || !bytes.Equal(got.binding, s.binding) || got.subject != subject || got.lifetime != 5*time.Millisecond {
				t.Errorf("n=%d subject=%q: %v %q %d %q %v", n, subject, ok, data, len(got.binding), got.subject, got.lifetime)
			}
		}
	}
	s := &Session[revUser]{m: m, id: newID(), binding: []byte("k")}
	frame := s.frame(nil)
	for name, f := range map[string][]byte{
		"truncated length": frame[:envelopeSize+1],
		"length past end":  append(append([]byte{}, frame[:envelopeSize]...), 0, 9, 'k'),
		"zero length":      append(append([]byte{}, frame[:envelopeSize]...), 0, 0),
		"over the limit":   append(append(append([]byte{}, frame[:envelopeSize]...), 0x04, 0x01), make([]byte, maxBindingLen+1)...),
	} {
		var got Session[revUser]
		if _, ok := got.unframe(f); ok {
			t.Errorf("%s: unframed", name)
		}
	}
	s.binding = make([]byte, maxBindingLen+1)
	var se *SizeError
	if err := s.checkSubject(); !errors.As(err, &se) || se.Limit != maxBindingLen {
		t.Errorf("a %d-byte binding: %v", maxBindingLen+1, err)
	}
}

// TestInspectShowsBinding: inspection opens a bound session without a
// request to check (as it skips revocation) and reports its binding, on a
// Manager without Options.Binding too.
func TestInspectShowsBinding(t *testing.T) {
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	s.Bind([]byte("device-1"))
	rec := httptest.NewRecorder()
	if err := m.Save(rec, r, s); err != nil {
		t.Fatal(err)
	}
	c := rec.Result().Cookies()[0]
	in, err := m.Inspect(http.Header{"Cookie": {c.Name + "=" + c.Value}}, false)
	if err != nil || string(in.Binding) != "device-1" || in.ID != s.ID() {
		t.Fatalf("inspection: %v, binding %q", err, in.Binding)
	}
}

// servingBinding is a Binding with endpoints under /app: Serve writes
// what the Manager passed it and, on ?bind=x, binds the session to x.
type servingBinding struct {
	path      string
	endpoints []string
}

func (b servingBinding) Check(r *http.Request, id string, binding []byte) error {
	if r.Header.Get("Proof") != string(binding) {
		return errNoProof
	}
	return nil
}

func (b servingBinding) Endpoints() (string, []string) { return b.path, b.endpoints }

func (b servingBinding) Serve(w http.ResponseWriter, r *http.Request, id string, binding []byte, err error, bind func([]byte) error) {
	if x := r.URL.Query().Get("bind"); x != "" {
		if berr := bind([]byte(x)); berr != nil {
			http.Error(w, berr.Error(), http.StatusConflict)
			return
		}
	}
	switch {
	case errors.Is(err, ErrNoCookie):
		fmt.Fprint(w, "err=none")
		return
	case err != nil:
		fmt.Fprintf(w, "err=%s", Reason(err))
		return
	}
	fmt.Fprintf(w, "id=%s binding=%s", id, binding)
}

// TestBindingEndpointsServed: the middleware answers the binding's
// endpoints with Binding.Serve, never the wrapped handler, after opening
// the session through the one path (Check runs there too); bind binds and
// saves the session; every other path goes to the handler.
func TestBindingEndpointsServed(t *testing.T) {
	b := servingBinding{"/app", []string{"/app/dbsc/register", "/app/dbsc/refresh"}}
	m, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}, Path: "/app", InsecureAllowHTTP: true, Binding: b})
	if err != nil {
		t.Fatal(err)
	}
	var id string
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Data.N++
		id = s.ID()
		fmt.Fprintf(w, "app %d", s.Data.N)
	})))
	defer srv.Close()
	c := testkit.NewClient(t, srv.URL)
	do := func(path, proof string) string {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, nil)
		req.Header.Set("Proof", proof)
		res, err := c.HTTP.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var body bytes.Buffer
		body.ReadFrom(res.Body)
		return body.String()
	}
	if got := do("/app/dbsc/register", ""); got != "err=none" {
		t.Fatalf("no cookie: %q", got)
	}
	if got := do("/app/x", ""); got != "app 1" {
		t.Fatalf("the handler: %q", got)
	}
	if got := do("/app/dbsc/register?bind=dev1", ""); got != "id="+id+" binding=" {
		t.Fatalf("bind: %q", got)
	}
	if got := do("/app/dbsc/refresh", "dev1"); got != "id="+id+" binding=dev1" {
		t.Fatalf("bound, with the proof: %q", got)
	}
	if got := do("/app/dbsc/refresh", "other"); got != "err=unbound" {
		t.Fatalf("bound, another proof: %q", got)
	}
	if got := do("/app/x", "dev1"); got != "app 2" {
		t.Fatalf("the handler, bound: %q", got)
	}
	if got := do("/app/dbsc/refresh/more", "dev1"); got != "app 3" {
		t.Fatalf("a path below an endpoint went to %q", got)
	}
}

// TestBindingEndpointsChecked: New refuses a Binding whose Path is not
// the session cookie's, or with an endpoint the browser would send the
// session's cookies to no request of (outside the Path), or none.
func TestBindingEndpointsChecked(t *testing.T) {
	for name, b := range map[string]servingBinding{
		"another Path":          {"/", []string{"/app/r"}},
		"endpoint outside Path": {"/app", []string{"/application/r"}},
		"endpoint above Path":   {"/app", []string{"/r"}},
		"no endpoints":          {"/app", nil},
	} {
		if _, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}, Path: "/app", Binding: b}); err == nil {
			t.Errorf("%s: New accepted %+v", name, b)
		}
	}
	if _, err := New[revUser](Options{Keys: [][]byte{testkit.Key(1)}, Path: "/app", Binding: servingBinding{"/app", []string{"/app", "/app/r"}}}); err != nil {
		t.Errorf("endpoints within Path: %v", err)
	}
}
