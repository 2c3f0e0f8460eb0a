package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/cookiesession/cookiesession/store"
)

const inspectUsage = `usage: cookiesession inspect [flags] [header ...]

Opens a session cookie and prints the session data as JSON with its
metadata: session ID, key id, format, creation and seal times, sealed
expiry, absolute and idle deadlines, and the cookies with their sizes.

The input, from the arguments or else standard input, is any of:
  a Cookie header:      Cookie: session=...; session.1=...
  Set-Cookie lines:     Set-Cookie: session=...; Path=/; HttpOnly
                        (deletions, with an empty value or Max-Age=0,
                        are skipped)
  name=value pairs:     session=...; session.1=...
  a bare value:         the value of the base cookie (one chunk only)
Other header lines (as in a dumped request or response) are ignored.
Quotes pasted around the input, a line, a value or the keys are removed.

The keys come from -keys-file, -keys or COOKIESESSION_KEYS, in the form
cookiesession keygen prints; prefer the file or the environment to -keys,
which other users of the machine can see. -name, -max-age, -idle-timeout
and the limit flags must match the application's Options. Without them
inspect assumes the defaults and says so (the "assumed" line, or
"assumed" in -json): the name a default application uses, __Host-session
when the input carries it and session otherwise; a 30-day -max-age; no
idle timeout. Where the cookie's sealed expiry contradicts the deadlines
they give, a note says so and which flag to pass.

The data is printed as the application serialized it: indented when it
is JSON (the default Serializer), as a quoted string otherwise.
Nothing printed, output or error, contains a key.

A session too large for its cookies lives in the application's overflow
store (Options.Overflow) and its cookie is a small sealed reference:
inspect says so, and without -redis prints only what the cookie holds
(its key id, times and size; status "reference"). With -redis host:port
(the application's redisstore, the password in the
COOKIESESSION_REDIS_PASSWORD environment variable, -redis-prefix its
KeyPrefix), it fetches the stored value, opens it with the reference's
key and prints the session, and it says whether the session is revoked.

Examples:
  cookiesession inspect 'Cookie: session=AQ...; session.1=...'
  cookiesession inspect -json -keys-file keys.txt < response-headers.txt
  cookiesession inspect -allow-expired -idle-timeout 30m -name __Host-sid
  cookiesession inspect -redis 10.0.0.5:6379 'Cookie: session=AQ...'

Exit status: 0 the session opened and was printed (with -allow-expired,
also an expired one, marked EXPIRED; with -redis, also a revoked one,
marked REVOKED; without -redis, also a reference, whose session is not
printed); 1 no session cookie in the input, or one
that does not open (tampered, another key, expired, over a limit,
ambiguous, its stored value gone or changed, the store unreachable),
said in one line on standard error; 2 bad flags, missing or malformed
keys, unreadable input.
`

