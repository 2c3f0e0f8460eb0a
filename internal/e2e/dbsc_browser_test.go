package e2e_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/internal/browsertest"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// dbscFeatures are the Chromium 156 switches under which it registers and
// refreshes Device Bound Session Credentials on Linux: the feature, the
// software key provider (Linux has no TPM provider), and no signing quota
// (forced refreshes would exhaust it). The test server's certificate is
// accepted by its key (ignore-certificate-errors-spki-list), which makes
// it valid: Chromium drops Secure-Session-Registration on a response whose
// certificate has errors, so --ignore-certificate-errors would silently
// turn DBSC off.
func dbscFeatures(srv *httptest.Server) []chromedp.ExecAllocatorOption {
	spki := sha256.Sum256(srv.Certificate().RawSubjectPublicKeyInfo)
	return []chromedp.ExecAllocatorOption{
		chromedp.Flag("enable-features", "DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting"),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	}
}

type dbscUser struct{ Name string }

// dbscServer is an application with device binding: a login that binds,
// a page that shows the user, the Binder's endpoints, and a count of
// what the endpoints answered.
type dbscServer struct {
	srv   *httptest.Server
	base  string // the session cookie's Path without its last "/": the pages are under it
	clock *testkit.Clock
	b     *dbsc.Binder

	mu       sync.Mutex
	answers  []string // "register 200", "refresh 403", …
	skipped  []string // the Secure-Session-Skipped headers of other requests
	reported []error

	refreshDown atomic.Bool // the refresh endpoint answers 500
}

func newDBSCServer(t *testing.T, path string) *dbscServer {
	d := &dbscServer{clock: testkit.NewClock(time.Now()), base: strings.TrimSuffix(path, "/")}
	keys := [][]byte{testkit.Key(0)}
	b, err := dbsc.New(dbsc.Options{Keys: keys, Path: path, Now: d.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	m, err := cookiesession.New[dbscUser](cookiesession.Options{
		Keys: keys, Binding: b, Path: path,
		SealOptions: cookiesession.SealOptions{Now: d.clock.Now},
		OnError: func(_ *http.Request, err error) {
			d.mu.Lock()
			d.reported = append(d.reported, err)
			d.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.b = b
	mux := http.NewServeMux()
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		s.Regenerate()
		s.Data.Name = "alice"
		b.Bind(w, s.ID())
		io.WriteString(w, "<p>welcome</p>")
	})
	mux.HandleFunc("/me", func(w http.ResponseWriter, r *http.Request) {
		name := m.View(r).Name
		if name == "" {
			name = "anonymous"
		}
		io.WriteString(w, name)
	})
	// The Manager answers /dbsc/register and /dbsc/refresh itself; this
	// records what it answered, around it.
	app := m.Handler(http.StripPrefix(d.base, mux))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, d.base+"/dbsc/") {
			if v := r.Header.Values("Secure-Session-Skipped"); len(v) > 0 {
				d.mu.Lock()
				d.skipped = append(d.skipped, v...)
				d.mu.Unlock()
			}
			app.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		if d.refreshDown.Load() && strings.HasSuffix(r.URL.Path, "/refresh") {
			http.Error(rec, "down", http.StatusInternalServerError) // an outage in front of the endpoint
		} else {
			app.ServeHTTP(rec, r)
		}
		what := strings.TrimPrefix(r.URL.Path, d.base+"/dbsc/")
		if r.Header.Get("Secure-Session-Response") != "" {
			what += " proof"
		}
		d.mu.Lock()
		d.answers = append(d.answers, what+" "+http.StatusText(rec.status))
		d.mu.Unlock()
	})
	d.srv = httptest.NewTLSServer(h)
	t.Cleanup(d.srv.Close)
	return d
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (d *dbscServer) count(prefix string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, a := range d.answers {
		if strings.HasPrefix(a, prefix) {
			n++
		}
	}
	return n
}

// answered returns what the endpoints answered so far.
func (d *dbscServer) answered() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.answers...)
}

// seenSkipped returns the Secure-Session-Skipped headers seen so far.
func (d *dbscServer) seenSkipped() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.skipped...)
}

func (d *dbscServer) takeReported() []error {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.reported
	d.reported = nil
	return e
}

// pageText navigates to u and returns the page's text.
func pageText(t *testing.T, ctx context.Context, u string) string {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Navigate(u)); err != nil {
		t.Fatalf("navigating to %s: %v", u, err)
	}
	body, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(body)
}

// TestBrowserDBSC is issue 23's proof in a real browser: headless
// Chromium 156 logs in, registers the session with a key of its own
// (spec, "Create session"), and keeps it through three refreshes (spec,
// "Send request": a request deferred while the bound cookie is missing, a
// POST without a proof, 403 with a challenge, the signed proof, a new
// bound cookie) without a visible interruption. A thief holding a copy of
// every cookie the browser has (read through DevTools, HttpOnly ones
// included) in a plain cookie jar reads the session until the bound
// cookie's lifetime ends on the server's clock, then gets a fresh session.
//
// The server's clock is fake and moves past the bound lifetime; the
// browser's cannot be moved, so the end of its copy of the bound cookie is
// played by deleting it (as Chromium's own browser tests force a refresh).
func TestBrowserDBSC(t *testing.T) {
	t.Run("Path /", func(t *testing.T) { browserDBSC(t, "/", "__Host-bound") })
	// A session cookie with Path /app: the endpoints, the refresh URL,
	// the bound cookie and the scope follow it, and a page outside it
	// never waits for a refresh.
	t.Run("Path /app", func(t *testing.T) { browserDBSC(t, "/app", "__Secure-bound") })
}

