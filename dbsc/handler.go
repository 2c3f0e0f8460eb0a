package dbsc

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/store"
)

// Handler serves the Binder's registration and refresh endpoints
// (Options.RegistrationPath and RefreshPath) for the sessions of m, whose
// Options.Binding must be b.Check. Mount it where both paths reach it, with
// the paths as the browser sends them (not behind http.StripPrefix: Check
// recognises the refresh endpoint by its path); any other path is 404.
//
// What it answers follows the spec's "Send request" algorithm, where the
// status decides the browser's next step: 200 with the session
// instructions binds or renews; on refresh, 403 with a fresh
// Secure-Session-Challenge asks for a new proof (a bad, expired or
// replayed challenge, a proof that does not verify), which the browser
// retries a few times before it ends the session; 503 when the revocation
// store cannot be checked, which the browser treats as transient; and 200
// with {"continue": false} when the session behind the cookies is over
// (logged out, expired, regenerated), which ends the browser's session. A
// registration that does not verify is 400, without a fresh challenge:
// only Bind issues registration challenges. A refusal never clears the
// session's cookies and never answers 500.
func Handler[T any](b *Binder, m *cookiesession.Manager[T]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path != b.o.RegistrationPath && r.URL.Path != b.o.RefreshPath:
			http.NotFound(w, r)
		case r.Method != http.MethodPost:
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		case r.URL.Path == b.o.RegistrationPath:
			register(b, m, w, r)
		default:
			refresh(b, m, w, r)
		}
	})
}

// register binds the request's session to the key in the proof (spec,
// "Create session"): the proof is self-signed by the key its header
// carries (jwk), over a challenge Bind issued for this session.
func register[T any](b *Binder, m *cookiesession.Manager[T], w http.ResponseWriter, r *http.Request) {
	refuse := func(err error) {
		b.o.OnError(r, fmt.Errorf("%w: registration refused: %w", ErrUnbound, err))
		http.Error(w, "registration refused", http.StatusBadRequest)
	}
	proof, ok := sfString(r.Header.Get("Secure-Session-Response"), maxProofLen)
	if !ok {
		refuse(errors.New("no proof, or one too long"))
		return
	}
	s, err := m.Load(r)
	switch {
	case err != nil || s.IsNew():
		refuse(fmt.Errorf("no session to bind (%w)", err))
		return
	case s.Binding() != nil:
		// Bound already: another key would replace the device's.
		refuse(errors.New("session bound already"))
		return
	}
	key, jti, err := verifyProof(proof, nil)
	if err != nil {
		refuse(err)
		return
	}
	if err := b.openChallenge(r.Context(), registrationChallenge, jti, s.ID()); errors.Is(err, store.ErrRevocationUnavailable) {
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
	binding, err := encodeKey(key)
	if err != nil {
		refuse(err)
		return
	}
	s.Bind(binding)
	if err := m.Save(w, r, s); err != nil {
		// Too large with the key, say: the session stays as it was
		// (Save leaves no cookie for it in w).
		refuse(err)
		return
	}
	instructions(b, w, s.ID(), binding)
}

// refresh renews the bound cookie (spec, "Send request", refresh): Check,
// through m.Load, has verified the proof over a challenge for the session
// named by Sec-Secure-Session-Id.
func refresh[T any](b *Binder, m *cookiesession.Manager[T], w http.ResponseWriter, r *http.Request) {
	id, ok := sfString(r.Header.Get("Sec-Secure-Session-Id"), maxIDLen)
	if !ok {
		http.Error(w, "no session identifier", http.StatusBadRequest)
		return
	}
	if r.Header.Get("Secure-Session-Response") == "" {
		challenge(b, w, id)
		return
	}
	s, err := m.Load(r)
	switch {
	case errors.Is(err, store.ErrRevocationUnavailable):
		// The session, or the challenge's single use, cannot be
		// checked now: a 5xx keeps the browser's session for a retry.
		b.o.OnError(r, err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	case errors.Is(err, ErrUnbound):
		b.o.OnError(r, err)
		challenge(b, w, id) // a proof that does not count: ask again
		return
	case err != nil || s.IsNew() || s.ID() != id || s.Binding() == nil:
		// The session these cookies held is over, or was never bound to
		// this browser session: end the browser's.
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write([]byte(`{"continue":false}`))
		return
	}
	instructions(b, w, id, s.Binding())
}

// challenge answers 403 with a fresh refresh challenge for the session
// id, which it names (spec, "Secure-Session-Challenge structured header
// serialization").
func challenge(b *Binder, w http.ResponseWriter, id string) {
	c, err := b.challenge(refreshChallenge, id)
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

type sessionScope struct {
	IncludeSite bool `json:"include_site"`
}

type credential struct {
	Type       string `json:"type"`
	Name       string `json:"name"`
	Attributes string `json:"attributes"`
}

// instructions sets a new bound cookie and answers 200 with the session
// instructions: the bound cookie's name with the Set-Cookie's attributes
// but Max-Age, which the spec ignores there and Chromium refuses.
func instructions(b *Binder, w http.ResponseWriter, id string, binding []byte) {
	c, err := b.boundCookie(id, binding)
	if err != nil {
		http.Error(w, "session not bound", http.StatusBadRequest)
		return
	}
	body, _ := json.Marshal(sessionInstructions{
		SessionIdentifier: id,
		RefreshURL:        b.o.RefreshPath,
		Scope:             sessionScope{IncludeSite: false},
		Credentials:       []credential{{Type: "cookie", Name: b.o.Name, Attributes: b.attrs}},
	})
	w.Header().Add("Set-Cookie", c)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(body)
}
