package cookiesession_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/store"
)

// vector is a parsed file of testdata/vectors; see its README.md.
type vector struct {
	open       string // "codec" or "session"
	cookieSize int
	maxChunks  int
	store      vectorStore // nil: no Overflow store
	id         string
	subject    string
	provider   string
	binding    []byte // Options.Binding accepts a session bound to it; nil: no Options.Binding
	expiresAt  time.Time
	generation uint64
	revoker    *vectorRevoker // nil: no Revoker

	file       string
	expect     string
	keys       [][]byte
	name       string
	now        time.Time
	purpose    string
	maxDecoded int
	keyIndex   int
	compressed bool
	payload    []byte
	comment    string
	value      string
}

var expectations = map[string]error{
	"success":   nil,
	"invalid":   cookiesession.ErrInvalid,
	"expired":   cookiesession.ErrExpired,
	"too-large": cookiesession.ErrTooLarge,

	// Session vectors only.
	"ambiguous":        cookiesession.ErrAmbiguous,
	"overflow-missing": store.ErrOverflowMissing,
	"revoked":          cookiesession.ErrRevoked,
}

// vectorRevoker is the Revoker of a session vector: it holds, for any
// subject and provider session, the revocations of its revocations
// header, and no revoked ID.
type vectorRevoker struct{ held store.Revocations }

func (r *vectorRevoker) Revocations(context.Context, string, string, string) (store.Revocations, error) {
	return r.held, nil
}
func (r *vectorRevoker) Generation() uint64 {
	return max(r.held.Subject, r.held.ProviderSession, r.held.All)
}
func (r *vectorRevoker) RevokeID(context.Context, string, time.Time) error {
	return errors.New("vector: read only")
}
func (r *vectorRevoker) RevokeSubject(context.Context, string, time.Time) error {
	return errors.New("vector: read only")
}
func (r *vectorRevoker) RevokeAll(context.Context, time.Time) error {
	return errors.New("vector: read only")
}
func (r *vectorRevoker) RevokeProviderSession(context.Context, string, time.Time) error {
	return errors.New("vector: read only")
}

// parseRevocations reads a revocations header: "scope=generation"
// separated by spaces, each scope (subject, provider-session, all) at
// most once, each generation a positive decimal.
func parseRevocations(val string) (*vectorRevoker, error) {
	r := &vectorRevoker{}
	for _, f := range strings.Split(val, " ") {
		scope, num, ok := strings.Cut(f, "=")
		g, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil || g == 0 {
			return nil, fmt.Errorf("%q is not scope=generation", f)
		}
		var dst *uint64
		switch scope {
		case "subject":
			dst = &r.held.Subject
		case "provider-session":
			dst = &r.held.ProviderSession
		case "all":
			dst = &r.held.All
		default:
			return nil, fmt.Errorf("unknown scope %q", scope)
		}
		if *dst != 0 {
			return nil, fmt.Errorf("scope %q repeated", scope)
		}
		*dst = g
	}
	return r, nil
}

// vectorStore is the Overflow store of a session vector: what its store
// header holds.
type vectorStore map[string][]byte

func (s vectorStore) Put(_ context.Context, key string, value []byte, _ time.Time) error {
	s[key] = value
	return nil
}

func (s vectorStore) Get(_ context.Context, key string) ([]byte, error) {
	if v, ok := s[key]; ok {
		return v, nil
	}
	return nil, store.ErrOverflowMissing
}

func (s vectorStore) Delete(_ context.Context, key string) error {
	delete(s, key)
	return nil
}

