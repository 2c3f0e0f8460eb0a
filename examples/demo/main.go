// Command demo is a small web application that keeps its whole session in
// cookies with cookiesession: a visit counter, sign-in and sign-out with
// Regenerate, a cart that grows past 4 KB into several cookies, and a
// counter changed over a WebSocket that survives a reload.
//
//	go run ./examples/demo             # serves on http://127.0.0.1:8080
//	go run ./examples/demo -addr 127.0.0.1:9000
//
// With no configuration it generates a key at start, so sessions do not
// survive a restart. To keep them, set COOKIESESSION_KEYS to one or more
// comma-separated base64url keys (the first seals, all open), for example
// with the output of the cookiesession command's keygen.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/cookiesession/cookiesession"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	log.SetFlags(0)

	keys, err := demoKeys(os.Stderr)
	if err != nil {
		log.Fatal(err)
	}
	m, err := newManager(keys)
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
	log.Printf("cookiesession demo: http://%s/", ln.Addr())
	srv := &http.Server{Handler: newMux(m), ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.Serve(ln))
}

// newManager returns the demo's session manager.
func newManager(keys [][]byte) (*cookiesession.Manager[DemoSession], error) {
	return cookiesession.New[DemoSession](cookiesession.Options{
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
		Limits:  cookiesession.Limits{TotalSize: 16000},
		OnError: func(r *http.Request, err error) { log.Printf("session: %v (%s %s)", err, r.Method, r.URL.Path) },
	})
}

// newMux builds the demo's routes behind the session middleware.
func newMux(m *cookiesession.Manager[DemoSession]) http.Handler {
	mux := http.NewServeMux()
	registerPages(mux, m)
	registerSocket(mux, m)
	return m.Handler(mux)
}

// demoKeys returns the keys from COOKIESESSION_KEYS, or a new random key
// when it is unset, saying so loudly on out.
func demoKeys(out io.Writer) ([][]byte, error) {
	if _, set := os.LookupEnv(cookiesession.KeysEnv); set {
		keys, err := cookiesession.KeysFromEnv()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(out, "Using %d key(s) from %s.\n", len(keys), cookiesession.KeysEnv)
		printInsecure(out)
		return keys, nil
	}
	key := cookiesession.GenerateKey()
	fmt.Fprintf(out, `
******************************************************************************
  %s is not set: generated a random key for this run only.
  Sessions will not survive a restart. To keep them, start the demo with
      %s=%s
******************************************************************************
`, cookiesession.KeysEnv, cookiesession.KeysEnv, cookiesession.FormatKey(key))
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
