package cookiesession

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession/internal/testkit"
)

// TestDiffWriter feeds the comparing writer the bytes of a serialization
// in pieces and checks what it reports against bytes.Equal and the bytes
// themselves, for equal, changed, shorter and longer output.
func TestDiffWriter(t *testing.T) {
	want := []byte(`{"a":1,"b":"two","c":[3]}`)
	for _, got := range []string{
		string(want),
		`{"a":1,"b":"tw0","c":[3]}`,
		`{"a":1,"b":"two"}`,
		`{"a":1,"b":"two","c":[3]}x`,
		`{`, ``, `x` + string(want),
	} {
		for _, piece := range []int{1, 3, 7, len(got) + 1} {
			w := diffWriter{want: want}
			for rest := got; ; {
				p := rest[:min(piece, len(rest))]
				if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
					t.Fatalf("Write = %d, %v", n, err)
				}
				if rest = rest[len(p):]; rest == "" {
					break
				}
			}
			data, same := w.result()
			if string(data) != got || same != (got == string(want)) {
				t.Errorf("%q in pieces of %d: result %q, %v", got, piece, data, same)
			}
		}
	}
	w := diffWriter{want: want, trimNewline: true}
	w.Write(append(bytes.Clone(want), '\n'))
	if data, same := w.result(); !same || !bytes.Equal(data, want) {
		t.Errorf("with the encoder's newline: %q, %v", data, same)
	}
}

// otherBytes is a Serializer of its own, JSON behind a prefix: change
// detection must compare what its Marshal writes, not what the JSON
// encoder would.
type otherBytes struct{}

func (otherBytes) Marshal(v any) ([]byte, error) {
	b, err := jsonMarshal(v)
	return append([]byte("#"), b...), err
}

func (otherBytes) Unmarshal(data []byte, v any) error {
	return jsonUnmarshal(bytes.TrimPrefix(data, []byte("#")), v)
}

// TestChangeDetectionWithEachSerializer runs a session through the
// middleware with the default serializer and with another:
// a Get that changes nothing writes no cookie, a change is written (and
// read back), whichever Serializer is set, and whether the handler writes
// its body first (so the change is found before the handler returns) or
// not.
func TestChangeDetectionWithEachSerializer(t *testing.T) {
	type data struct {
		N     int
		Items []string
	}
	for _, ser := range []Serializer{jsonSerializer{}, otherBytes{}} {
		m, err := New[data](Options{
			Keys: [][]byte{testkit.Key(212)}, InsecureAllowHTTP: true,
			SealOptions: SealOptions{Serializer: ser},
			OnError:     func(_ *http.Request, err error) { t.Errorf("%T: %v", ser, err) },
		})
		if err != nil {
			t.Fatal(err)
		}
		var cookie string
		serve := func(body bool, f func(*data)) (set bool, got data) {
			h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s := m.Get(r)
				got = data{s.Data.N, slices.Clone(s.Data.Items)}
				f(s.Data)
				if body {
					w.Write([]byte("ok"))
				}
			}))
			req := httptest.NewRequest("GET", "/", nil)
			if cookie != "" {
				req.Header.Set("Cookie", cookie)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			lines := rec.Header()["Set-Cookie"]
			if len(lines) > 0 {
				cookie, _, _ = strings.Cut(lines[0], ";")
			}
			return len(lines) > 0, got
		}
		for _, body := range []bool{false, true} {
			steps := []struct {
				change  func(*data)
				written bool
				want    data // what the handler read
			}{
				{func(d *data) { d.N = 1; d.Items = []string{"a"} }, true, data{}},
				{func(d *data) {}, false, data{1, []string{"a"}}},
				{func(d *data) { d.Items[0] = "b" }, true, data{1, []string{"a"}}},            // same length
				{func(d *data) { d.Items = d.Items[:0] }, true, data{1, []string{"b"}}},       // shorter
				{func(d *data) { d.Items = append(d.Items, "c") }, true, data{1, []string{}}}, // longer
				{func(d *data) {}, false, data{1, []string{"c"}}},
			}
			cookie = ""
			for i, step := range steps {
				set, got := serve(body, step.change)
				if set != step.written || got.N != step.want.N || strings.Join(got.Items, ",") != strings.Join(step.want.Items, ",") {
					t.Errorf("%T, body %v, step %d: cookie written %v, want %v; read %+v, want %+v", ser, body, i, set, step.written, got, step.want)
				}
			}
		}
	}
}