// parseVector parses a vector file strictly: known header keys only, each
// at most once, required ones present, "key: value" with one space, a blank
// line, then the value and one final newline.
func parseVector(file string, data []byte) (*vector, error) {
	v := &vector{file: file, open: "codec"}
	header, body, ok := bytes.Cut(data, []byte("\n\n"))
	if !ok {
		return nil, errors.New("no blank line after the header")
	}
	if !bytes.HasSuffix(body, []byte("\n")) {
		return nil, errors.New("the value does not end with a newline")
	}
	v.value = string(body[:len(body)-1])
	seen := map[string]bool{}
	for _, line := range strings.Split(string(header), "\n") {
		k, val, ok := strings.Cut(line, ": ")
		if !ok || k == "" || val == "" || strings.TrimSpace(val) != val {
			return nil, fmt.Errorf("malformed header line %q", line)
		}
		if seen[k] {
			return nil, fmt.Errorf("header %q repeated", k)
		}
		seen[k] = true
		var err error
		switch k {
		case "expect":
			if _, ok := expectations[val]; !ok {
				return nil, fmt.Errorf("unknown expectation %q", val)
			}
			v.expect = val
		case "key":
			for _, s := range strings.Split(val, ",") {
				var k []byte
				k, err = base64.RawURLEncoding.Strict().DecodeString(s)
				if err != nil {
					break
				}
				v.keys = append(v.keys, k)
			}
		case "name":
			v.name = val
		case "now":
			v.now, err = time.Parse(time.RFC3339Nano, val)
		case "purpose":
			v.purpose = val
		case "max-decoded-size":
			v.maxDecoded, err = strconv.Atoi(val)
			if err == nil && v.maxDecoded <= 0 {
				err = errors.New("not positive")
			}
		case "key-index":
			v.keyIndex, err = strconv.Atoi(val)
			if err == nil && v.keyIndex < 0 {
				err = errors.New("negative")
			}
		case "compressed":
			v.compressed, err = strconv.ParseBool(val)
			if val != "true" && val != "false" {
				err = errors.New("not true or false")
			}
		case "payload":
			if !json.Valid([]byte(val)) {
				err = errors.New("not JSON")
			}
			v.payload = []byte(val)
		case "comment":
			v.comment = val
		case "open":
			if val != "session" {
				err = errors.New("not session")
			}
			v.open = val
		case "cookie-size", "max-chunks":
			var n int
			n, err = strconv.Atoi(val)
			if err == nil && n <= 0 {
				err = errors.New("not positive")
			}
			if k == "cookie-size" {
				v.cookieSize = n
			} else {
				v.maxChunks = n
			}
		case "store":
			key, value, ok := strings.Cut(val, " ")
			var b []byte
			if _, err = base64.RawURLEncoding.Strict().DecodeString(key); err == nil && ok {
				b, err = base64.RawURLEncoding.Strict().DecodeString(value)
			} else if err == nil {
				err = errors.New(`not "key value"`)
			}
			v.store = vectorStore{key: b}
		case "id":
			if b, e := base64.RawURLEncoding.Strict().DecodeString(val); e != nil || len(b) != 16 {
				err = errors.New("not 16 bytes in base64url")
			}
			v.id = val
		case "subject":
			v.subject = val
		case "provider-session":
			v.provider = val
		case "binding":
			v.binding, err = base64.RawURLEncoding.Strict().DecodeString(val)
			if err == nil && len(v.binding) == 0 {
				err = errors.New("empty")
			}
		case "expires-at":
			v.expiresAt, err = time.Parse(time.RFC3339Nano, val)
		case "generation":
			v.generation, err = strconv.ParseUint(val, 10, 64)
			if err == nil && (v.generation == 0 || strconv.FormatUint(v.generation, 10) != val) {
				err = errors.New("not a positive canonical decimal")
			}
		case "revocations":
			v.revoker, err = parseRevocations(val)
		default:
			return nil, fmt.Errorf("unknown header %q", k)
		}
		if err != nil {
			return nil, fmt.Errorf("header %q: %w", k, err)
		}
	}
	for _, k := range []string{"expect", "key", "name", "now"} {
		if !seen[k] {
			return nil, fmt.Errorf("header %q missing", k)
		}
	}
	success, session := v.expect == "success", v.open == "session"
	for k, when := range map[string]bool{
		"key-index":  success && !session,
		"compressed": success && !session,
		"payload":    success,
		"id":         success && session,
		"expires-at": success && session,
	} {
		if seen[k] != when {
			return nil, fmt.Errorf("header %q must appear exactly when expect is success (and, for id and expires-at, open is session; for key-index and compressed, it is not)", k)
		}
	}
	for _, k := range []string{"cookie-size", "max-chunks", "store", "subject", "provider-session", "binding", "generation", "revocations"} {
		if seen[k] && !session {
			return nil, fmt.Errorf("header %q only with open: session", k)
		}
	}
	if (seen["subject"] || seen["provider-session"] || seen["generation"]) && !success || seen["purpose"] && session {
		return nil, errors.New("subject, provider-session and generation only on success, purpose only for a codec")
	}
	if (v.expect == "ambiguous" || v.expect == "overflow-missing" || v.expect == "revoked") && !session {
		return nil, fmt.Errorf("expect %s only with open: session", v.expect)
	}
	return v, nil
}

