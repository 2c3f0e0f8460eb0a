package cookiesession

import (
	"context"

	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/store"

	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// TestInspectReference: inspect of a session in the Overflow store opens
// the stored value, as Load does, instead of taking the reference (store
// key and data key) for the session; without Options.Overflow it says the
// cookie is a reference and returns no data.
func TestInspectReference(t *testing.T) {
	e := newOvEnv(t, func(o *Options) {
		rv := newMemRevoker()
		rv.RevokeAll(context.Background(), hT0) // generation 1, which the login seals
		o.Revoker = rv
	})
	c := e.client()
	e.get(c, "/login")
	e.get(c, "/inc")
	req, _ := http.NewRequest("GET", e.srv.URL, nil)
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	s, err := e.m.Load(req)
	if err != nil || s.IsNew() {
		t.Fatalf("Load: %v", err)
	}

	in, err := e.m.Inspect(req.Header, false)
	if err != nil {
		t.Fatal(err)
	}
	var got ovData
	if !in.Meta.Reference || json.Unmarshal(in.Data, &got) != nil || got.N != 1 || !strings.HasPrefix(got.Blob, "secret-cart-line") {
		t.Errorf("inspect with the store: Reference %v, data %.60q", in.Meta.Reference, in.Data)
	}
	if in.Generation != 1 || s.gen != 1 {
		t.Errorf("inspect reports generation %d, the session sealed %d; want 1", in.Generation, s.gen)
	}
	if in.ID != s.ID() || in.Subject != "alice" || !in.Created.Equal(s.created) || in.OverflowKey == "" || in.OverflowKey != s.overflowKey {
		t.Errorf("inspect with the store: ID %q subject %q created %v key %q; Load: %q %v %q", in.ID, in.Subject, in.Created, in.OverflowKey, s.ID(), s.created, s.overflowKey)
	}
	if len(in.Cookies) != 1 || in.Cookies[0].Name != e.m.Name() {
		t.Errorf("cookies %+v", in.Cookies)
	}

	bare, err := New[ovData](Options{Keys: [][]byte{testkit.Key(1)}, InsecureAllowHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	in, err = bare.Inspect(req.Header, false)
	if err != nil {
		t.Fatal(err)
	}
	if !in.Meta.Reference || in.Data != nil || in.ID != "" || in.OverflowKey != "" || len(in.Cookies) != 1 {
		t.Errorf("inspect without a store: %+v", in)
	}

	// The value gone from the store: the errors of Load.
	e.ov.mu.Lock()
	clear(e.ov.vals)
	e.ov.mu.Unlock()
	if _, err := e.m.Inspect(req.Header, false); !errors.Is(err, store.ErrOverflowMissing) {
		t.Errorf("inspect of a missing value: %v", err)
	}
}
