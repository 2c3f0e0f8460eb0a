package oidclogout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// backchannelEvent is the member of the events claim that makes a JWT a
// logout token (§2.4).
const backchannelEvent = "http://schemas.openid.net/event/backchannel-logout"

// token is what a valid logout token says.
type token struct {
	iss, jti, sub, sid string
	iat                time.Time
}

// invalid returns an ErrInvalidToken error with the reason.
func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidToken}, a...)...)
}

// validate checks raw as §2.6 says, in its order, and returns its claims.
func (h *handler) validate(ctx context.Context, raw string) (*token, error) {
	// Step 1: an encrypted token (five parts) is not accepted: this
	// relying party registers no encryption key.
	if strings.Count(raw, ".") != 2 {
		return nil, invalid("not a compact JWS (an encrypted or malformed token)")
	}
	// Steps 2 and 3: the signature, by a key of the provider, with an
	// allowed algorithm (never "none").
	jws, err := jose.ParseSignedCompact(raw, h.algs)
	if err != nil {
		return nil, invalid("the JWS does not parse or its alg is not allowed (%v)", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("%d signatures", len(jws.Signatures))
	}
	hdr := jws.Signatures[0].Header
	if typ, ok := hdr.ExtraHeaders[jose.HeaderType]; ok && !logoutType(typ) {
		return nil, invalid("typ header %v, neither logout+jwt nor JWT (§2.4)", typ)
	}
	keys, err := h.keys.forToken(ctx, hdr.KeyID, hdr.Algorithm)
	if err != nil {
		return nil, err
	}
	var payload []byte
	for _, k := range keys {
		if payload, err = jws.Verify(k); err == nil {
			break
		}
	}
	if payload == nil {
		return nil, invalid("the signature does not verify with the provider's key %q", hdr.KeyID)
	}

	// Step 4: iss, aud, iat and exp as for ID tokens.
	var std jwt.Claims
	var rest struct {
		Events json.RawMessage `json:"events"`
		Nonce  json.RawMessage `json:"nonce"`
		Sub    json.RawMessage `json:"sub"`
		SID    json.RawMessage `json:"sid"`
	}
	if err := json.Unmarshal(payload, &std); err != nil {
		return nil, invalid("the claims do not parse: %v", err)
	}
	if err := json.Unmarshal(payload, &rest); err != nil {
		return nil, invalid("the claims do not parse: %v", err)
	}
	now := h.now()
	switch {
	case std.Issuer != h.issuer:
		return nil, invalid("iss %q, not %q", std.Issuer, h.issuer)
	case !std.Audience.Contains(h.clientID):
		return nil, invalid("aud %q does not contain the client ID %q", []string(std.Audience), h.clientID)
	case std.IssuedAt == nil:
		return nil, invalid("no iat (§2.4: required)")
	case std.IssuedAt.Time().After(now.Add(h.skew)):
		return nil, invalid("iat %v is in the future", std.IssuedAt.Time().UTC())
	case std.IssuedAt.Time().Before(now.Add(-h.maxAge - h.skew)):
		return nil, invalid("iat %v is older than %v", std.IssuedAt.Time().UTC(), h.maxAge)
	case std.Expiry != nil && !now.Add(-h.skew).Before(std.Expiry.Time()):
		return nil, invalid("expired at %v", std.Expiry.Time().UTC())
	case std.NotBefore != nil && now.Add(h.skew).Before(std.NotBefore.Time()):
		return nil, invalid("not valid before %v", std.NotBefore.Time().UTC())
	case std.ID == "":
		return nil, invalid("no jti (§2.4: required)")
	}

	// Step 5: a sub, a sid or both. Step 6: the back-channel logout
	// event. Step 7: no nonce.
	t := &token{iss: std.Issuer, jti: std.ID, iat: std.IssuedAt.Time()}
	if t.sub, err = optionalString("sub", rest.Sub); err != nil {
		return nil, err
	}
	if t.sid, err = optionalString("sid", rest.SID); err != nil {
		return nil, err
	}
	switch {
	case t.sub == "" && t.sid == "":
		return nil, invalid("neither sub nor sid (§2.6 step 5)")
	case !logoutEvent(rest.Events):
		return nil, invalid("events is not a JSON object with the member %s whose value is a JSON object (§2.6 step 6)", backchannelEvent)
	case rest.Nonce != nil:
		return nil, invalid("a nonce claim (§2.6 step 7: prohibited)")
	}
	return t, nil
}

// logoutType reports whether a typ header allows a logout token: the
// explicit type logout+jwt (§2.4), or the generic JWT that providers
// predating explicit typing send on every token (RFC 7519 §5.1), which
// says no more than an absent typ. Media types compare without case, and
// "application/" may be left out (RFC 7515 §4.1.9). Any other explicit
// type (an access token's at+jwt, say) is refused.
func logoutType(typ any) bool {
	s, ok := typ.(string)
	if !ok {
		return false
	}
	switch strings.TrimPrefix(strings.ToLower(s), "application/") {
	case "logout+jwt", "jwt":
		return true
	}
	return false
}

// logoutEvent reports whether events is a JSON object whose member
// backchannelEvent is a JSON object (§2.4).
func logoutEvent(events json.RawMessage) bool {
	var m map[string]json.RawMessage
	if len(events) == 0 || events[0] != '{' || json.Unmarshal(events, &m) != nil {
		return false
	}
	v, ok := m[backchannelEvent]
	v = bytes.TrimSpace(v)
	return ok && len(v) > 0 && v[0] == '{'
}

// optionalString reads a claim that must be a string when present; ""
// when absent.
func optionalString(name string, v json.RawMessage) (string, error) {
	if v == nil {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", invalid("%s is not a string", name)
	}
	return s, nil
}

// replayKey names a token in the replay cache: its issuer and jti.
func replayKey(iss, jti string) string {
	return "oidclogout:" + issuerScoped(iss, jti)
}

// issuerScoped names the value v (a jti, a sid) of the issuer iss, which
// is unique only at that issuer: the SHA-256 of iss's length as a
// uvarint, iss and v, in unpadded base64url (43 plain characters,
// whatever the lengths of iss and v). The length prefix keeps ("ab", "c")
// and ("a", "bc") apart.
func issuerScoped(iss, v string) string {
	var buf [256]byte // on the stack for the usual lengths
	b := binary.AppendUvarint(buf[:0], uint64(len(iss)))
	sum := sha256.Sum256(append(append(b, iss...), v...))
	var out [43]byte
	base64.RawURLEncoding.Encode(out[:], sum[:])
	return string(out[:])
}

// errNoKey reports a token whose key is not in the provider's key set.
var errNoKey = errors.New("no key of the provider's key set matches")
