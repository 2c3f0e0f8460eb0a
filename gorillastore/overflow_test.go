package gorillastore

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/store"
)

// memOverflow is an Overflow kept in memory (the redisstore module runs
// the same rules on Redis).
type memOverflow struct {
	mu   sync.Mutex
	vals map[string][]byte
}

func (o *memOverflow) Put(_ context.Context, key string, v []byte, _ time.Time) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.vals[key] = append([]byte(nil), v...)
	return nil
}

func (o *memOverflow) Get(_ context.Context, key string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.vals[key]
	if !ok {
		return nil, store.ErrOverflowMissing
	}
	return v, nil
}

func (o *memOverflow) Delete(_ context.Context, key string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.vals, key)
	return nil
}

func (o *memOverflow) count() int { o.mu.Lock(); defer o.mu.Unlock(); return len(o.vals) }

// TestOverflow: a gorilla session larger than its cookies moves to the
// Overflow store behind a small reference, keeps working there, holds no
// plaintext in the store, and moves back (deleting the stored value) when
// it shrinks; a deletion deletes the stored value too.
func TestOverflow(t *testing.T) {
	ov := &memOverflow{vals: map[string][]byte{}}
	store := newStore(t, func(o *Options) { o.Overflow = ov })
	site := newSite(t)
	set := func(n int) func(w http.ResponseWriter, r *http.Request) {
		return func(w http.ResponseWriter, r *http.Request) {
			s, _ := store.Get(r, "cart")
			s.Values["blob"] = strings.Repeat("secret-line ", n/12+1)[:n]
			if err := s.Save(r, w); err != nil {
				fail(w, "save: %v", err)
			}
		}
	}
	read := func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "cart")
		if err != nil {
			fail(w, "get: %v", err)
			return
		}
		blob, _ := s.Values["blob"].(string)
		w.Write([]byte(blob))
	}
	site.do(set(20000))
	if got := len(site.do(read)); got != 20000 {
		t.Fatalf("overflowed session read back with %d bytes", got)
	}
	if n := ov.count(); n != 1 {
		t.Fatalf("%d stored values", n)
	}
	size := 0
	for name, v := range site.cookies() {
		size += len(name) + len(v)
	}
	if size >= 200 {
		t.Errorf("the cookies of an overflowed session take %d bytes", size)
	}
	for _, v := range ov.vals {
		if bytes.Contains(v, []byte("secret-line")) {
			t.Error("the store holds plaintext")
		}
	}
	site.do(set(30000))
	if n := ov.count(); n != 1 {
		t.Errorf("after a second overflowed save: %d stored values, want 1", n)
	}
	site.do(set(100))
	if n := ov.count(); n != 0 {
		t.Errorf("after shrinking: %d stored values", n)
	}
	if got := len(site.do(read)); got != 100 {
		t.Errorf("shrunk session read back with %d bytes", got)
	}
	site.do(set(20000))
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, _ := store.Get(r, "cart")
		s.Options.MaxAge = -1
		if err := s.Save(r, w); err != nil {
			fail(w, "delete: %v", err)
		}
	})
	if n := ov.count(); n != 0 {
		t.Errorf("after a deletion: %d stored values", n)
	}
}
