package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"html/template"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/dbsc"
)

// Device binding (Device Bound Session Credentials, the dbsc module), with
// -dbsc: the demo serves HTTPS, signs in on /device with a session bound
// to the browser's key, and lets a person play the thief: copy every
// cookie of the session into a second browser profile, and watch the copy
// stop working once the bound cookie's lifetime has passed while the first
// profile, which can sign, keeps its session.

// devicePage is where the device-binding page is served.
const devicePage = "/device"

var deviceTemplate = template.Must(template.New("device").Parse(`<!doctype html>
<meta charset="utf-8"><title>cookiesession demo: device binding</title>
<h1>Device binding</h1>
{{if .User}}<p>Signed in as <b>{{.User}}</b>.
{{if .Bound}}This session is <b>bound to a device</b>: it opens only with a bound cookie that lives {{.Lifetime}}, which only the browser holding the device's private key can renew.
{{else}}This session is <b>not bound</b> (a browser without Device Bound Session Credentials, or the registration has not happened yet: reload).{{end}}</p>
<form method="post" action="/logout"><button>Sign out</button></form>
{{else}}<p>Not signed in{{if .Refused}} (the cookies this browser sent were refused: {{.Refused}}){{end}}.</p>
<form method="post" action="{{.Login}}"><input name="user" placeholder="name" required maxlength="40"> <button>Sign in and bind to this device</button></form>{{end}}
<h2>Play the thief</h2>
<p>Every cookie this browser sent with this page (HttpOnly ones included, as malware reading the cookie store gets them):</p>
<textarea rows="5" cols="100" readonly>{{.Cookies}}</textarea>
<p>In a second browser profile, paste them here to plant them there; that profile then reads the session until the bound cookie expires, while this one keeps going.</p>
<form method="post" action="{{.Plant}}"><textarea name="cookies" rows="3" cols="100"></textarea><br><button>Plant these cookies in this browser</button></form>
<p><a href="/">Back to the demo</a></p>
`))

// registerDevice adds the device-binding routes to mux: the page, its
// sign-in and the planting of copied cookies (the Manager serves the
// Binder's endpoints).
func (d *demo) registerDevice(mux *http.ServeMux) {
	m, b := d.m, d.binder
	mux.HandleFunc("GET "+devicePage, func(w http.ResponseWriter, r *http.Request) {
		s := m.Get(r)
		p := struct {
			User, Lifetime, Refused, Cookies, Login, Plant string
			Bound                                          bool
		}{User: s.Data.User, Bound: s.Binding() != nil, Lifetime: duration(d.boundLifetime),
			Cookies: strings.Join(r.Header.Values("Cookie"), "; "), Login: devicePage + "/login", Plant: devicePage + "/plant"}
		if err := s.Err(); err != nil && !errors.Is(err, cookiesession.ErrNoCookie) {
			p.Refused = cookiesession.Reason(err) // "unbound": a copy without the device's proof
			if errors.Is(err, dbsc.ErrSkipped) {
				p.Refused += ", and the browser said it skipped renewing the bound cookie"
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		deviceTemplate.Execute(w, p)
	})
	mux.HandleFunc("POST "+devicePage+"/login", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimSpace(r.PostFormValue("user"))
		if name == "" || len(name) > 40 {
			http.Redirect(w, r, devicePage, http.StatusSeeOther)
			return
		}
		s := m.Get(r)
		s.Regenerate()
		s.SetSubject(name)
		s.Data.User = name
		b.Bind(w, s.ID()) // Secure-Session-Registration: the browser registers its key
		http.Redirect(w, r, devicePage, http.StatusSeeOther)
	})
	mux.HandleFunc("POST "+devicePage+"/plant", func(w http.ResponseWriter, r *http.Request) {
		// For the demonstration only: an application never sets cookies
		// a visitor pastes.
		r.Body = http.MaxBytesReader(w, r.Body, 32<<10)
		for _, pair := range strings.Split(r.PostFormValue("cookies"), ";") {
			name, value, ok := strings.Cut(strings.TrimSpace(pair), "=")
			c := &http.Cookie{Name: name, Value: value, Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode}
			if ok && c.Valid() == nil {
				http.SetCookie(w, c)
			}
		}
		http.Redirect(w, r, devicePage, http.StatusSeeOther)
	})
}

// selfSigned returns a fresh self-signed certificate for 127.0.0.1 and
// localhost, and the base64 SHA-256 of its public key, which Chromium's
// --ignore-certificate-errors-spki-list takes to accept it as valid.
// (With --ignore-certificate-errors instead, Chromium ignores
// Secure-Session-Registration: DBSC needs a certificate without errors.)
func selfSigned() (tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(30 * 24 * time.Hour),
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, "", err
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, base64.StdEncoding.EncodeToString(spki[:]), nil
}
