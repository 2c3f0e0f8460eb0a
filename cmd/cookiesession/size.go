package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
	"github.com/cookiesession/cookiesession/keyring"
	"github.com/gorilla/securecookie"
)

const sizeUsage = `usage: cookiesession size [flags] [file]
       cookiesession size [limit flags] -chart out.svg

Reads a JSON session payload from file (or standard input, also with
file "-"; quotes pasted around it are removed) and prints what a session
holding it costs on the wire:

  - sealed bytes: the base64url value a cookiesession.Manager writes for
    it (the data as encoding/json serializes it, a 32-byte session
    envelope, 63 bytes of header, nonce, times and tag);
  - the cookies it is split across and the bytes of each (name+value, the
    measure browsers limit), under the default budgets (4000 bytes a
    cookie, 10 cookies, 6144 bytes in all) or those of the application,
    given with -cookie-size, -max-chunks, -total-size and -max-decoded
    as for inspect;
  - the length of the Cookie header line the browser sends back;
  - whether it fits; all of it without and with compression
    (Options.Compress);
  - the same payload through gorilla/securecookie (JSON serializer,
    AES-256, HMAC-SHA256), which writes one cookie and refuses a value
    over 4096 bytes.

The session is sealed by a Manager as an application's is, behind a
fixed session ID and creation time: compressed, a real session's size
varies by a few bytes around the one printed, because its random ID is
compressed with the data.

-chart draws, instead, an SVG chart of the cookie bytes and the number
of cookies against the session's JSON size, for the three, under the
budgets the flags give, from generated payloads: a shop session (a
user, a random CSRF token, a flash message) whose cart grows by one item
(a product title from word lists, SKU, quantity, price, time: about 110
bytes) a point, from a deterministic generator, until the compressed
session is over the budget. The same flags give the same file.

Examples:
  cookiesession size session.json
  cookiesession size -json -compress < session.json
  cookiesession size -total-size 12000 -max-chunks 4 session.json
  cookiesession size -chart size-chart.svg

Exit status: 0 the payload fits the budgets (judged with compression
when -compress is given), or the chart was written; 1 it does not fit;
2 bad flags, an unreadable file or input that is not JSON.
`

func runSize(e *env, args []string) int {
	fs := newFlags("size", sizeUsage)
	var (
		name     = fs.String("name", inspect.DefaultName, "the session's cookie name (Options.Name)")
		lf       = addLimitFlags(fs)
		compress = fs.Bool("compress", false, "judge the fit (the exit status) with compression on, as with Options.Compress")
		jsonOut  = fs.Bool("json", false, "print one JSON object")
		chart    = fs.String("chart", "", "draw an SVG chart of cookie bytes and cookies against session JSON size into `file` (\"-\": standard output) instead of reading a payload")
	)
	args, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	cmd := fs.Name()
	if len(args) > 1 {
		return usageErr(e, cmd, "more than one file given")
	}
	ms := measurer{name: *name, limits: lf.limits(), maxDecoded: *lf.maxDecoded}
	if _, err := cookiesession.New[json.RawMessage](ms.options(keyring.Generate(), false)); err != nil {
		return usageErr(e, cmd, "%s", msg(err))
	}
	if *chart != "" {
		if len(args) > 0 || *compress || *jsonOut {
			return usageErr(e, cmd, "-chart draws generated payloads: it takes no file, -json or -compress")
		}
		return writeChart(e, cmd, *chart, ms, lf.budgets())
	}
	var (
		payload []byte
		err     error
	)
	var file string
	if len(args) == 1 {
		file = args[0]
	}
	switch {
	case file != "" && file != "-":
		f, err2 := os.Open(file)
		if err2 != nil {
			return usageErr(e, cmd, "%v", err2)
		}
		payload, err = readInput(f)
		f.Close()
	case e.stdinIsTTY:
		return usageErr(e, cmd, "no input: pass a JSON file, or the JSON on standard input")
	default:
		payload, err = readInput(e.stdin)
	}
	if err != nil {
		return usageErr(e, cmd, "reading the payload: %v", err)
	}
	if !json.Valid(payload) {
		// JSON pasted in quotes ('{"a":1}'): read what is inside. A
		// document that is valid JSON as it is (a quoted JSON string)
		// stays as it is.
		u, quoted := unquote(string(payload))
		if !quoted || !json.Valid([]byte(u)) {
			return usageErr(e, cmd, "the payload is not valid JSON")
		}
		payload = []byte(u)
	}
	serialized, err := json.Marshal(json.RawMessage(payload))
	if err != nil {
		return usageErr(e, cmd, "the payload is not valid JSON: %v", err)
	}

	rep := &sizeReport{
		Name:            *name,
		PayloadBytes:    len(payload),
		SerializedBytes: len(serialized),
		Budgets:         lf.budgets(),
	}
	if rep.Plain, err = ms.cookiesession(payload, false); err == nil {
		rep.Compressed, err = ms.cookiesession(payload, true)
	}
	if err != nil {
		return usageErr(e, cmd, "%s", msg(err))
	}
	rep.Securecookie = ms.securecookie(payload)

	judged := rep.Plain
	if *compress {
		judged = rep.Compressed
	}
	if *jsonOut {
		out, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return fail(e, exitUsage, cmd, "%v", err)
		}
		fmt.Fprintf(e.stdout, "%s\n", out)
	} else {
		rep.writeText(e)
	}
	if !judged.Fits {
		return exitNo
	}
	return exitOK
}

