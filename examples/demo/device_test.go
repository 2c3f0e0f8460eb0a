package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession/internal/browsertest"
	"github.com/cookiesession/cookiesession/keyring"
)

// TestDeviceBindingDemo walks the /device page as its instructions say,
// with a DBSC client written from the specification in place of
// Chromium (internal/e2e runs the protocol in Chromium itself): sign in
// and register; copy the cookies the page shows into a second client and
// plant them there; the copy reads the session until the bound lifetime
// passes, then is refused ("unbound"), while the first client refreshes
// and keeps its session.
func TestDeviceBindingDemo(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	d, err := newDemo([][]byte{keyring.Generate()}, config{Overflow: true, BoundLifetime: time.Minute, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(d.handler())
	defer srv.Close()
	client := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		c := *srv.Client()
		c.Jar = jar
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &c
	}
	do := func(c *http.Client, method, path string, h http.Header, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
		for k, v := range h {
			req.Header[k] = v
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode >= 500 {
			t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
		return res, string(b)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(jti string, jwk bool) string {
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{EmbedJWK: jwk}).WithType("dbsc+jwt"))
		p, _ := json.Marshal(map[string]string{"jti": jti})
		jws, _ := s.Sign(p)
		out, _ := jws.CompactSerialize()
		return out
	}

	device := client()
	res, _ := do(device, "POST", "/device/login", nil, url.Values{"user": {"alice"}})
	reg := regexp.MustCompile(`path="([^"]+)";challenge="([^"]+)"`).FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
	if reg == nil {
		t.Fatalf("sign-in answered %d without a registration header", res.StatusCode)
	}
	res, body := do(device, "POST", reg[1], http.Header{"Secure-Session-Response": {sign(reg[2], true)}}, nil)
	var in struct {
		ID  string `json:"session_identifier"`
		URL string `json:"refresh_url"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &in) != nil {
		t.Fatalf("registration: %d %s", res.StatusCode, body)
	}
	_, page := do(device, "GET", devicePage, nil, nil)
	if !strings.Contains(page, "Signed in as <b>alice</b>") || !strings.Contains(page, "<b>bound to a device</b>") {
		t.Fatalf("the device's page: %s", page)
	}
	copied := html.UnescapeString(regexp.MustCompile(`(?s)readonly>(.*?)</textarea>`).FindStringSubmatch(page)[1])

	thief := client()
	do(thief, "POST", devicePage+"/plant", nil, url.Values{"cookies": {copied}})
	if _, page := do(thief, "GET", devicePage, nil, nil); !strings.Contains(page, "Signed in as <b>alice</b>") {
		t.Fatalf("the planted copy within the bound lifetime: %s", page)
	}
	mu.Lock()
	now = now.Add(time.Minute + time.Second)
	mu.Unlock()
	if _, page := do(thief, "GET", devicePage, nil, nil); !strings.Contains(page, "Not signed in") || !strings.Contains(page, "unbound") {
		t.Fatalf("the planted copy past the bound lifetime: %s", page)
	}
	// A browser that says it skipped the refresh is refused the same
	// way, and the page says so.
	skipped := http.Header{"Secure-Session-Skipped": {`unreachable;session_identifier="` + in.ID + `"`}}
	if _, page := do(thief, "GET", devicePage, skipped, nil); !strings.Contains(page, "Not signed in") || !strings.Contains(page, "skipped renewing") {
		t.Fatalf("the planted copy with Secure-Session-Skipped: %s", page)
	}

	// The device's browser renews its bound cookie (spec, "Send
	// request"): a 403 with a challenge, then the signed proof.
	res, _ = do(device, "POST", in.URL, http.Header{"Sec-Secure-Session-Id": {in.ID}}, nil)
	c := regexp.MustCompile(`^"([^"]+)"`).FindStringSubmatch(res.Header.Get("Secure-Session-Challenge"))
	if res.StatusCode != 403 || c == nil {
		t.Fatalf("refresh without a proof: %d", res.StatusCode)
	}
	if res, body := do(device, "POST", in.URL, http.Header{"Sec-Secure-Session-Id": {in.ID}, "Secure-Session-Response": {sign(c[1], false)}}, nil); res.StatusCode != 200 {
		t.Fatalf("refresh: %d %s", res.StatusCode, body)
	}
	if _, page := do(device, "GET", devicePage, nil, nil); !strings.Contains(page, "Signed in as <b>alice</b>") {
		t.Fatalf("the device after its refresh: %s", page)
	}
}

// TestDeviceBindingDemoInChromium signs in on /device in headless
// Chromium with the switches the demo prints (its certificate accepted by
// its key), and waits for the page to say the session is bound: the
// registration header on the sign-in's redirect is honoured.
func TestDeviceBindingDemoInChromium(t *testing.T) {
	d, err := newDemo([][]byte{keyring.Generate()}, config{Overflow: true, BoundLifetime: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(d.handler())
	defer srv.Close()
	spki := sha256.Sum256(srv.Certificate().RawSubjectPublicKeyInfo)
	ctx := browsertest.New(t,
		chromedp.Flag("enable-features", "DeviceBoundSessions,EnableBoundSessionCredentialsSoftwareKeysForManualTesting"),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])))
	if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+devicePage)); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.SendKeys(`input[name=user]`, "alice")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Submit(`input[name=user]`)); err != nil {
		t.Fatal(err)
	}
	// Signed in: the page after the redirect has the sign-out form.
	if _, err := chromedp.Run(ctx, chromedp.WaitVisible(`form[action="/logout"]`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		if _, err := chromedp.Run(ctx, chromedp.Navigate(srv.URL+devicePage)); err != nil {
			t.Fatal(err)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, "bound to a device") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the page says: %s", text)
		}
	}
}

