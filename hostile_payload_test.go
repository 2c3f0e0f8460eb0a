package cookiesession

import (
	"strings"
	"testing"
)

func payloadCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// Hostile but authentic payloads.
	nested := func(depth int) []byte {
		return []byte(`{"user":"x","extra":` + strings.Repeat("[", depth) + strings.Repeat("]", depth) + `}`)
	}
	payload := func(name string, data []byte, compress bool, want error) hostileCase {
		return hostileCase{
			name: "payload/" + name, want: want, fresh: want != nil, size: want == ErrTooLarge,
			setup: func(e *hEnv) []string {
				if compress {
					frame := e.forgedFrame(data)
					return []string{e.line(e.forge(forgery{payload: deflate(e.t, frame), flags: flagCompressed}))}
				}
				return []string{e.line(e.forge(forgery{data: data}))}
			},
		}
	}
	add(
		payload("json-nested-30000-deep", nested(30000), true, ErrInvalid),
		payload("json-nested-1000-deep-in-an-unknown-field", nested(1000), true, nil),
		payload("json-number-1e400", []byte(`{"user":"x","n":1e400}`), false, ErrInvalid),
		payload("json-integer-of-3000-digits", []byte(`{"n":`+strings.Repeat("9", 3000)+`}`), false, ErrInvalid),
		payload("json-huge-number-in-an-unknown-field", []byte(`{"user":"x","big":`+strings.Repeat("9", 3000)+`}`), false, nil),
		payload("json-top-level-array", []byte(`[1,2,3]`), false, ErrInvalid),
		payload("json-top-level-string", []byte(`"session"`), false, ErrInvalid),
		payload("json-top-level-number", []byte(`42`), false, ErrInvalid),
		payload("json-top-level-null-is-an-empty-session", []byte(`null`), false, nil),
		payload("json-wrong-field-type", []byte(`{"user":{"a":1}}`), false, ErrInvalid),
		payload("json-trailing-data", []byte(`{"user":"x"}{"user":"y"}`), false, ErrInvalid),
		payload("json-truncated", []byte(`{"user":"x"`), false, ErrInvalid),
		payload("json-empty", []byte{}, false, ErrInvalid),
		payload("deflate-bomb-1MiB", make([]byte, 1<<20), true, ErrTooLarge),
		hostileCase{
			name: "payload/deflate-stream-corrupt", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{payload: []byte("\xff\xff\xff not deflate"), flags: flagCompressed}))}
			},
		},
		hostileCase{
			name: "payload/envelope-shorter-than-its-frame", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.forge(forgery{payload: []byte("short")}))} },
		},
		hostileCase{
			// encoding/json quotes the value it could not store ("cannot
			// unmarshal number 7254…"); the report names the type only.
			name: "payload/deserializer-error-quoting-the-data-is-not-repeated", want: ErrInvalid, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{data: []byte(`{"user":"x","n":72540000000000000000000000000000061}`)}))}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				if logs := e.logs.String(); strings.Contains(logs, "7254") || !strings.Contains(logs, "hData") {
					t.Errorf("the report quotes the data or misses the type: %q", logs)
				}
			},
		},
	)
	return cases
}
