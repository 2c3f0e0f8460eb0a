package dbsc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/store"
)

// Endpoints returns the bound cookie's Path, which must be the session
// cookie's, and the registration and refresh paths (Options.Path,
// RegistrationPath and RefreshPath): the Manager's middleware answers
// requests to those paths with [Binder.Serve]. It is part of the
// Manager's Options.Binding, as are [Binder.Check] and Serve.
func (b *Binder) Endpoints() (string, []string) {
	return b.o.Path, []string{b.o.RegistrationPath, b.o.RefreshPath}
}

// Serve answers a request to the registration or the refresh endpoint,
// for the Manager whose Options.Binding b is: the Manager has opened the
// request's session (id, binding, or err for why it did not open) and
// passes bind to bind it.
//
// What it answers follows the spec's "Send request" algorithm, where the
// status decides the browser's next step: 200 with the session
// instructions binds or renews; on refresh, 403 with a fresh
// Secure-Session-Challenge asks for a new proof (a bad, expired or
// replayed challenge, a proof that does not verify), which the browser
// retries a few times before it ends the session; 503 when the revocation
// store cannot be checked or a planted cookie makes the session ambiguous
// (cookiesession.ErrAmbiguous), which the browser treats as transient; and 200
// with {"continue": false} when the session behind the cookies is over
// (logged out, expired, regenerated), which ends the browser's session. A
// registration that does not verify is 400, without a fresh challenge:
// only Bind issues registration challenges. A refusal never clears the
// session's cookies and never answers 500. Every refusal goes to
// Options.OnError.
func (b *Binder) Serve(w http.ResponseWriter, r *http.Request, id string, binding []byte, err error, bind func([]byte) error) {
	switch {
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case r.URL.Path == b.o.RegistrationPath:
		b.register(w, r, id, binding, err, bind)
	case r.URL.Path == b.o.RefreshPath:
		b.refresh(w, r, id, binding, err)
	default:
		http.NotFound(w, r)
	}
}

// register binds the request's session to the key in the proof (spec,
// "Create session"): the proof is self-signed by the key its header
// carries (jwk), over a challenge Bind issued for this session.
func (b *Binder) register(w http.ResponseWriter, r *http.Request, id string, binding []byte, err error, bind func([]byte) error) {
	refuse := func(err error) {
		b.o.OnError(r, fmt.Errorf("%w: registration refused: %w", ErrUnbound, err))
		http.Error(w, "registration refused", http.StatusBadRequest)
	}
	proof, ok := sfString(r.Header.Get("Secure-Session-Response"), maxProofLen)
	switch {
	case !ok:
		refuse(errors.New("no proof, or one too long"))
		return
	case err != nil:
		refuse(fmt.Errorf("no session to bind (%w)", err))
		return
	case binding != nil:
		// Bound already: another key would replace the device's.
		refuse(errors.New("session bound already"))
		return
	}
	key, jti, err := verifyProof(proof, nil)
	if err != nil {
		refuse(err)
		return
	}
	if err := b.openChallenge(r.Context(), registrationChallenge, jti, id); errors.Is(err, store.ErrRevocationUnavailable) {
		b.o.OnError(r, fmt.Errorf("%w: registration refused: %w", ErrUnbound, err))
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	} else if err != nil {
		// A wrong, expired or used challenge. No fresh one (the spec
		// allows 403 with a challenge, to sign again): registration
		// challenges come from Bind alone, so that the cookies of an
		// unbound session do not suffice to get one. The session stays
		// unbound; the next login binds it.
		refuse(err)
		return
	}
	binding, err = encodeKey(key)
	if err != nil {
		refuse(err)
		return
	}
	if err := bind(binding); err != nil {
		// Too large with the key, say: the session stays as it was
		// (a failed save leaves no cookie for it in w).
		refuse(err)
		return
	}
	b.instructions(w, r, id, binding)
}