func runInspect(e *env, args []string) int {
	fs := newFlags("inspect", inspectUsage)
	var (
		name         = fs.String("name", inspect.DefaultName, "the session's cookie name (Options.Name); not given: "+inspect.DefaultHostName+" when the input carries it, else")
		keysFlag     = fs.String("keys", "", "comma-separated keys, as COOKIESESSION_KEYS holds them (visible to other users: prefer the variable or -keys-file)")
		keysFile     = fs.String("keys-file", "", "read the comma-separated keys from `file`")
		maxAge       = fs.Duration("max-age", inspect.DefaultMaxAge, "the application's Options.MaxAge")
		idleTimeout  = fs.Duration("idle-timeout", 0, "the application's Options.IdleTimeout (0: none)")
		limits       = addLimitFlags(fs)
		allowExpired = fs.Bool("allow-expired", false, "print an expired session, marked EXPIRED, instead of failing")
		jsonOut      = fs.Bool("json", false, "print one JSON object")
		rf           = addRedisFlags(fs, "open a session in the overflow store, and check revocation, on the application's Redis at `address` (host:port)")
	)
	args, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	cmd := fs.Name()

	keys, err := loadKeys(*keysFlag, *keysFile, isSet(fs, "keys"))
	if err != nil {
		return usageErr(e, cmd, "%s", msg(err))
	}
	var text string
	if len(args) > 0 {
		text = strings.Join(args, "\n")
	} else {
		if e.stdinIsTTY {
			return usageErr(e, cmd, "no input: pass the Cookie header or Set-Cookie lines as an argument or on standard input")
		}
		b, err := readInput(e.stdin)
		if err != nil {
			return usageErr(e, cmd, "reading standard input: %v", err)
		}
		text = string(b)
	}
	if !isSet(fs, "name") {
		*name = defaultNameIn(text)
	}
	asm := assumedSettings(fs, *name, *maxAge)
	opts := cookiesession.Options{
		Name:        *name,
		Keys:        keys,
		MaxAge:      *maxAge,
		IdleTimeout: *idleTimeout,
		Limits:      limits.limits(),
		SealOptions: cookiesession.SealOptions{MaxDecodedSize: *limits.maxDecoded},
	}
	m, err := cookiesession.New[json.RawMessage](opts)
	if err != nil {
		return usageErr(e, cmd, "%s", msg(err))
	}

	pairs := parseCookieInput(text, m.Name())
	h := http.Header{}
	if len(pairs) > 0 {
		parts := make([]string, len(pairs))
		for i, p := range pairs {
			parts[i] = p.name + "=" + p.value
		}
		h.Set("Cookie", strings.Join(parts, "; "))
	}

	ring, err := inspect.KeyIDs(keys...)
	if err != nil {
		return fail(e, exitUsage, cmd, "%v", err)
	}
	in, err := m.Inspect(h, *allowExpired)
	if err != nil {
		return fail(e, exitNo, cmd, "%s", explain(err, m, h, pairs, ring, *idleTimeout, asm))
	}
	var store *storeCheck
	if *rf.addr != "" {
		// The cookie opened with the keys; the same inspection with a Manager
		// whose Overflow and Revoker are the application's store opens
		// the stored value, and Load applies the revocation rule.
		st, err := rf.open(0)
		if err != nil {
			return fail(e, exitUsage, cmd, "%s", err)
		}
		defer st.Close()
		opts.Overflow, opts.Revoker = st, st
		ms, err := cookiesession.New[json.RawMessage](opts)
		if err != nil {
			return usageErr(e, cmd, "%s", msg(err))
		}
		if in.Meta.Reference {
			if in, err = ms.Inspect(h, *allowExpired); err != nil {
				return fail(e, exitNo, cmd, "%s", explainStored(err, *rf.addr))
			}
		}
		store = &storeCheck{addr: *rf.addr}
		if !in.Expired {
			_, err := ms.Load(&http.Request{Header: h})
			store.revoked = errors.Is(err, cookiesession.ErrRevoked)
			store.checked = true
		}
	}

	now := time.Now()
	rep := newInspectReport(m.Name(), in, now, *idleTimeout, len(keys))
	rep.assume(asm)
	rep.setStore(store, *rf.prefix)
	if *jsonOut {
		out, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fail(e, exitUsage, cmd, "%v", err)
		}
		fmt.Fprintf(e.stdout, "%s\n", out)
		return exitOK
	}
	rep.writeText(e, now)
	return exitOK
}

// isSet reports whether the flag called name was given.
func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// loadKeys reads the keys from -keys-file, -keys or the environment, in
// that order. Its errors never contain a key.
func loadKeys(list, file string, listSet bool) ([][]byte, error) {
	switch {
	case file != "" && listSet:
		return nil, errors.New("both -keys and -keys-file given")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading -keys-file: %w", err)
		}
		keys, err := parseKeys(string(b))
		if err != nil {
			return nil, fmt.Errorf("%w (from -keys-file)", err)
		}
		return keys, nil
	case listSet:
		keys, err := parseKeys(list)
		if err != nil {
			return nil, fmt.Errorf("%w (from -keys)", err)
		}
		return keys, nil
	}
	env, ok := os.LookupEnv(keyring.Env)
	if !ok {
		return nil, fmt.Errorf("no keys: set %s or pass -keys-file", keyring.Env)
	}
	keys, err := parseKeys(env)
	if err != nil {
		return nil, fmt.Errorf("%w (from %s)", err, keyring.Env)
	}
	return keys, nil
}

