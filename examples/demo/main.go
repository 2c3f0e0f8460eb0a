// Command demo is a small web application that keeps its session in
// cookies with cookiesession: a visit counter, sign-in with Regenerate and
// SetSubject, sign-out and "log out everywhere" with revocation, sign-in
// through a pretend identity provider whose "log out at the provider"
// reaches the demo as an OpenID Connect back-channel logout, a cart
// that grows past the cookies into an overflow store, a counter changed
// over a WebSocket that closes when its session is revoked, and the
// Manager's events counted on /metrics.
//
//	go run ./examples/demo             # serves on http://127.0.0.1:8080
//	go run ./examples/demo -addr 127.0.0.1:9000
//	go run ./examples/demo -overflow=false   # the cart stops at the cookie budget
//	go run ./examples/demo -dbsc 1m    # HTTPS, sessions bound to the device on /device
//
// With no configuration it generates a key at start, so sessions do not
// survive a restart. To keep them, set COOKIESESSION_KEYS to one or more
// comma-separated base64url keys (the first seals, all open), for example
// with the output of the cookiesession command's keygen.
//
// Revocation and overflow use in-memory stand-ins (stores.go), good for
// this one process only. A fleet of servers shares a store instead: with
// -redis host:port the demo uses the redisstore module's Store, on Redis 7
// or Valkey, for both (several demos on other -addr ports and one Redis
// then behave as one site). The Redis client is built in with the redis
// build tag only, since compiling it takes longer than the rest of the
// demo together (about 40 s of a first build):
//
//	go run -tags redis ./examples/demo -redis 127.0.0.1:6379
//
// The handler is wrapped in [http.CrossOriginProtection], as every
// application using cookie sessions should be: the session is no defence
// against cross-site request forgery.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/cookiesessiontest"
	"github.com/cookiesession/cookiesession/dbsc"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	overflow := flag.Bool("overflow", true, "move sessions too large for the cookies to the in-memory overflow store")
	redisAddr := flag.String("redis", "", "address of a Redis or Valkey server for revocation and overflow (zero: in-memory stand-ins for this process)")
	bound := flag.Duration("dbsc", 0, "serve HTTPS (a self-signed certificate) and bind sessions signed in on /device to the browser's key, with bound cookies of this lifetime (zero: off)")
	flag.Parse()
	log.SetFlags(0)

	keys, err := demoKeys(os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	cfg := config{Overflow: *overflow, BoundLifetime: *bound}
	if *redisAddr != "" {
		st, closeStore, err := openRedis(*redisAddr)
		if err != nil {
			log.Fatal(err)
		}
		defer closeStore()
		cfg.Shared = st
	}
	d, err := newDemo(keys, cfg)
	if err != nil {
		log.Fatal(err)
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !isLoopback(host) {
		log.Printf("WARNING: %s is not a loopback address, and this demo serves plain HTTP with Secure cookies off.", *addr)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second}
	if *bound > 0 {
		cert, spki, err := selfSigned()
		if err != nil {
			log.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		log.Printf(`cookiesession demo with device binding: https://%[1]s%[2]s
Open it in Chromium with Device Bound Session Credentials on (software keys, for testing), which accepts
this run's certificate by its key:
    chromium --user-data-dir=$(mktemp -d) --enable-features=DeviceBoundSessions,EnableBoundSessionCredentialsSoftwareKeysForManualTesting --ignore-certificate-errors-spki-list=%[3]s https://%[1]s%[2]s
Sign in there, copy the cookies the page shows, and plant them in a second profile (the same command:
a new --user-data-dir). The copy reads the session for up to %[4]v, then gets a new session; the first keeps its own.`,
			ln.Addr(), devicePage, spki, *bound)
		log.Fatal(srv.ServeTLS(ln, "", ""))
	}
	log.Printf("cookiesession demo: http://%s/", ln.Addr())
	log.Fatal(srv.Serve(ln))
}

// config is what the demo's flags choose.
type config struct {
	// Overflow moves sessions too large for the cookies to the demo's
	// in-memory overflow store. False: such a save fails and the cart
	// says it is full.
	Overflow bool

	// Now is the clock of the Manager and the stores. Zero: time.Now
	// (tests inject a fake one).
	Now func() time.Time

	// Shared is a store shared by several servers (redisstore.Store),
	// used as the Revoker and, with Overflow, the overflow store. Zero:
	// the in-memory stand-ins.
	Shared sharedStore

	// BoundLifetime turns device binding on (device.go), with bound
	// cookies of this lifetime. Zero: off.
	BoundLifetime time.Duration
}

// sharedStore is a Revoker and an Overflow store in one, as
// redisstore.Store is.
type sharedStore interface {
	store.Revoker
	store.Overflow
}

// demo is the demo application: its session manager, its stores and its
// counters.
type demo struct {
	m          *cookiesession.Manager[DemoSession]
	revoker    *cookiesessiontest.Revoker // nil with a shared store
	overflow   *memOverflow               // nil when the overflow store is off or shared
	overflowOn bool                       // sessions too large for the cookies go to a store
	metrics    *metrics

	binder        *dbsc.Binder // nil: device binding off
	boundLifetime time.Duration
}

// cookieBudget is the demo's limit on the cookies of one session.
const cookieBudget = 16000

// newDemo returns the demo with its session manager.
func newDemo(keys [][]byte, cfg config) (*demo, error) {
	d := &demo{metrics: newMetrics(), overflowOn: cfg.Overflow}
	opts := cookiesession.Options{
		Name: "demo",
		Keys: keys,
		// The demo serves plain HTTP on 127.0.0.1, where many clients
		// (curl, Go's cookiejar, some browsers) would not send Secure
		// cookies back. Never set this in production: serve HTTPS and
		// leave Secure on.
		InsecureAllowHTTP: true,
		// Room for a cart of about 10 KB: up to 4 cookies of 4000 bytes.
		// Behind nginx or Apache, raise their request header limits to
		// match (the default Cookie line limit is about 8 KB).
		Limits:  cookiesession.Limits{TotalSize: cookieBudget},
		Logger:  slog.New(slog.NewTextHandler(os.Stderr, nil)),
		OnEvent: d.metrics.observe,
	}
	switch {
	case cfg.Shared != nil:
		opts.Revoker = cfg.Shared
		if cfg.Overflow {
			opts.Overflow = cfg.Shared
		}
	default:
		now := time.Now
		if cfg.Now != nil {
			now = cfg.Now
		}
		d.revoker = cookiesessiontest.NewRevoker(now)
		opts.Revoker = d.revoker
		if cfg.Overflow {
			d.overflow = newMemOverflow()
			opts.Overflow = d.overflow
		}
	}
	if cfg.Now != nil {
		opts.Now = cfg.Now
		if d.overflow != nil {
			d.overflow.now = cfg.Now
		}
	}
	if cfg.BoundLifetime > 0 {
		// The Binder seals bound cookies and challenges with the same
		// keys (under purposes of their own) and makes challenges
		// single-use with the Revoker.
		b, err := dbsc.New(dbsc.Options{Keys: keys, Lifetime: cfg.BoundLifetime, Revoker: opts.Revoker, Now: cfg.Now})
		if err != nil {
			return nil, err
		}
		d.binder, d.boundLifetime = b, cfg.BoundLifetime
		opts.Binding = b
	}
	m, err := cookiesession.New[DemoSession](opts)
	if err != nil {
		return nil, err
	}
	d.m = m
	return d, nil
}

// handler builds the demo's routes behind the session middleware, behind
// the protection against cross-origin requests that the session needs
// (a browser sends the session's cookies with a form another site posts
// here; SameSite=Lax stops that only for cross-site, not same-site,
// origins).
func (d *demo) handler() http.Handler {
	mux := http.NewServeMux()
	d.registerPages(mux)
	d.registerSocket(mux)
	if err := d.registerProvider(mux); err != nil {
		panic(err) // a key could not be generated
	}
	if d.binder != nil {
		d.registerDevice(mux)
	}
	return http.NewCrossOriginProtection().Handler(d.m.Handler(mux))
}

// demoKeys returns the keys from COOKIESESSION_KEYS, or a new random key
// when it is unset, saying so loudly on out.
func demoKeys(out io.Writer) ([][]byte, error) {
	if _, set := os.LookupEnv(keyring.Env); set {
		keys, err := keyring.FromEnv()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "Using %d key(s) from %s.\n", len(keys), keyring.Env)
		printInsecure(out)
		return keys, nil
	}
	key := keyring.Generate()
	fmt.Fprintf(out, `
******************************************************************************
  %s is not set: generated a random key for this run only.
  Sessions will not survive a restart. To keep them, start the demo with
      %s=%s
******************************************************************************
`, keyring.Env, keyring.Env, keyring.Format(key))
	printInsecure(out)
	return [][]byte{key}, nil
}

func printInsecure(out io.Writer) {
	fmt.Fprintln(out, "Secure cookies are OFF (InsecureAllowHTTP) because the demo serves plain HTTP on 127.0.0.1. Do not do this in production.")
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
