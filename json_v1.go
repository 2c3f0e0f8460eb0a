//go:build !go1.27 || !goexperiment.jsonv2

package cookiesession

import "encoding/json"

// jsonMarshal is json.Marshal: sorted map keys, HTML-safe escaping, nil
// slices and maps as null, invalid UTF-8 replaced by U+FFFD.
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// jsonUnmarshal is json.Unmarshal, which rejects trailing data.
func jsonUnmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// jsonCompare writes what jsonMarshal returns to w. An Encoder writes its
// encoding in one Write, with a newline after it, which w drops.
func jsonCompare(w *diffWriter, v any) error {
	w.trimNewline = true
	return json.NewEncoder(w).Encode(v)
}

// jsonAppend appends what jsonMarshal returns to *dst. An Encoder ends
// its encoding with a newline, which is cut.
func jsonAppend(dst *[]byte, v any) error {
	if err := json.NewEncoder((*appendWriter)(dst)).Encode(v); err != nil {
		return err
	}
	*dst = (*dst)[:len(*dst)-1]
	return nil
}