// parseKeys is keyring.Parse after removing quotes around the
// list and around each key (see unquote), as an env file or a shell leaves
// them. Its errors name positions, never keys.
func parseKeys(list string) ([][]byte, error) {
	if u, ok := unquote(list); ok && !strings.ContainsAny(u, `"'`) {
		list = u // "k1,k2"; but not 'k1','k2', whose quotes are each key's
	}
	fields := strings.Split(list, ",")
	for i, f := range fields {
		fields[i], _ = unquote(f)
	}
	keys, err := keyring.Parse(strings.Join(fields, ","))
	if err != nil && strings.ContainsAny(list, `"'`) {
		return nil, fmt.Errorf("%w; the keys hold quote characters: remove them", err)
	}
	return keys, err
}

// cookiePair is one cookie of the input.
type cookiePair struct{ name, value string }

// parseCookieInput collects the cookies a browser would send from text:
// Cookie header lines, Set-Cookie lines (skipping deletions), bare
// name=value lists, or a bare value for the cookie called name. Other
// header lines are ignored. It never fails: what it cannot read it skips,
// and the caller reports a missing or unopenable cookie.
//
// Quotes around the whole input, around a line or around a value are
// removed (one level, see unquote): a header pasted in quotes is read as
// the header.
func parseCookieInput(text, name string) []cookiePair {
	var pairs []cookiePair
	text, _ = unquote(text)
	for line := range strings.Lines(text) {
		line, _ = unquote(line)
		if line == "" {
			continue
		}
		colon, eq := strings.IndexByte(line, ':'), strings.IndexByte(line, '=')
		if colon > 0 && (eq < 0 || colon < eq) && isToken(line[:colon]) {
			value := strings.TrimSpace(line[colon+1:])
			switch strings.ToLower(line[:colon]) {
			case "cookie":
				pairs = append(pairs, cookieList(value)...)
			case "set-cookie":
				if c, err := http.ParseSetCookie(value); err == nil && c.MaxAge >= 0 {
					if v, _ := unquote(c.Value); v != "" {
						pairs = append(pairs, cookiePair{c.Name, v})
					}
				}
			}
			continue
		}
		if !strings.ContainsAny(line, "=; \t") {
			pairs = append(pairs, cookiePair{name, line})
			continue
		}
		pairs = append(pairs, cookieList(line)...)
	}
	return pairs
}

// setCookieAttrs are attribute names that a Set-Cookie line pasted without
// its header name would otherwise add as cookies.
var setCookieAttrs = []string{"path", "domain", "expires", "max-age", "samesite", "secure", "httponly", "partitioned", "priority"}

// cookieList splits a "name=value; name=value" list, skipping empty values
// and cookie attributes, and unquotes the values.
func cookieList(s string) []cookiePair {
	var pairs []cookiePair
	for part := range strings.SplitSeq(s, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k = strings.TrimSpace(k)
		v, _ = unquote(v)
		if !ok || k == "" || v == "" || slices.Contains(setCookieAttrs, strings.ToLower(k)) {
			continue
		}
		pairs = append(pairs, cookiePair{k, v})
	}
	return pairs
}