// loadVectors reads and parses every vector, failing on an empty folder or
// a malformed file.
func loadVectors(tb testing.TB) []*vector {
	tb.Helper()
	dir := filepath.Join("testdata", "vectors")
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	var vs []*vector
	for _, e := range entries {
		if e.Name() == "README.md" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		v, err := parseVector(e.Name(), data)
		if err != nil {
			tb.Fatalf("%s: %v", e.Name(), err)
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		tb.Fatalf("no vectors in %s", dir)
	}
	return vs
}

// codec builds the codec a vector is opened with.
func (v *vector) codec() (*cookiesession.Codec, error) {
	return codecWith(cookiesession.CodecOptions{
		Purpose:     v.purpose,
		SealOptions: cookiesession.SealOptions{MaxDecodedSize: v.maxDecoded, Now: func() time.Time { return v.now }},
	}, v.keys...)
}

// keyIDOf returns the key id that values sealed with secret carry (0 if
// secret does not make a codec).
func keyIDOf(secret []byte) uint32 {
	c, err := cookiesession.NewCodec(secret)
	if err != nil {
		return 0
	}
	s, err := c.Encode("k", 1)
	if err != nil {
		return 0
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(raw) < offKeyID+4 {
		return 0
	}
	return binary.BigEndian.Uint32(raw[offKeyID:])
}

// check opens the vector's value and compares the outcome with its
// expectation.
func (v *vector) check() error {
	if v.open == "session" {
		return v.checkSession()
	}
	c, err := v.codec()
	if err != nil {
		return err
	}
	var got json.RawMessage
	meta, err := c.DecodeMeta(v.name, v.value, &got)
	want := expectations[v.expect]
	if want == nil {
		switch {
		case err != nil:
			return fmt.Errorf("want success, got %w", err)
		case !bytes.Equal(got, v.payload):
			return fmt.Errorf("payload %s, want %s", got, v.payload)
		case meta.KeyIndex != v.keyIndex:
			return fmt.Errorf("key index %d, want %d", meta.KeyIndex, v.keyIndex)
		case meta.Compressed != v.compressed:
			return fmt.Errorf("compressed %v, want %v", meta.Compressed, v.compressed)
		case meta.KeyID != keyIDOf(v.keys[v.keyIndex]) || meta.Version != 1 || meta.Chunks != 1 || meta.Size != len(v.value):
			return fmt.Errorf("meta %+v", meta)
		}
		return nil
	}
	if !errors.Is(err, want) {
		return fmt.Errorf("want %v, got %v", want, err)
	}
	if got != nil {
		return fmt.Errorf("dst written on error: %s", got)
	}
	return v.checkOnly(err)
}

// checkOnly reports an error that matches another expectation than the
// vector's too.
func (v *vector) checkOnly(err error) error {
	for other, e := range expectations {
		if e != nil && other != v.expect && errors.Is(err, e) {
			return fmt.Errorf("error %v also matches %s", err, other)
		}
	}
	return nil
}

// checkSession reads the vector's Cookie header line with a Manager built
// from its header, and compares the session with its expectation.
func (v *vector) checkSession() error {
	o := cookiesession.Options{
		Keys:        v.keys,
		Name:        v.name,
		Limits:      cookiesession.Limits{CookieSize: v.cookieSize, MaxChunks: v.maxChunks},
		SealOptions: cookiesession.SealOptions{MaxDecodedSize: v.maxDecoded, Now: func() time.Time { return v.now }},
		Logger:      slog.New(slog.DiscardHandler),
	}
	if v.store != nil {
		o.Overflow = v.store
	}
	if v.revoker != nil {
		o.Revoker = v.revoker
	}
	if v.binding != nil {
		o.Binding = testkit.CheckBinding(func(_ *http.Request, _ string, binding []byte) error {
			if !bytes.Equal(binding, v.binding) {
				return errors.New("vector: bound to another device")
			}
			return nil
		})
	}
	m, err := cookiesession.New[json.RawMessage](o)
	if err != nil {
		return err
	}
	r := httptest.NewRequest("GET", "https://example.com/", nil)
	r.Header.Set("Cookie", v.value)
	s, err := m.Load(r)
	if want := expectations[v.expect]; want != nil {
		switch {
		case !errors.Is(err, want):
			return fmt.Errorf("want %v, got %v", want, err)
		case !s.IsNew():
			return errors.New("a session opened on error")
		}
		return v.checkOnly(err)
	}
	switch {
	case err != nil:
		return fmt.Errorf("want success, got %w", err)
	case s.IsNew():
		return errors.New("a new session, no error")
	case !bytes.Equal(*s.Data, v.payload):
		return fmt.Errorf("payload %s, want %s", *s.Data, v.payload)
	case s.ID() != v.id:
		return fmt.Errorf("ID %s, want %s", s.ID(), v.id)
	case s.Subject() != v.subject:
		return fmt.Errorf("subject %q, want %q", s.Subject(), v.subject)
	case s.ProviderSession() != v.provider:
		return fmt.Errorf("provider session %q, want %q", s.ProviderSession(), v.provider)
	case !bytes.Equal(s.Binding(), v.binding):
		return fmt.Errorf("binding %x, want %x", s.Binding(), v.binding)
	case !s.ExpiresAt().Equal(v.expiresAt):
		return fmt.Errorf("expires at %v, want %v", s.ExpiresAt(), v.expiresAt)
	case cookiesession.SessionGeneration(s) != v.generation:
		return fmt.Errorf("generation %d, want %d", cookiesession.SessionGeneration(s), v.generation)
	}
	return nil
}

func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	count := map[string]int{}
	for _, v := range vs {
		count[v.expect]++
		t.Run(v.file, func(t *testing.T) {
			if err := v.check(); err != nil {
				t.Errorf("%v (%s)", err, v.comment)
			}
		})
	}
	for e := range expectations {
		if count[e] == 0 {
			t.Errorf("no vector expects %s", e)
		}
	}
}

// TestVectorParserStrict checks that the parser rejects malformed files, so
// that a typo in a vector cannot silently weaken it.
func TestVectorParserStrict(t *testing.T) {
	good := "expect: invalid\nkey: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\nname: session\nnow: 2026-01-01T01:00:00Z\n\nAAAA\n"
	if _, err := parseVector("good", []byte(good)); err != nil {
		t.Fatalf("good vector rejected: %v", err)
	}
	success := "expect: success\nkey: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\nname: session\nnow: 2026-01-01T01:00:00Z\nkey-index: 0\ncompressed: false\npayload: {}\n\nAAAA\n"
	if _, err := parseVector("success", []byte(success)); err != nil {
		t.Fatalf("good success vector rejected: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown key":            strings.Replace(good, "name: session\n", "name: session\ncolour: blue\n", 1),
		"unknown expectation":    strings.Replace(good, "expect: invalid", "expect: fail", 1),
		"repeated key":           strings.Replace(good, "name: session\n", "name: session\nname: other\n", 1),
		"missing now":            strings.Replace(good, "now: 2026-01-01T01:00:00Z\n", "", 1),
		"missing expect":         strings.Replace(good, "expect: invalid\n", "", 1),
		"no space":               strings.Replace(good, "name: session", "name:session", 1),
		"two spaces":             strings.Replace(good, "name: session", "name:  session", 1),
		"empty value":            strings.Replace(good, "name: session", "name: ", 1),
		"bad time":               strings.Replace(good, "2026-01-01T01:00:00Z", "2026-01-01 01:00", 1),
		"padded key":             strings.Replace(good, "Hh8", "Hh8=", 1),
		"no blank line":          strings.Replace(good, "\n\n", "\n", 1),
		"no final newline":       strings.TrimSuffix(good, "\n"),
		"payload on failure":     strings.Replace(good, "name: session\n", "name: session\npayload: {}\n", 1),
		"success no payload":     strings.Replace(success, "payload: {}\n", "", 1),
		"success bad payload":    strings.Replace(success, "payload: {}", "payload: {", 1),
		"bad bool":               strings.Replace(success, "compressed: false", "compressed: no", 1),
		"bad index":              strings.Replace(success, "key-index: 0", "key-index: -1", 1),
		"bad size":               strings.Replace(good, "name: session\n", "name: session\nmax-decoded-size: 0\n", 1),
		"generation on failure":  strings.Replace(good, "name: session\n", "name: session\nopen: session\ngeneration: 5\n", 1),
		"revocations of a codec": strings.Replace(good, "name: session\n", "name: session\nrevocations: all=1\n", 1),
		"revoked for a codec":    strings.Replace(good, "expect: invalid", "expect: revoked", 1),
	} {
		if _, err := parseVector(name, []byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	session := strings.Replace(good, "name: session\n", "name: session\nopen: session\n", 1)
	if _, err := parseVector("session", []byte(strings.Replace(session, "open: session\n", "open: session\nrevocations: subject=2 all=1\n", 1))); err != nil {
		t.Fatalf("good revocations rejected: %v", err)
	}
	for _, bad := range []string{"subject=0", "subject=-1", "nobody=1", "subject=1 subject=2", "subject", "all=01x", "all=1  subject=2"} {
		if _, err := parseVector(bad, []byte(strings.Replace(session, "open: session\n", "open: session\nrevocations: "+bad+"\n", 1))); err == nil {
			t.Errorf("revocations %q: accepted", bad)
		}
	}
}
