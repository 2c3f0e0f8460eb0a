package dbsc

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/cookiesession/cookiesession/store"
)

// Bounds on what a client sends, checked before any parsing: a proof
// (spec, "DBSC Proof JWT Syntax") with an RSA-4096 key in its header is
// under 2,000 bytes.
const (
	maxProofLen = 4096
	maxIDLen    = 64
	minRSABits  = 2048
	maxRSABits  = 4096
)

// proofAlgs are the algorithms a proof may use (spec, "DBSC Proof JWT
// Syntax": RS256 or ES256; "none" is not accepted here: a session bound to
// no key is not bound). go-jose refuses any other at parse time.
var proofAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.RS256}

// proofClaims are the claims of a proof this package reads.
type proofClaims struct {
	JTI string `json:"jti"`
}

// verifyProof parses and verifies a proof. With key nil (registration),
// the header must carry the public key (jwk), which is returned; with a
// key (refresh), the header must not carry one (spec, "DBSC Proof JWT
// Syntax") and the proof must verify with key.
func verifyProof(proof string, key any) (any, string, error) {
	if len(proof) > maxProofLen {
		return nil, "", errors.New("proof too long")
	}
	jws, err := jose.ParseSignedCompact(proof, proofAlgs)
	if err != nil {
		return nil, "", errors.New("proof does not parse, or not with ES256 or RS256")
	}
	if len(jws.Signatures) != 1 {
		return nil, "", errors.New("proof with several signatures")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dbsc+jwt" {
		return nil, "", errors.New(`proof typ is not "dbsc+jwt"`)
	}
	if key == nil {
		if h.JSONWebKey == nil || !h.JSONWebKey.Valid() || !h.JSONWebKey.IsPublic() {
			return nil, "", errors.New("registration proof without a public jwk")
		}
		key = h.JSONWebKey.Key
		if err := checkKey(key, h.Algorithm); err != nil {
			return nil, "", err
		}
	} else if h.JSONWebKey != nil {
		return nil, "", errors.New("refresh proof with a jwk")
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, "", errors.New("proof signature does not verify")
	}
	var c proofClaims
	if err := json.Unmarshal(payload, &c); err != nil || c.JTI == "" {
		return nil, "", errors.New("proof without a jti")
	}
	return key, c.JTI, nil
}

// checkKey accepts the keys a binding can hold: P-256 for ES256, RSA of
// 2048 to 4096 bits for RS256.
func checkKey(key any, alg string) error {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		if alg == string(jose.ES256) && k.Curve == elliptic.P256() {
			return nil
		}
	case *rsa.PublicKey:
		if alg == string(jose.RS256) && k.N.BitLen() >= minRSABits && k.N.BitLen() <= maxRSABits {
			return nil
		}
	}
	return fmt.Errorf("proof key %T does not fit %s (P-256 for ES256, RSA 2048 to 4096 bits for RS256)", key, alg)
}

// The binding a session holds is its public key: 0x01 and the compressed
// P-256 point (34 bytes), or 0x02 and the PKCS #1 DER of an RSA key.
const (
	bindingP256 = 1
	bindingRSA  = 2
)

func encodeKey(key any) ([]byte, error) {
	switch k := key.(type) {
	case *ecdsa.PublicKey:
		p, err := k.Bytes() // 0x04, X, Y
		if err != nil || len(p) != 65 {
			return nil, errors.New("bad P-256 key")
		}
		out := make([]byte, 34)
		out[0], out[1] = bindingP256, 2|p[64]&1
		copy(out[2:], p[1:33])
		return out, nil
	case *rsa.PublicKey:
		return append([]byte{bindingRSA}, x509.MarshalPKCS1PublicKey(k)...), nil
	}
	return nil, fmt.Errorf("unsupported key %T", key)
}

func decodeKey(b []byte) (any, error) {
	if len(b) < 2 {
		return nil, errors.New("empty binding")
	}
	switch b[0] {
	case bindingP256:
		x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b[1:])
		if x == nil {
			return nil, errors.New("bad P-256 binding")
		}
		p := make([]byte, 65)
		p[0] = 4
		x.FillBytes(p[1:33])
		y.FillBytes(p[33:])
		return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), p)
	case bindingRSA:
		k, err := x509.ParsePKCS1PublicKey(b[1:])
		if err != nil || checkKey(k, string(jose.RS256)) != nil {
			return nil, errors.New("bad RSA binding")
		}
		return k, nil
	}
	return nil, errors.New("unknown binding")
}

// The names challenges are sealed under (authenticated with them): a
// registration challenge comes only from Bind, at login; the refresh
// endpoint hands refresh challenges to anyone who asks, and one never
// opens as the other, so that cookies of an unbound session, stolen, do
// not suffice to bind it to the thief's key.
const (
	registrationChallenge = "dbsc-registration"
	refreshChallenge      = "dbsc-refresh"
)