// isToken reports whether s is an HTTP token (a header or cookie name).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// explain turns an inspection error into one line that says what is wrong
// and what to try. It reads the unauthenticated header of the base cookie
// (the format is documented: version, key id, flags, chunk count) to tell
// a wrong key from a missing chunk or a damaged value. It names key ids,
// never keys.
func explain(err error, m *cookiesession.Manager[json.RawMessage], h http.Header, pairs []cookiePair, ring []uint32, idle time.Duration, asm assumed) string {
	name := m.Name()
	switch {
	case errors.Is(err, cookiesession.ErrNoCookie):
		var seen []string
		for _, p := range pairs {
			if !slices.Contains(seen, p.name) {
				seen = append(seen, p.name)
			}
		}
		if len(seen) == 0 {
			return "no session: the input has no cookie"
		}
		return fmt.Sprintf("no session: no cookie named %q in the input (it has %s); set -name", name, strings.Join(quoteAll(seen), ", "))
	case errors.Is(err, cookiesession.ErrExpired):
		if in, err2 := m.Inspect(h, true); err2 == nil {
			now := time.Now()
			r := newInspectReport(name, in, now, idle, len(ring))
			if !r.Expired && r.Issued.After(now) {
				return fmt.Sprintf("the session was sealed at %s, %s in the future: the clock of the server that sealed it runs ahead of this one by more than the permitted skew (Options.ClockSkew, 1m by default)",
					fmtTime(r.Issued), fmtDur(r.Issued.Sub(now)))
			}
			at := r.deadline()
			why := fmt.Sprintf("the session expired at %s (%s, past its %s); pass -allow-expired to print it",
				fmtTime(at), rel(at, now), r.ExpiredBecause)
			if r.Expires.After(now) && r.ExpiredBecause != "sealed expiry" {
				// Expired only by the deadlines the flags give.
				why += fmt.Sprintf(". Its sealed expiry, %s, is later: the application's %s", rel(r.Expires, now), asm.longerHint())
			}
			return why
		}
		return "the session expired; pass -allow-expired to print it"
	case errors.Is(err, cookiesession.ErrTooLarge):
		// The library's advice (raise the limit in the options) is for
		// the application; here the flags must match it.
		text, _, _ := strings.Cut(msg(err), "; to allow more")
		return fmt.Sprintf("the session does not open: %s (if the application changed Options.Limits or MaxDecodedSize, pass the same -cookie-size, -max-chunks, -total-size or -max-decoded)", text)
	case errors.Is(err, cookiesession.ErrAmbiguous):
		return fmt.Sprintf("the session does not open: %s (the input holds more than one session)", msg(err))
	case errors.Is(err, cookiesession.ErrUnknownKey):
		// The library's message says what diagnose says, in less detail.
		return "the session does not open: " + diagnose(name, pairs, ring)
	case errors.Is(err, cookiesession.ErrInvalid):
		return "the session does not open: " + msg(err) + ": " + diagnose(name, pairs, ring)
	}
	return "the session does not open: " + msg(err)
}

// explainStored says why an authentic reference cookie did not open from
// the store at addr.
func explainStored(err error, addr string) string {
	switch {
	case errors.Is(err, store.ErrOverflowMissing):
		return fmt.Sprintf("the cookie is an authentic reference, and the store on %s no longer holds its session: expired, ended at logout or replaced by a later write of the same session", addr)
	case errors.Is(err, store.ErrOverflowUnavailable):
		return fmt.Sprintf("the cookie is an authentic reference, and the store on %s could not be read: %s", addr, msg(err))
	case errors.Is(err, cookiesession.ErrInvalid):
		return fmt.Sprintf("the cookie is an authentic reference, and the value the store on %s holds for it does not open: changed, or moved from another key or session (or -name differs from the application's)", addr)
	}
	return "the session in the store does not open: " + msg(err)
}

