package cookiesession

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
)

type smokeData struct {
	N    int
	Blob string
}

func TestSmoke(t *testing.T) {
	m, err := New[smokeData](Options{Keys: [][]byte{GenerateKey()}, InsecureAllowHTTP: true, Limits: Limits{TotalSize: 20000}, OnError: func(r *http.Request, err error) { t.Logf("hook: %v", err) }})
	if err != nil {
		t.Fatal(err)
	}
	size := 0
	srv := httptest.NewServer(m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		if r.URL.Path == "/clear" {
			s.Data = nil
			return
		}
		s.Data.N++
		s.Data.Blob = strings.Repeat("x", size)
		fmt.Fprint(w, s.Data.N)
	})))
	defer srv.Close()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	for i, sz := range []int{10, 5000, 12000, 100, 0} {
		size = sz
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		u := resp.Request.URL
		var names []string
		for _, ck := range jar.Cookies(u) {
			names = append(names, fmt.Sprintf("%s(%d)", ck.Name, len(ck.Value)))
		}
		t.Logf("step %d size %d body %s cookies %v setcookies %d", i, sz, b, names, len(resp.Header["Set-Cookie"]))
		if string(b) != fmt.Sprint(i+1) {
			t.Fatalf("got %s", b)
		}
	}
	resp, _ := c.Get(srv.URL + "/clear")
	resp.Body.Close()
	srvURL, _ := http.NewRequest("GET", srv.URL, nil)
	if n := len(jar.Cookies(srvURL.URL)); n != 0 {
		t.Fatalf("%d cookies left", n)
	}
}