// newChallenge returns a fresh challenge of a kind for the session id: the
// ID and 16 random bytes, sealed (so it needs no store) with
// ChallengeLifetime.
func (b *Binder) newChallenge(kind, id string) (string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) != 16 {
		return "", errors.New("not a session ID")
	}
	v := make([]byte, 32)
	copy(v, raw)
	rand.Read(v[16:])
	return b.codecs.Load().challenges.Encode(kind, v)
}

// claimer is a store that claims one-time keys, each once across every
// server sharing it: the method of oidclogout's ReplayCache, which a
// *redisstore.Store has (SET NX PXAT).
type claimer interface {
	Claim(ctx context.Context, key string, until time.Time) (bool, error)
}

// openChallenge checks that c is a challenge of this kind the Binder
// issued for the session id, unexpired, and, with a Revoker, never
// answered before (it is claimed, or recorded as answered).
func (b *Binder) openChallenge(ctx context.Context, kind, c, id string) error {
	var v []byte
	err := b.codecs.Load().challenges.Decode(kind, c, &v)
	if err != nil || len(v) != 32 {
		return fmt.Errorf("challenge does not open (%w)", err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || subtle.ConstantTimeCompare(raw, v[:16]) != 1 {
		return errors.New("challenge of another session")
	}
	if b.o.Revoker == nil {
		return nil
	}
	nonce := "dbsc." + base64.RawURLEncoding.EncodeToString(v[16:])
	// No copy of the challenge opens after this (its lifetime, plus the
	// clock skew a seal time may show).
	until := b.o.Now().Add(b.o.ChallengeLifetime + time.Minute)
	if c, ok := b.o.Revoker.(claimer); ok {
		first, err := c.Claim(ctx, nonce, until)
		switch {
		case err != nil:
			return fmt.Errorf("challenge use not checkable: %w: %w", store.ErrRevocationUnavailable, err)
		case !first:
			return errors.New("challenge answered before")
		}
		return nil
	}
	rv, err := b.o.Revoker.Revocations(ctx, nonce, "", "")
	if err != nil {
		return fmt.Errorf("challenge use not checkable: %w: %w", store.ErrRevocationUnavailable, err)
	}
	if rv.ID {
		return errors.New("challenge answered before")
	}
	if err := b.o.Revoker.RevokeID(ctx, nonce, until); err != nil {
		return fmt.Errorf("challenge use not recordable: %w: %w", store.ErrRevocationUnavailable, err)
	}
	return nil
}

// errOtherSession refuses a refresh that names another session than the
// one its cookies hold: the browser's DBSC session is stale (the user
// signed in again, and the new session was bound anew), and Serve ends it
// with {"continue": false} rather than ask for a proof its key cannot
// give.
var errOtherSession = fmt.Errorf("%w: refresh for another session than the cookies'", ErrUnbound)

// checkProof is Check on the refresh endpoint: the request names the
// session (Sec-Secure-Session-Id) and carries a proof signed by its key
// over a challenge issued for it.
func (b *Binder) checkProof(r *http.Request, id string, binding []byte) error {
	if sid, ok := sfString(r.Header.Get("Sec-Secure-Session-Id"), maxIDLen); !ok || sid != id {
		return errOtherSession
	}
	proof, ok := sfString(r.Header.Get("Secure-Session-Response"), maxProofLen)
	if !ok {
		return fmt.Errorf("%w: no proof", ErrUnbound)
	}
	key, err := decodeKey(binding)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnbound, err)
	}
	_, jti, err := verifyProof(proof, key)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnbound, err)
	}
	if err := b.openChallenge(r.Context(), refreshChallenge, jti, id); err != nil {
		return fmt.Errorf("%w: %w", ErrUnbound, err)
	}
	return nil
}

// sfString reads a header that holds a Structured Field string (RFC 9651),
// ignoring its parameters, or, as Chromium sends some, a bare token; at
// most max bytes.
func sfString(v string, max int) (string, bool) {
	if v == "" || len(v) > max+2 {
		return "", false
	}
	if v[0] != '"' {
		if i := strings.IndexByte(v, ';'); i >= 0 {
			v = v[:i]
		}
		v = strings.TrimSpace(v)
		return v, v != "" && len(v) <= max
	}
	var s strings.Builder
	for i := 1; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && i+1 < len(v) && (v[i+1] == '"' || v[i+1] == '\\'):
			s.WriteByte(v[i+1])
			i++
		case c == '"':
			out := s.String()
			return out, out != "" && len(out) <= max
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", false
		default:
			s.WriteByte(c)
		}
	}
	return "", false // unterminated
}

// sfQuote writes s as a Structured Field string; s holds no '"' or '\\'
// (challenges are base64url, paths are checked by New).
func sfQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