// diagnose looks at the cleartext header of the base cookie to say why a
// value did not open. The header is not authenticated: it tells what the
// value claims, which is what a person debugging needs.
func diagnose(name string, pairs []cookiePair, ring []uint32) string {
	var base string
	present := map[string]bool{}
	for _, p := range pairs {
		present[p.name] = true
		if p.name == name && base == "" {
			base = p.value
		}
	}
	if base == "" {
		return fmt.Sprintf("the input has chunk cookies but no base cookie %q", name)
	}
	if strings.ContainsAny(base, `"'`) {
		return "the value holds quote characters, which a sealed value never does: remove them"
	}
	hd, ok := inspect.PeekHeader(base)
	if !ok {
		return "the value is not base64url or too short: not a sealed session"
	}
	if hd.Version != 1 {
		return fmt.Sprintf("the value does not start with a known format version (found %d, expected 1): not a sealed session, or damaged", hd.Version)
	}
	id := hd.KeyID
	if !slices.Contains(ring, id) {
		ids := make([]string, len(ring))
		for i, k := range ring {
			ids[i] = fmt.Sprintf("%08x", k)
		}
		given := "the key given has id "
		if len(ids) > 1 {
			given = "the keys given have ids "
		}
		return fmt.Sprintf("it was sealed with another key: its header names key id %08x, and %s%s (a key removed from the ring, or another application's)", id, given, strings.Join(ids, ", "))
	}
	var missing []string
	for i := 1; i < hd.Chunks; i++ {
		if n := fmt.Sprintf("%s.%d", name, i); !present[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Sprintf("its header says it spans %d cookies, and the input lacks %s", hd.Chunks, strings.Join(quoteAll(missing), ", "))
	}
	return fmt.Sprintf("it names key id %08x, which is given, but does not authenticate: tampered, truncated, or sealed for another cookie name", id)
}

func quoteAll(s []string) []string {
	q := make([]string, len(s))
	for i, v := range s {
		q[i] = fmt.Sprintf("%q", v)
	}
	return q
}

// inspectReport is what inspect prints, in text or as JSON.
type inspectReport struct {
	Name              string          `json:"name"`
	Expired           bool            `json:"expired"`
	ExpiredBecause    string          `json:"expired_because,omitempty"`
	SessionID         string          `json:"session_id"`
	Subject           string          `json:"subject"`
	ProviderSession   string          `json:"provider_session,omitempty"`
	BoundBytes        int             `json:"bound_bytes,omitempty"`
	Reference         bool            `json:"reference"`
	Opened            bool            `json:"opened"`
	OverflowKey       string          `json:"overflow_key,omitempty"`
	Store             string          `json:"store,omitempty"`
	Revoked           *bool           `json:"revoked,omitempty"`
	KeyID             string          `json:"key_id"`
	KeyIndex          int             `json:"key_index"`
	Keys              int             `json:"keys_given"`
	FormatVersion     int             `json:"format_version"`
	Compressed        bool            `json:"compressed"`
	Created           time.Time       `json:"created,omitzero"`
	Issued            time.Time       `json:"issued"`
	Expires           time.Time       `json:"expires"`
	LifetimeSeconds   float64         `json:"lifetime_seconds,omitzero"`
	AbsoluteDeadline  time.Time       `json:"absolute_deadline,omitzero"`
	IdleDeadline      *time.Time      `json:"idle_deadline"`
	Chunks            int             `json:"chunks"`
	Cookies           []cookieSize    `json:"cookies"`
	TotalBytes        int             `json:"total_bytes"`
	CookieHeaderBytes int             `json:"cookie_header_bytes"`
	DataBytes         int             `json:"data_bytes"`
	DataNotJSON       bool            `json:"data_not_json,omitempty"`
	Data              json.RawMessage `json:"data"`

	// Assumed are the settings inspect assumed, flag by flag, for the
	// flags not given; Note says where the cookie contradicts them.
	Assumed map[string]string `json:"assumed,omitempty"`
	Note    string            `json:"note,omitempty"`
}

// storeCheck is what inspect learned from the application's Redis.
type storeCheck struct {
	addr             string
	checked, revoked bool // checked: the revocation rule ran (not for an expired session)
}

// setStore records the store inspect consulted (nil: none) and the Redis
// key of an overflowed session, under the application's prefix.
func (r *inspectReport) setStore(st *storeCheck, prefix string) {
	if r.OverflowKey != "" {
		r.OverflowKey = prefix + "ov:" + r.OverflowKey
	}
	if st == nil {
		return
	}
	r.Store = st.addr
	if st.checked {
		revoked := st.revoked
		r.Revoked = &revoked
	}
}

// cookieSize is one cookie and its size, name plus value, the measure
// browsers limit.
type cookieSize struct {
	Name  string `json:"name"`
	Bytes int    `json:"bytes"`
}

func newInspectReport(name string, in *inspect.Report, now time.Time, idle time.Duration, nkeys int) *inspectReport {
	r := &inspectReport{
		Name:            name,
		Expired:         in.Expired,
		SessionID:       in.ID,
		Subject:         in.Subject,
		ProviderSession: in.Provider,
		BoundBytes:      len(in.Binding),
		Reference:       in.Meta.Reference,
		Opened:          !in.Meta.Reference || in.Data != nil,
		KeyID:           fmt.Sprintf("%08x", in.Meta.KeyID),
		KeyIndex:        in.Meta.KeyIndex,
		Keys:            nkeys,
		FormatVersion:   in.Meta.Version,
		Compressed:      in.Meta.Compressed,
		Created:         in.Created.UTC(),
		Issued:          in.Meta.Issued.UTC(),
		Expires:         in.Meta.Expires.UTC(),
		Chunks:          in.Meta.Chunks,
		DataBytes:       len(in.Data),
	}
	if !r.Opened {
		// A reference read without its store: only the cookie is known.
		r.Expired = in.Expired
		if r.Expired {
			r.ExpiredBecause = "sealed expiry"
		}
		for _, c := range in.Cookies {
			r.Cookies = append(r.Cookies, cookieSize{c.Name, c.Size})
			r.TotalBytes += c.Size
		}
		r.CookieHeaderBytes = cookieHeaderLen(r.Cookies)
		r.Data = json.RawMessage("null")
		return r
	}
	r.LifetimeSeconds = in.Lifetime.Seconds()
	r.AbsoluteDeadline = in.AbsoluteDeadline.UTC()
	r.OverflowKey = in.OverflowKey
	if !in.IdleDeadline.IsZero() {
		t := in.IdleDeadline.UTC()
		r.IdleDeadline = &t
	}
	if in.Expired {
		switch {
		case !now.Before(r.AbsoluteDeadline):
			r.ExpiredBecause = "absolute deadline"
		case r.IdleDeadline != nil && !now.Before(*r.IdleDeadline):
			r.ExpiredBecause = "idle deadline"
		default:
			r.ExpiredBecause = "sealed expiry"
		}
	}
	for _, c := range in.Cookies {
		r.Cookies = append(r.Cookies, cookieSize{c.Name, c.Size})
		r.TotalBytes += c.Size
	}
	r.CookieHeaderBytes = cookieHeaderLen(r.Cookies)
	if json.Valid(in.Data) {
		r.Data = in.Data
	} else {
		r.DataNotJSON = true
		r.Data, _ = json.Marshal(string(in.Data))
	}
	return r
}

// cookieHeaderLen is the length of the Cookie header line carrying cs:
// "Cookie: a=1; b=2".
func cookieHeaderLen(cs []cookieSize) int {
	n := len("Cookie: ")
	for i, c := range cs {
		n += c.Bytes + 1 // name=value
		if i > 0 {
			n += 2 // "; "
		}
	}
	return n
}

func (r *inspectReport) writeText(e *env, now time.Time) {
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	status := "valid, expires " + rel(r.deadline(), now)
	if r.Expired {
		status = "EXPIRED: past its " + r.ExpiredBecause + " (" + rel(r.deadline(), now) + ")"
	}
	if !r.Opened {
		status = "reference to a session in the overflow store; pass -redis host:port to open it"
		if r.Expired {
			status += " (EXPIRED: past its sealed expiry)"
		}
	}
	if r.Revoked != nil && *r.Revoked {
		status = "REVOKED (on " + r.Store + "): the application refuses it; " + status
	}
	fmt.Fprintf(tw, "status\t%s\n", status)
	switch {
	case !r.Opened:
		fmt.Fprintf(tw, "storage\treference\t(the session, its ID and subject are in the overflow store)\n")
	case r.Reference:
		fmt.Fprintf(tw, "storage\treference\t(opened from %s, key %s)\n", r.Store, r.OverflowKey)
	default:
		fmt.Fprintf(tw, "storage\tin its cookies\n")
	}
	if r.Opened {
		fmt.Fprintf(tw, "session\t%s\t(session ID)\n", r.SessionID)
		subject := r.Subject
		if subject == "" {
			subject = "none"
		} else {
			subject = strconv.Quote(subject)
		}
		fmt.Fprintf(tw, "subject\t%s\n", subject)
		if r.ProviderSession != "" {
			fmt.Fprintf(tw, "provider session\t%s\t(Session.SetProviderSession)\n", strconv.Quote(r.ProviderSession))
		}
		if r.BoundBytes > 0 {
			fmt.Fprintf(tw, "bound\tto a device\t(a %d-byte binding; opens only with the device's proof)\n", r.BoundBytes)
		}
	}
	switch {
	case r.Revoked != nil && *r.Revoked:
		fmt.Fprintf(tw, "revoked\tyes\t(checked on %s)\n", r.Store)
	case r.Revoked != nil:
		fmt.Fprintf(tw, "revoked\tno\t(checked on %s)\n", r.Store)
	case r.Store != "":
		fmt.Fprintf(tw, "revoked\tnot checked\t(expired)\n")
	}
	role := "the primary"
	if r.KeyIndex > 0 {
		role = "not the primary: the application re-seals it with key 0 on its next response"
	}
	fmt.Fprintf(tw, "key\tid %s\t(key %d of the %d given, %s)\n", r.KeyID, r.KeyIndex, r.Keys, role)
	comp := "not compressed"
	if r.Compressed {
		comp = "compressed (deflate)"
	}
	fmt.Fprintf(tw, "format\tversion %d, %s\n", r.FormatVersion, comp)
	if r.Opened {
		fmt.Fprintf(tw, "created\t%s\t(%s)\n", fmtTime(r.Created), rel(r.Created, now))
	}
	fmt.Fprintf(tw, "issued\t%s\t(%s; last sealed)\n", fmtTime(r.Issued), fmtDur(r.Issued.Sub(now)))
	fmt.Fprintf(tw, "expires\t%s\t(%s; sealed expiry)\n", fmtTime(r.Expires), rel(r.Expires, now))
	if !r.Opened {
		r.writeCookies(e, tw)
		return
	}
	lifetime := time.Duration(r.LifetimeSeconds * float64(time.Second))
	fmt.Fprintf(tw, "absolute\t%s\t(%s; created + lifetime %s)\n", fmtTime(r.AbsoluteDeadline), rel(r.AbsoluteDeadline, now), fmtDur(lifetime))
	if r.IdleDeadline != nil {
		fmt.Fprintf(tw, "idle\t%s\t(%s; issued + -idle-timeout)\n", fmtTime(*r.IdleDeadline), rel(*r.IdleDeadline, now))
	} else {
		fmt.Fprintf(tw, "idle\tnone\t(no -idle-timeout given)\n")
	}
	if len(r.Assumed) > 0 {
		var flags []string
		for _, f := range assumedOrder {
			if v, ok := r.Assumed[f]; ok {
				flags = append(flags, "-"+f+" "+v)
			}
		}
		fmt.Fprintf(tw, "assumed\t%s\t(not given: the defaults, unless the application's Options differ)\n", strings.Join(flags, ", "))
	}
	if r.Note != "" {
		fmt.Fprintf(tw, "note\t%s\n", r.Note)
	}
	r.writeCookies(e, tw)
	if r.DataNotJSON {
		fmt.Fprintf(e.stdout, "data (%d bytes, not JSON; quoted):\n%s\n", r.DataBytes, r.Data)
		return
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, r.Data, "", "  "); err != nil {
		buf.Reset()
		buf.Write(r.Data)
	}
	fmt.Fprintf(e.stdout, "data (%d bytes of JSON):\n%s\n", r.DataBytes, buf.Bytes())
}

// writeCookies ends the table tw with the cookies and their sizes.
func (r *inspectReport) writeCookies(e *env, tw *tabwriter.Writer) {
	fmt.Fprintf(tw, "chunks\t%d\t(%d bytes in all, name+value; Cookie header line %d bytes)\n", r.Chunks, r.TotalBytes, r.CookieHeaderBytes)
	tw.Flush()
	tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for _, c := range r.Cookies {
		fmt.Fprintf(tw, "  %s\t%d bytes\n", c.Name, c.Bytes)
	}
	tw.Flush()
}

// deadline is when the session stops opening: the earliest of its sealed
// expiry, absolute deadline and idle deadline.
func (r *inspectReport) deadline() time.Time {
	t := r.Expires
	if !r.AbsoluteDeadline.IsZero() && r.AbsoluteDeadline.Before(t) {
		t = r.AbsoluteDeadline
	}
	if r.IdleDeadline != nil && r.IdleDeadline.Before(t) {
		t = *r.IdleDeadline
	}
	return t
}

// fmtTime prints t in UTC with the milliseconds the format seals.
func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// rel says how far t is from now: "in 3h5m", "2d4h ago".
func rel(t, now time.Time) string {
	d := t.Sub(now)
	if d >= 0 {
		return "in " + fmtDur(d)
	}
	return fmtDur(-d) + " ago"
}

// fmtDur prints d with its two largest units, from days to seconds:
// "29d23h", "5m3s", "0s".
func fmtDur(d time.Duration) string {
	d = d.Round(time.Second)
	units := []struct {
		n    time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}}
	var b strings.Builder
	shown := 0
	for _, u := range units {
		if q := d / u.n; q > 0 || shown > 0 {
			if q > 0 {
				fmt.Fprintf(&b, "%d%s", q, u.name)
			}
			d -= q * u.n
			if shown++; shown == 2 {
				break
			}
		}
	}
	if b.Len() == 0 {
		return "0s"
	}
	return b.String()
}
