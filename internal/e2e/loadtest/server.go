package main

import (
	"bufio"
	"encoding/base64"
	"encoding/gob"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strconv"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/gorilla/sessions"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/gorillastore"
	"github.com/cookiesession/cookiesession/internal/defaults"
	"github.com/cookiesession/cookiesession/internal/testpayload"
	"github.com/cookiesession/cookiesession/keyring"
)

// The one route: GET / reads the session and answers "<csrf> <cart_count>".
// With ?init=1 it first stores the whole payload (each client's first
// request); with ?n=N it sets cart_count to N and the session is written
// back (one request in ten). Every other request only reads.

// session is what a request's handler sees and may change.
type session = testpayload.Session

// answer writes the body every implementation sends: what the client
// checks to know the session was read (and a change kept).
func answer(w http.ResponseWriter, csrf string, cart int) {
	w.Header().Set("Content-Type", "text/plain")
	fmt.Fprintf(w, "%s %d\n", csrf, cart)
}

// change reports the cart count a request asks to set, if any.
func change(r *http.Request) (int, bool) {
	n, err := strconv.Atoi(r.URL.Query().Get("n"))
	return n, err == nil
}

func isInit(r *http.Request) bool { return r.URL.Query().Get("init") != "" }

// handler builds the server of one implementation around the payload.
func handler(impl string, raw []byte) (http.Handler, error) {
	var p session
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, err
	}
	switch impl {
	case "cookiesession", "cookiesession-view":
		m, err := cookiesession.New[session](cookiesession.Options{
			Keys:              [][]byte{keyring.Generate()},
			InsecureAllowHTTP: true, // loopback HTTP
			OnError:           func(_ *http.Request, err error) { fmt.Fprintln(os.Stderr, err) },
		})
		if err != nil {
			return nil, err
		}
		view := impl == "cookiesession-view"
		return m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if isInit(r) {
				*m.Get(r).Data = p
			}
			if n, ok := change(r); ok {
				s := m.Get(r)
				s.Data.CartCount = n
				answer(w, s.Data.CSRF, s.Data.CartCount)
				return
			}
			if view {
				v := m.View(r)
				answer(w, v.CSRF, v.CartCount)
				return
			}
			s := m.Get(r)
			answer(w, s.Data.CSRF, s.Data.CartCount)
		})), nil

	case "plain":
		// The same session as a plaintext cookie: base64url of its JSON,
		// no seal, no authentication. A bad cookie is a new session.
		const name = "session"
		write := func(w http.ResponseWriter, s *session) {
			b, err := json.Marshal(s)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			http.SetCookie(w, &http.Cookie{
				Name: name, Value: base64.RawURLEncoding.EncodeToString(b),
				Path: "/", MaxAge: int(defaults.MaxAge / time.Second),
				HttpOnly: true, SameSite: http.SameSiteLaxMode,
			})
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var s session
			if c, err := r.Cookie(name); err == nil {
				if b, err := base64.RawURLEncoding.DecodeString(c.Value); err == nil {
					if json.Unmarshal(b, &s) != nil {
						s = session{}
					}
				}
			}
			if isInit(r) {
				s = p
				write(w, &s)
			}
			if n, ok := change(r); ok {
				s.CartCount = n
				write(w, &s)
			}
			answer(w, s.CSRF, s.CartCount)
		}), nil

	case "gorillastore":
		// gorilla/sessions' usage: the payload's top-level fields as
		// Values, in the adapter's own typed encoding.
		var fields map[string]any
		if err := json.Unmarshal(raw, &fields); err != nil {
			return nil, err
		}
		store, err := gorillastore.New(gorillastore.Options{
			Keys: [][]byte{keyring.Generate()},
			Session: &sessions.Options{
				Path: "/", MaxAge: int(defaults.MaxAge / time.Second),
				HttpOnly: true, SameSite: http.SameSiteLaxMode, // not Secure: loopback HTTP
			},
		})
		if err != nil {
			return nil, err
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s, err := store.Get(r, "session")
			if err != nil && !s.IsNew {
				fmt.Fprintln(os.Stderr, err)
			}
			dirty := false
			if isInit(r) {
				for k, v := range fields {
					s.Values[k] = v
				}
				dirty = true
			}
			if n, ok := change(r); ok {
				s.Values["cart_count"] = float64(n)
				dirty = true
			}
			if dirty {
				if err := s.Save(r, w); err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
			}
			csrf, _ := s.Values["csrf"].(string)
			cart, _ := s.Values["cart_count"].(float64)
			answer(w, csrf, int(cart))
		}), nil

	case "scs-memory":
		// alexedwards/scs with its in-memory store (the default): the
		// cookie carries a token, the server keeps the session, gob
		// encoded, in the process. The session is one value.
		gob.Register(session{})
		sm := scs.New()
		sm.Lifetime = defaults.MaxAge
		return sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			if isInit(r) {
				sm.Put(ctx, "session", p)
			}
			s, _ := sm.Get(ctx, "session").(session)
			if n, ok := change(r); ok {
				s.CartCount = n
				sm.Put(ctx, "session", s)
			}
			answer(w, s.CSRF, s.CartCount)
		})), nil
	}
	return nil, fmt.Errorf("unknown implementation %q", impl)
}

// serve is the server process: it listens on 127.0.0.1:0, prints
// "listening <addr>" on stdout, and serves until its stdin closes (the
// parent closes it to stop the server, or dies), then writes the CPU
// profile, if any, and exits.
func serve(impl, payloadPath, cpuprofile string) error {
	raw, err := os.ReadFile(payloadPath)
	if err != nil {
		return err
	}
	h, err := handler(impl, raw)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	fmt.Printf("listening %s\n", ln.Addr())
	io.Copy(io.Discard, bufio.NewReader(os.Stdin)) // until EOF
	srv.Close()
	return nil
}