// TestDeviceBindingDemoTwoProfiles is the demo as a person plays it, in
// two headless Chromium profiles and in real time, with a bound lifetime
// of 3 seconds: profile one signs in and is bound; profile two plants the
// cookies profile one's page shows and reads the session; once the bound
// lifetime has passed, profile two's page says its cookies were refused
// ("unbound") while profile one, whose browser renews its bound cookie by
// itself, is still signed in, and again after a second lifetime.
func TestDeviceBindingDemoTwoProfiles(t *testing.T) {
	const life = 3 * time.Second
	d, err := newDemo([][]byte{keyring.Generate()}, config{Overflow: true, BoundLifetime: life})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(d.handler())
	defer srv.Close()
	spki := sha256.Sum256(srv.Certificate().RawSubjectPublicKeyInfo)
	flags := []chromedp.ExecAllocatorOption{
		chromedp.Flag("enable-features", "DeviceBoundSessions,EnableBoundSessionCredentialsSoftwareKeysForManualTesting"),
		chromedp.Flag("ignore-certificate-errors-spki-list", base64.StdEncoding.EncodeToString(spki[:])),
	}
	one, two := browsertest.New(t, flags...), browsertest.New(t, flags...)
	run := func(ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for _, a := range actions {
			if _, err := chromedp.Run(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
	}
	page := func(ctx context.Context) string {
		t.Helper()
		run(ctx, chromedp.Navigate(srv.URL+devicePage))
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	page(one)
	run(one, chromedp.SendKeys(`input[name=user]`, "alice"), chromedp.Submit(`input[name=user]`), chromedp.WaitVisible(`form[action="/logout"]`))
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(page(one), "bound to a device"); time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("profile one's session is not bound after 10 s")
		}
	}
	cookies, err := chromedp.Run(one, chromedp.Evaluate[string](`document.querySelector("textarea[readonly]").value`))
	if err != nil || !strings.Contains(cookies, "bound=") {
		t.Fatalf("the cookies profile one's page shows: %q (%v)", cookies, err)
	}
	page(two)
	run(two, chromedp.SetValue(`textarea[name=cookies]`, cookies), chromedp.Submit(`textarea[name=cookies]`), chromedp.WaitVisible(`form[action="/logout"]`))
	if p := page(two); !strings.Contains(p, "Signed in as alice") {
		t.Fatalf("profile two with the planted cookies: %s", p)
	}
	time.Sleep(life + time.Second)
	if p := page(two); !strings.Contains(p, "Not signed in") || !strings.Contains(p, "unbound") {
		t.Fatalf("profile two past the bound lifetime: %s", p)
	}
	for i := 1; i <= 2; i++ {
		if i > 1 {
			time.Sleep(life + time.Second)
		}
		if p := page(one); !strings.Contains(p, "Signed in as alice") || !strings.Contains(p, "bound to a device") {
			t.Fatalf("profile one after %d bound lifetimes: %s", i, p)
		}
	}
}