// sizeReport is what size prints, in text or as JSON.
type sizeReport struct {
	Name            string  `json:"name"`
	PayloadBytes    int     `json:"payload_bytes"`    // as read
	SerializedBytes int     `json:"serialized_bytes"` // as encoding/json writes it: compact
	Budgets         budgets `json:"budgets"`
	Plain           layout  `json:"cookiesession"`
	Compressed      layout  `json:"cookiesession_compressed"`
	Securecookie    layout  `json:"securecookie"`
}

type budgets struct {
	CookieSize int `json:"cookie_size"`
	MaxChunks  int `json:"max_chunks"`
	TotalSize  int `json:"total_size"`
}

// layout is what one way of sealing the payload puts on the wire.
type layout struct {
	Deflated          bool         `json:"deflated"`     // compression was asked for and made it smaller
	SealedBytes       int          `json:"sealed_bytes"` // the encoded value, all chunks joined
	Cookies           []cookieSize `json:"cookies"`      // the cookies, name+value bytes; for a layout that does not fit, those it would need
	TotalBytes        int          `json:"total_bytes"`  // names plus values of all the cookies
	CookieHeaderBytes int          `json:"cookie_header_bytes"`
	Fits              bool         `json:"fits"`
	Error             string       `json:"error,omitempty"` // why it does not fit
}

// headerWriter is the least http.ResponseWriter that Manager.Save needs:
// it keeps the header and discards the rest.
type headerWriter http.Header

func (w headerWriter) Header() http.Header         { return http.Header(w) }
func (w headerWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w headerWriter) WriteHeader(int)             {}

// measurer seals payloads as an application's Manager does, under the
// application's cookie name and limits, to measure what they cost.
type measurer struct {
	name       string
	limits     cookiesession.Limits // zero fields: the defaults
	maxDecoded int                  // zero: the default
}

// sizeEpoch is the clock of the measuring Managers: a fixed time, so that
// the creation and seal times, which are sealed and (creation) compressed
// with the data, are the same in every run.
var sizeEpoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// fixedID is the session ID of every session measured. A real session ID
// is random, and, compressed with the data, makes the compressed size vary
// by a few bytes from session to session; measuring behind one fixed ID
// (random-looking bytes, which compress as badly as a random ID) makes the
// numbers and the chart repeat from run to run.
var fixedID = func() (id [16]byte) {
	sum := sha256.Sum256([]byte("cookiesession size: the session ID of every session measured"))
	copy(id[:], sum[:])
	return id
}()

// options are the Options of a measuring Manager sealing with key.
func (ms measurer) options(key []byte, compress bool) cookiesession.Options {
	return cookiesession.Options{
		Name: ms.name, Keys: [][]byte{key}, SealOptions: cookiesession.SealOptions{Compress: compress, MaxDecodedSize: ms.maxDecoded, Now: func() time.Time { return sizeEpoch }},
		Limits: ms.limits,
	}
}

