package e2e_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/internal/redistest"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/redisstore"
)

// TestDBSCChallengeSingleUseOnRedis: with a real Revoker (redisstore on a
// real redis-server) as dbsc.Options.Revoker, which can Claim, a refresh
// proof is accepted once across the servers sharing the Redis: answered
// again on either server it gets 403 and a fresh challenge at once, and of
// the same proof sent to both servers at the same moment exactly one
// answer passes.
func TestDBSCChallengeSingleUseOnRedis(t *testing.T) {
	rs := redistest.Start(t)
	keys := [][]byte{testkit.Key(0)}
	var srvs []*httptest.Server
	for range 2 {
		store, err := redisstore.New(redisstore.Options{Addr: rs.Addr()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { store.Close() })
		b, err := dbsc.New(dbsc.Options{Keys: keys, Revoker: store, OnError: func(*http.Request, error) {}})
		if err != nil {
			t.Fatal(err)
		}
		m, err := cookiesession.New[dbscUser](cookiesession.Options{Keys: keys, Binding: b, Revoker: store})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
			s := m.Get(r)
			s.Regenerate()
			s.Data.Name = "alice"
			b.Bind(w, s.ID())
		})
		srv := httptest.NewTLSServer(m.Handler(mux))
		t.Cleanup(srv.Close)
		srvs = append(srvs, srv)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jar, _ := cookiejar.New(nil) // cookies are per host, not per port: both servers get them
	client := *srvs[0].Client()
	client.Jar = jar
	post := func(srv *httptest.Server, path string, h http.Header) (*http.Response, string) {
		req, _ := http.NewRequest("POST", srv.URL+path, nil)
		req.Header = h
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	sign := func(jti string, jwk bool) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{EmbedJWK: jwk}).WithType("dbsc+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		p, _ := json.Marshal(map[string]string{"jti": jti})
		jws, _ := s.Sign(p)
		out, _ := jws.CompactSerialize()
		return out
	}
	res, err := client.Get(srvs[0].URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	reg := regexp.MustCompile(`path="([^"]+)";challenge="([^"]+)"`).FindStringSubmatch(res.Header.Get("Secure-Session-Registration"))
	if reg == nil {
		t.Fatalf("registration header %q", res.Header.Get("Secure-Session-Registration"))
	}
	res, body := post(srvs[0], reg[1], http.Header{"Secure-Session-Response": {sign(reg[2], true)}})
	var in struct {
		ID  string `json:"session_identifier"`
		URL string `json:"refresh_url"`
	}
	if res.StatusCode != 200 || json.Unmarshal([]byte(body), &in) != nil {
		t.Fatalf("registration: %d %s", res.StatusCode, body)
	}
	res, _ = post(srvs[0], in.URL, http.Header{"Sec-Secure-Session-Id": {in.ID}})
	c := regexp.MustCompile(`^"([^"]+)"`).FindStringSubmatch(res.Header.Get("Secure-Session-Challenge"))
	if res.StatusCode != 403 || c == nil {
		t.Fatalf("refresh without a proof: %d %q", res.StatusCode, res.Header.Get("Secure-Session-Challenge"))
	}
	proof := http.Header{"Sec-Secure-Session-Id": {in.ID}, "Secure-Session-Response": {sign(c[1], false)}}
	if res, body := post(srvs[0], in.URL, proof); res.StatusCode != 200 {
		t.Fatalf("first answer: %d %s", res.StatusCode, body)
	}
	if res, _ := post(srvs[0], in.URL, proof); res.StatusCode != 403 || res.Header.Get("Secure-Session-Challenge") == "" {
		t.Fatalf("the same proof again on the same server: %d, want 403 with a challenge", res.StatusCode)
	}
	if res, _ := post(srvs[1], in.URL, proof); res.StatusCode != 403 || res.Header.Get("Secure-Session-Challenge") == "" {
		t.Fatalf("the same proof on the other server, at once: %d, want 403 with a challenge", res.StatusCode)
	}

	// One fresh proof sent 16 times at once, to both servers: the claim
	// (SET NX) lets exactly one through.
	res, _ = post(srvs[1], in.URL, http.Header{"Sec-Secure-Session-Id": {in.ID}})
	c = regexp.MustCompile(`^"([^"]+)"`).FindStringSubmatch(res.Header.Get("Secure-Session-Challenge"))
	if res.StatusCode != 403 || c == nil {
		t.Fatalf("refresh without a proof: %d", res.StatusCode)
	}
	proof = http.Header{"Sec-Secure-Session-Id": {in.ID}, "Secure-Session-Response": {sign(c[1], false)}}
	var wg sync.WaitGroup
	codes := make([]int, 16)
	for i := range codes {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", srvs[i%2].URL+in.URL, nil)
			req.Header = proof.Clone()
			res, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	if n := slices.Index(codes, 200); n < 0 || slices.Index(codes[n+1:], 200) >= 0 || slices.ContainsFunc(codes, func(c int) bool { return c != 200 && c != 403 }) {
		t.Fatalf("one proof sent 16 times at once to two servers: %v, want one 200 and 403s", codes)
	}
}