// refresh renews the bound cookie (spec, "Send request", refresh): Check,
// as the Manager opened the session, has verified the proof over a
// challenge for the session named by Sec-Secure-Session-Id.
func (b *Binder) refresh(w http.ResponseWriter, r *http.Request, id string, binding []byte, err error) {
	sid, ok := sfString(r.Header.Get("Sec-Secure-Session-Id"), maxIDLen)
	switch {
	case !ok:
		b.o.OnError(r, fmt.Errorf("%w: refresh without a session identifier", ErrUnbound))
		http.Error(w, "no session identifier", http.StatusBadRequest)
	case r.Header.Get("Secure-Session-Response") == "":
		b.askProof(w, sid) // the browser's first try: no proof yet
	case transient(err):
		// The session, or the challenge's single use, cannot be
		// checked now, or a cookie planted beside the session's hides
		// it: a 5xx keeps the browser's session for a retry, where
		// {"continue": false} would end it for good.
		b.o.OnError(r, fmt.Errorf("%w: refresh: %w", ErrUnbound, err))
		http.Error(w, "try again", http.StatusServiceUnavailable)
	case errors.Is(err, ErrUnbound) && !errors.Is(err, errOtherSession):
		b.o.OnError(r, err)
		b.askProof(w, sid) // a proof that does not count: ask again
	case err != nil || id != sid || binding == nil:
		// The session these cookies held is over, or was never bound to
		// this browser session: end the browser's.
		b.o.OnError(r, fmt.Errorf("%w: refresh of a session that is over, or not bound (%w)", ErrUnbound, err))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(`{"continue":false}`))
	default:
		b.instructions(w, r, id, binding)
	}
}

// transient reports whether the session did not open for a reason that
// may pass: a store that did not answer, or several authentic sessions
// under the cookie name (one planted by a sibling subdomain, say), which
// the Manager does not expire either.
func transient(err error) bool {
	return errors.Is(err, store.ErrRevocationUnavailable) || errors.Is(err, store.ErrOverflowUnavailable) || errors.Is(err, cookiesession.ErrAmbiguous)
}

// askProof answers 403 with a fresh refresh challenge for the session
// id, which it names (spec, "Secure-Session-Challenge structured header
// serialization").
func (b *Binder) askProof(w http.ResponseWriter, id string) {
	c, err := b.newChallenge(refreshChallenge, id)
	if err != nil {
		http.Error(w, "no such session", http.StatusBadRequest)
		return
	}
	w.Header().Set("Secure-Session-Challenge", sfQuote(c)+";id="+sfQuote(id))
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "proof required", http.StatusForbidden)
}

// sessionInstructions is the spec's "JSON Session Instruction Format".
type sessionInstructions struct {
	SessionIdentifier string       `json:"session_identifier"`
	RefreshURL        string       `json:"refresh_url"`
	Scope             sessionScope `json:"scope"`
	Credentials       []credential `json:"credentials"`
}

// sessionScope is the spec's "JSON Session Scope Instruction Format".
type sessionScope struct {
	IncludeSite   bool        `json:"include_site"`
	Specification []scopeRule `json:"scope_specification,omitempty"`
}

// scopeRule is the spec's "JSON Session Scope Rule Format".
type scopeRule struct {
	Type   string `json:"type"`
	Domain string `json:"domain,omitempty"`
	Path   string `json:"path"`
}

type credential struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Attributes string `json:"attributes"`
}

// scope is the session's scope: the origin (include_site false), and,
// when the session cookie's Path is not "/", only that Path: rules are
// read last to first (spec, "Identify if a URL is in scope of a
// session"), so the second includes the Path and the first excludes the
// rest of the origin.
func (b *Binder) scope(r *http.Request) sessionScope {
	if b.o.Path == "/" {
		return sessionScope{}
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return sessionScope{Specification: []scopeRule{
		{Type: "exclude", Domain: host, Path: "/"},
		{Type: "include", Domain: host, Path: b.o.Path},
	}}
}

// instructions sets a new bound cookie and answers 200 with the session
// instructions: the bound cookie's name with the Set-Cookie's attributes
// but Max-Age, which the spec ignores there and Chromium refuses.
func (b *Binder) instructions(w http.ResponseWriter, r *http.Request, id string, binding []byte) {
	c, err := b.boundCookie(id, binding)
	if err != nil {
		http.Error(w, "session not bound", http.StatusBadRequest)
		return
	}
	body, _ := json.Marshal(sessionInstructions{
		SessionIdentifier: id,
		RefreshURL:        b.o.RefreshPath,
		Scope:             b.scope(r),
		Credentials:       []credential{{Type: "cookie", Name: b.o.Name, Attributes: b.attrs}},
	})
	w.Header().Add("Set-Cookie", c)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}