// seeded returns a request carrying the cookie of an empty session
// (data "null") with fixedID, created at sizeEpoch, sealed with key for
// the cookie name: a Manager that loads it seals every payload behind the
// same session envelope. The envelope is the documented one (session ID,
// creation time, lifetime override; see the package doc's format section),
// sealed by the library's own CookieCodec.
func (ms measurer) seeded(key []byte) (*http.Request, error) {
	codec, err := cookiesession.NewCodec(key)
	if err != nil {
		return nil, err
	}
	codec, err = codec.WithOptions(cookiesession.CodecOptions{
		SealOptions: cookiesession.SealOptions{Serializer: rawSerializer{}, Now: func() time.Time { return sizeEpoch }},
	})
	if err != nil {
		return nil, err
	}
	cc, err := cookiesession.NewCookieCodec(codec, cookiesession.CookieOptions{Cookie: http.Cookie{Name: ms.name, Path: "/", Secure: true, HttpOnly: true}})
	if err != nil {
		return nil, err
	}
	envelope := make([]byte, 32, 36)
	copy(envelope, fixedID[:])
	binary.BigEndian.PutUint64(envelope[16:24], uint64(sizeEpoch.UnixMilli()))
	envelope = append(envelope, "null"...) // lifetime override 0, then the data
	r, _ := http.NewRequest("GET", "/", nil)
	w := headerWriter{}
	if _, err := cc.Write(w, r, envelope, 0); err != nil {
		return nil, err
	}
	for _, c := range (&http.Response{Header: http.Header(w)}).Cookies() {
		r.AddCookie(c)
	}
	return r, nil
}

// rawSerializer seals bytes as they are: seeded builds a session envelope
// with it.
type rawSerializer struct{}

func (rawSerializer) Marshal(v any) ([]byte, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("rawSerializer: %T is not []byte", v)
	}
	return b, nil
}

func (rawSerializer) Unmarshal(data []byte, v any) error {
	return errors.New("rawSerializer: not for reading")
}

// cookiesession saves a session holding payload with a Manager, as an
// application would, first under the measurer's limits and, if it does
// not fit, under limits wide enough to show what it would need. A random
// key seals it (the sizes do not depend on the key, nor on the random
// nonce, whose length is fixed); the session ID and times are fixed (see
// fixedID).
func (ms measurer) cookiesession(payload []byte, compress bool) (layout, error) {
	var l layout
	key := keyring.Generate()
	save := func(o cookiesession.Options) (http.Header, error) {
		m, err := cookiesession.New[json.RawMessage](o)
		if err != nil {
			return nil, err
		}
		r, err := ms.seeded(key)
		if err != nil {
			return nil, err
		}
		s, err := m.Load(r)
		if err != nil {
			return nil, fmt.Errorf("loading the measuring session: %w", err)
		}
		*s.Data = json.RawMessage(payload)
		s.Touch()
		w := headerWriter{}
		if err := m.Save(w, r, s); err != nil {
			return nil, err
		}
		return http.Header(w), nil
	}
	o := ms.options(key, compress)
	h, err := save(o)
	if err == nil {
		l.Fits = true
	} else {
		if !errors.Is(err, cookiesession.ErrTooLarge) {
			return l, err
		}
		l.Error = msg(err)
		cookieSize := o.Limits.CookieSize
		if cookieSize == 0 {
			cookieSize = inspect.DefaultCookieSize
		}
		o.Limits = cookiesession.Limits{CookieSize: cookieSize, MaxChunks: 255, TotalSize: 255 * cookieSize}
		o.MaxDecodedSize = maxInput
		h, err = save(o)
		if err != nil && !errors.Is(err, cookiesession.ErrTooLarge) {
			return l, err
		}
		if err != nil {
			l.Error += "; it would need more than 255 cookies"
			return l, nil
		}
	}
	resp := http.Response{Header: h}
	var set []*http.Cookie
	for _, c := range resp.Cookies() {
		if c.Value == "" || c.MaxAge < 0 {
			continue // a deletion, not part of the session
		}
		set = append(set, c)
		l.Cookies = append(l.Cookies, cookieSize{c.Name, len(c.Name) + len(c.Value)})
		l.SealedBytes += len(c.Value)
		l.TotalBytes += len(c.Name) + len(c.Value)
	}
	l.CookieHeaderBytes = cookieHeaderLen(l.Cookies)
	l.Deflated = compress && compressedValue(set)
	return l, nil
}

