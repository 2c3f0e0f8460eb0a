package main

import (
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
)

// The demo's handler refuses a form another site posts with the visitor's
// cookies (http.CrossOriginProtection), as README and the package doc tell
// applications to do, while its own pages' forms and cross-site links
// keep working.
func TestDemoCrossOriginProtection(t *testing.T) {
	b := newBrowser(t, newTestDemo(t, config{}).handler())
	p := b.do("POST", "/login", url.Values{"user": {"Ada"}})
	if p.field("user") != "Ada" {
		t.Fatalf("sign-in: user %q", p.field("user"))
	}
	post := func(headers map[string]string) int {
		t.Helper()
		req, err := http.NewRequest("POST", b.base+"/logout", nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := (&http.Client{
			Jar:           b.jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "http://evil.example"}, // a browser without Fetch metadata
	} {
		if code := post(h); code != http.StatusForbidden {
			t.Errorf("a cross-origin sign-out (%v): %d, want 403", h, code)
		}
	}
	if p := b.do("GET", "/", nil); p.field("user") != "Ada" {
		t.Fatal("a refused cross-origin request signed the user out")
	}
	// A cross-site link (a safe method) still opens the page.
	req, _ := http.NewRequest("GET", b.base+"/", nil)
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a cross-site GET: %d", resp.StatusCode)
	}
	// The demo's own form: same-origin.
	if code := post(map[string]string{"Sec-Fetch-Site": "same-origin"}); code != http.StatusSeeOther {
		t.Errorf("a same-origin sign-out: %d, want 303", code)
	}
	if p := b.do("GET", "/", nil); p.field("user") != "" {
		t.Fatal("the same-origin sign-out did not sign out")
	}
}

// The default build leaves the Redis client out; the redis tag builds it
// in, and the file it adds must keep compiling (and passing vet), which
// the default build of CI does not check.
func TestDemoRedisTag(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs go vet")
	}
	_, _, err := openRedis("127.0.0.1:1")
	if err == nil {
		t.Fatal("openRedis succeeded with nothing listening")
	}
	if !redisBuiltIn && !strings.Contains(err.Error(), "-tags redis") {
		t.Errorf("without the tag: %v, want a message naming -tags redis", err)
	}
	if out, err := exec.Command("go", "vet", "-tags", "redis", ".").CombinedOutput(); err != nil {
		t.Fatalf("go vet -tags redis: %v\n%s", err, out)
	}
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "rueidis") {
		t.Error("the default build of the demo compiles the Redis client")
	}
}
