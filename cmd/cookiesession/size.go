package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/cookiesession/cookiesession"
	"github.com/gorilla/securecookie"
)

const sizeUsage = `usage: cookiesession size [flags] [file]

Reads a JSON session payload from file (or standard input, also with
file "-") and prints what a session holding it costs on the wire:

  - sealed bytes: the base64url value a cookiesession.Manager writes for
    it (the data as encoding/json serializes it, a 32-byte session
    envelope, 63 bytes of header, nonce, times and tag);
  - the cookies it is split across and the bytes of each (name+value, the
    measure browsers limit), under the default budgets: 4000 bytes a
    cookie, 10 cookies, 6144 bytes in all;
  - the length of the Cookie header line the browser sends back;
  - whether it fits; all of it without and with compression
    (Options.Compress);
  - the same payload through gorilla/securecookie (JSON serializer,
    AES-256, HMAC-SHA256), which writes one cookie and refuses a value
    over 4096 bytes.

The compressed sizes vary by a few bytes from run to run: the random
session ID is compressed with the data.

Examples:
  cookiesession size session.json
  cookiesession size -json -compress < session.json

Exit status: 0 the payload fits the default budgets (judged with
compression when -compress is given); 1 it does not; 2 bad flags, an
unreadable file or input that is not JSON.
`

func runSize(e *env, args []string) int {
	fs := newFlags("size", sizeUsage)
	var (
		name     = fs.String("name", cookiesession.DefaultName, "the session's cookie name (Options.Name)")
		compress = fs.Bool("compress", false, "judge the fit (the exit status) with compression on, as with Options.Compress")
		jsonOut  = fs.Bool("json", false, "print one JSON object")
	)
	args, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	cmd := fs.Name()
	if len(args) > 1 {
		return usageErr(e, cmd, "more than one file given")
	}
	if _, err := cookiesession.New[json.RawMessage](cookiesession.Options{Name: *name, Keys: [][]byte{cookiesession.GenerateKey()}}); err != nil {
		return usageErr(e, cmd, "%s", msg(err))
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
		return usageErr(e, cmd, "the payload is not valid JSON")
	}
	serialized, err := json.Marshal(json.RawMessage(payload))
	if err != nil {
		return usageErr(e, cmd, "the payload is not valid JSON: %v", err)
	}

	rep := &sizeReport{
		Name:            *name,
		PayloadBytes:    len(payload),
		SerializedBytes: len(serialized),
		Budgets: budgets{
			CookieSize: cookiesession.DefaultCookieSize,
			MaxChunks:  cookiesession.DefaultMaxChunks,
			TotalSize:  cookiesession.DefaultTotalSize,
		},
	}
	if rep.Plain, err = sizeCookiesession(*name, payload, false); err == nil {
		rep.Compressed, err = sizeCookiesession(*name, payload, true)
	}
	if err != nil {
		return usageErr(e, cmd, "%s", msg(err))
	}
	rep.Securecookie = sizeSecurecookie(*name, payload)

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

// sizeCookiesession saves a session holding payload with a Manager, as an
// application would, first under the default budgets and, if it does not
// fit, under budgets wide enough to show what it would need. A random key
// seals it: the sizes do not depend on the key.
func sizeCookiesession(name string, payload []byte, compress bool) (layout, error) {
	var l layout
	save := func(limits cookiesession.Limits, maxDecoded int) (http.Header, error) {
		m, err := cookiesession.New[json.RawMessage](cookiesession.Options{
			Name: name, Keys: [][]byte{cookiesession.GenerateKey()}, Compress: compress,
			Limits: limits, MaxDecodedSize: maxDecoded,
		})
		if err != nil {
			return nil, err
		}
		r, _ := http.NewRequest("GET", "/", nil)
		s, _ := m.Load(r)
		*s.Data = json.RawMessage(payload)
		w := headerWriter{}
		if err := m.Save(w, r, s); err != nil {
			return nil, err
		}
		return http.Header(w), nil
	}
	h, err := save(cookiesession.Limits{}, 0)
	if err == nil {
		l.Fits = true
	} else {
		if !errors.Is(err, cookiesession.ErrTooLarge) {
			return l, err
		}
		l.Error = msg(err)
		h, err = save(cookiesession.Limits{MaxChunks: 255, TotalSize: 255 * cookiesession.DefaultCookieSize}, maxInput)
		if err != nil && !errors.Is(err, cookiesession.ErrTooLarge) {
			return l, err
		}
		if err != nil {
			l.Error += "; it would need more than 255 cookies"
			return l, nil
		}
	}
	resp := http.Response{Header: h}
	for _, c := range resp.Cookies() {
		l.Cookies = append(l.Cookies, cookieSize{c.Name, len(c.Name) + len(c.Value)})
		l.SealedBytes += len(c.Value)
		l.TotalBytes += len(c.Name) + len(c.Value)
	}
	l.CookieHeaderBytes = cookieHeaderLen(l.Cookies)
	l.Deflated = compress && compressedValue(resp.Cookies())
	return l, nil
}

// compressedValue reports whether the base cookie's header has the
// deflate flag.
func compressedValue(cs []*http.Cookie) bool {
	if len(cs) == 0 {
		return false
	}
	h, ok := peekHeader(cs[0].Value)
	return ok && h.flags&1 != 0
}

// sizeSecurecookie encodes payload with gorilla/securecookie, JSON
// serializer, AES-256 (a 32-byte block key) and HMAC-SHA256, without its
// length limit, and judges the result against that limit (4096 bytes of
// value, its default) as an application using it would meet it.
func sizeSecurecookie(name string, payload []byte) layout {
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
	fmt.Fprintf(e.stdout, "\nbudgets: cookiesession %d bytes a cookie, %d cookies, %d bytes in all (the defaults of Limits);\n", r.Budgets.CookieSize, r.Budgets.MaxChunks, r.Budgets.TotalSize)
	fmt.Fprintf(e.stdout, "         gorilla/securecookie one cookie, a value of at most 4096 bytes (its default).\n")
	for _, x := range rows {
		if x.l.Error != "" {
			fmt.Fprintf(e.stdout, "%s does not fit: %s\n", x.label, x.l.Error)
		}
	}
}