// compressedValue reports whether the base cookie's header has the
// deflate flag.
func compressedValue(cs []*http.Cookie) bool {
	if len(cs) == 0 {
		return false
	}
	h, ok := inspect.PeekHeader(cs[0].Value)
	return ok && h.Compressed
}

// securecookie encodes payload with gorilla/securecookie, JSON
// serializer, AES-256 (a 32-byte block key) and HMAC-SHA256, without its
// length limit, and judges the result against that limit (4096 bytes of
// value, its default) as an application using it would meet it.
func (ms measurer) securecookie(payload []byte) layout {
	name := ms.name
	const scMaxLength = 4096
	sc := securecookie.New(securecookie.GenerateRandomKey(64), securecookie.GenerateRandomKey(32)).
		SetSerializer(securecookie.JSONEncoder{}).MaxLength(0)
	v, err := sc.Encode(name, json.RawMessage(payload))
	if err != nil {
		return layout{Error: err.Error()}
	}
	l := layout{SealedBytes: len(v), Cookies: []cookieSize{{name, len(name) + len(v)}}, TotalBytes: len(name) + len(v)}
	l.CookieHeaderBytes = cookieHeaderLen(l.Cookies)
	l.Fits = len(v) <= scMaxLength
	if !l.Fits {
		l.Error = fmt.Sprintf("securecookie: the value is too long: %d, over its limit of %d", len(v), scMaxLength)
	}
	return l
}

func (r *sizeReport) writeText(e *env) {
	fmt.Fprintf(e.stdout, "payload  %d bytes of JSON, %d as encoding/json serializes it\n\n", r.PayloadBytes, r.SerializedBytes)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	compLabel := "cookiesession, compressed"
	if len(r.Compressed.Cookies) > 0 && !r.Compressed.Deflated {
		compLabel += " (no gain: stored)"
	}
	rows := []struct {
		label string
		l     layout
	}{{"cookiesession", r.Plain}, {compLabel, r.Compressed}, {"gorilla/securecookie", r.Securecookie}}
	width := 0
	for _, x := range rows {
		width = max(width, len(x.label))
	}
	fmt.Fprintf(tw, "%-*s\tsealed\tcookies\tbytes per cookie\tCookie header\tfits\t\n", width, "")
	for _, x := range rows {
		l := x.l
		if len(l.Cookies) == 0 {
			fmt.Fprintf(tw, "%-*s\t-\t-\t-\t-\tno\t\n", width, x.label)
			continue
		}
		per := make([]string, len(l.Cookies))
		for i, c := range l.Cookies {
			per[i] = fmt.Sprint(c.Bytes)
		}
		fits := "yes"
		if !l.Fits {
			fits = "no"
		}
		fmt.Fprintf(tw, "%-*s\t%d\t%d\t%s\t%d\t%s\t\n", width, x.label, l.SealedBytes, len(l.Cookies), strings.Join(per, "+"), l.CookieHeaderBytes, fits)
	}
	tw.Flush()
	from := "the defaults of Limits"
	if r.Budgets != (budgets{inspect.DefaultCookieSize, inspect.DefaultMaxChunks, inspect.DefaultTotalSize}) {
		from = "from the flags"
	}
	fmt.Fprintf(e.stdout, "\nbudgets: cookiesession %d bytes a cookie, %d cookies, %d bytes in all (%s);\n", r.Budgets.CookieSize, r.Budgets.MaxChunks, r.Budgets.TotalSize, from)
	fmt.Fprintf(e.stdout, "         gorilla/securecookie one cookie, a value of at most 4096 bytes (its default).\n")
	for _, x := range rows {
		if x.l.Error != "" {
			fmt.Fprintf(e.stdout, "%s does not fit: %s\n", x.label, x.l.Error)
		}
	}
}