func browserDBSC(t *testing.T, path, bound string) {
	d := newDBSCServer(t, path)
	ctx := browsertest.New(t, dbscFeatures(d.srv)...)
	app := d.srv.URL + d.base

	if got := pageText(t, ctx, app+"/login"); got != "welcome" {
		t.Fatalf("login page: %q", got)
	}
	// Registration runs in the background after the login response.
	for deadline := time.Now().Add(10 * time.Second); d.count("register proof OK") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Chromium did not register within 10s; the endpoints answered %v", d.answered())
		}
	}
	if got := pageText(t, ctx, app+"/me"); got != "alice" {
		t.Fatalf("after registration the page shows %q", got)
	}

	u, _ := url.Parse(d.srv.URL)
	jar, _ := cookiejar.New(nil)
	var copied []*http.Cookie
	for _, c := range browsertest.Cookies(t, ctx, app+"/") {
		copied = append(copied, &http.Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Secure: c.Secure, HttpOnly: c.HTTPOnly})
	}
	if len(copied) < 2 {
		t.Fatalf("the browser holds %d cookies, want the session's and the bound one", len(copied))
	}
	jar.SetCookies(u, copied)
	thief := *d.srv.Client()
	thief.Jar = jar
	thiefReads := func() string {
		res, err := thief.Get(app + "/me")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}
	if got := thiefReads(); got != "alice" {
		t.Fatalf("within the bound lifetime the thief's copy reads %q", got)
	}
	d.takeReported()

	for i := 1; i <= 3; i++ {
		d.clock.Add(dbsc.DefaultLifetime + time.Second)
		if got := thiefReads(); got != "anonymous" {
			t.Fatalf("round %d: the thief's copy reads %q past the bound lifetime", i, got)
		}
		if errs := d.takeReported(); len(errs) != 1 || !errors.Is(errs[0], dbsc.ErrUnbound) || !errors.Is(errs[0], cookiesession.ErrInvalid) {
			t.Fatalf("round %d: the thief's request reported %v", i, errs)
		}
		deleteCookie(t, ctx, bound, app+"/")
		if path != "/" {
			pageText(t, ctx, d.srv.URL+"/outside") // out of scope: no refresh
			if n := d.count("refresh proof OK"); n != i-1 {
				t.Fatalf("round %d: a page outside %s waited for a refresh (%v)", i, path, d.answered())
			}
		}
		if got := pageText(t, ctx, app+"/me"); got != "alice" {
			t.Fatalf("round %d: the browser's page shows %q; endpoints answered %v", i, got, d.answered())
		}
		if n := d.count("refresh proof OK"); n != i {
			t.Fatalf("round %d: %d refreshes with a proof; endpoints answered %v", i, n, d.answered())
		}
		if errs := d.takeReported(); len(errs) != 0 {
			t.Fatalf("round %d: the browser's requests reported %v", i, errs)
		}
	}
	t.Logf("endpoints answered: %v", d.answered())
}

// deleteCookie deletes the browser's cookie name for u, as the end of
// its lifetime does (the browser's clock cannot be moved).
func deleteCookie(t *testing.T, ctx context.Context, name, u string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, func(ctx context.Context, tgt *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tgt, network.DeleteCookies, network.DeleteCookiesParams{Name: name, URL: u})
		return chromedp.Void{}, err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserDBSCSkipped: when the refresh endpoint fails (500 from
// something in front of it), Chromium 156 sends the deferred request
// without the bound cookie and with Secure-Session-Skipped:
// server_error;session_identifier="…" (spec, "Send request" and "Add debug
// header"). The session is refused, as any request without its bound
// cookie, with dbsc.ErrSkipped naming the reason; the cookies stay, and
// once the endpoint answers again the browser refreshes and the session
// opens.
func TestBrowserDBSCSkipped(t *testing.T) {
	d := newDBSCServer(t, "/")
	ctx := browsertest.New(t, dbscFeatures(d.srv)...)
	pageText(t, ctx, d.srv.URL+"/login")
	for deadline := time.Now().Add(10 * time.Second); d.count("register proof OK") == 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("Chromium did not register within 10s; the endpoints answered %v", d.answered())
		}
	}
	d.takeReported()
	d.refreshDown.Store(true)
	deleteCookie(t, ctx, "__Host-bound", d.srv.URL+"/")
	if got := pageText(t, ctx, d.srv.URL+"/me"); got != "anonymous" {
		t.Fatalf("with the refresh endpoint down the page shows %q", got)
	}
	errs := d.takeReported()
	if len(errs) == 0 {
		t.Fatalf("nothing reported; endpoints answered %v, Secure-Session-Skipped seen: %v", d.answered(), d.seenSkipped())
	}
	for _, err := range errs {
		if !errors.Is(err, dbsc.ErrSkipped) || !errors.Is(err, cookiesession.ErrInvalid) || !strings.Contains(err.Error(), "(server_error)") {
			t.Fatalf("reported %v; Secure-Session-Skipped seen: %v", err, d.seenSkipped())
		}
	}
	if n := len(browsertest.Cookies(t, ctx, d.srv.URL+"/")); n != 1 {
		t.Fatalf("the browser holds %d cookies, want the session's, kept", n)
	}
	d.refreshDown.Store(false)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		deleteCookie(t, ctx, "__Host-bound", d.srv.URL+"/")
		if got := pageText(t, ctx, d.srv.URL+"/me"); got == "alice" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the endpoint is back, and after 10s the page still shows anonymous; endpoints answered %v", d.answered())
		}
	}
	t.Logf("endpoints answered %v; Secure-Session-Skipped seen: %v", d.answered(), d.seenSkipped())
}
