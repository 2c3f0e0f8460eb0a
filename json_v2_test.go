//go:build go1.27 && goexperiment.jsonv2

package cookiesession

import (
	"bytes"
	json "encoding/json/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestJSONMapPaths holds the interface paths jsonRoot and jsonUnmarshal
// take for a map[string]any to what v2's reflective map code gives with
// the same options: the same bytes out, the same map (or the same error)
// in, for empty, null, nested, duplicate, escaped and invalid UTF-8
// names.
func TestJSONMapPaths(t *testing.T) {
	for _, in := range []string{
		`{}`, `null`, `{"a":1}`, `{"b":{"c":[1,"x",null,{}]},"a":true}`,
		`{"<&>":"\u2028","z":-0.0,"y":1e21,"x":1e-7}`, `{"a\xff":1,"b\xfe\xfd":"\xff"}`,
		`{"a":1,"a":2}`, `[1]`, `"s"`, `{"a":}`, `{"a":1} x`, `{"k":"` + "\xed\xa0\x80" + `"}`,
	} {
		var slow map[string]any
		errSlow := json.Unmarshal([]byte(in), &slow, jsonOptions)
		var fast map[string]any
		errFast := jsonUnmarshal([]byte(in), &fast)
		if (errSlow == nil) != (errFast == nil) || !cmp.Equal(slow, fast) || (slow == nil) != (fast == nil) {
			t.Errorf("%q: read %#v, %v; want %#v, %v", in, fast, errFast, slow, errSlow)
		}
		if errSlow != nil {
			continue
		}
		want, errWant := json.Marshal(slow, jsonOptions)
		got, err := jsonMarshal(slow)
		gotPtr, errPtr := jsonMarshal(&slow)
		var w diffWriter
		errCmp := jsonCompare(&w, &slow)
		streamed, _ := w.result()
		if errWant != nil || err != nil || errPtr != nil || errCmp != nil ||
			!bytes.Equal(got, want) || !bytes.Equal(gotPtr, want) || !bytes.Equal(streamed, want) {
			t.Errorf("%q: wrote %s, %s, %s (%v, %v, %v); want %s (%v)", in, got, gotPtr, streamed, err, errPtr, errCmp, want, errWant)
		}
	}
	// A map that is not empty is merged into, as v1 does.
	m := map[string]any{"keep": 1.0}
	if err := jsonUnmarshal([]byte(`{"a":2}`), &m); err != nil || len(m) != 2 {
		t.Errorf("merge: %v, %v", m, err)
	}
}
