//go:build go1.27 && goexperiment.jsonv2

package cookiesession

import (
	jsonv1 "encoding/json"
	"encoding/json/jsontext"
	json "encoding/json/v2"
	"reflect"
)

// jsonOptions make encoding/json/v2 write and read exactly what
// encoding/json (v1) does, so that servers built with either toolchain
// share cookies during an upgrade: a value one seals opens on the other
// as the same T, and marshals again to the same bytes (no spurious write).
// That takes every v1 option, because each changes the bytes written or
// the values accepted for some T:
//
//   - Deterministic: sorted map keys, the change detection depends on it;
//   - FormatNilSliceAsNull, FormatNilMapAsNull: nil is null, not [] or {};
//   - AllowInvalidUTF8: invalid UTF-8 becomes U+FFFD, not an error;
//   - EscapeForHTML, EscapeForJS: <, >, &, U+2028 and U+2029 escaped;
//   - MatchCaseInsensitiveNames, MatchCaseSensitiveDelimiter: field names
//     match without regard to case, as v1 reads them;
//   - OmitEmptyWithLegacySemantics: omitempty omits false, 0 and nil;
//   - FormatDurationAsNano: a time.Duration is its nanoseconds (v2 fails);
//   - FormatByteArrayAsArray, FormatBytesWithLegacySemantics: [N]byte is
//     an array of numbers, []byte base64;
//   - StringifyWithLegacySemantics: the ",string" tag as v1 reads it;
//   - CallMethodsWithLegacySemantics: MarshalJSON on pointer receivers and
//     map keys as v1 calls them;
//   - ReportErrorsWithLegacySemantics: a struct v1 marshals is not refused;
//   - MergeWithLegacySemantics, UnmarshalArrayFromAnyLength,
//     ParseBytesWithLooseRFC4648, ParseTimeWithLooseRFC3339,
//     AllowDuplicateNames, PreserveRawStrings: v1's reading rules (see
//     jsonUnmarshal for duplicate names).
//
// Numbers in map[string]any are float64 in both, and time.Time is RFC
// 3339 in both. TestJSONMatchesV1 holds both builds to the same golden
// bytes. The one difference left is not an option: the U+FFFD that
// replaces invalid UTF-8 is written as the character here and as the
// escape \ufffd by Go 1.26's encoding/json (Go 1.27's encoding/json is
// this same code). Both read back as the same value, which marshals to
// the character with either toolchain, so such a session is rewritten
// once after the value is set, as it is with v1 alone.
var jsonOptions = jsonv1.DefaultOptionsV1()

// jsonMarshal is json.Marshal with jsonOptions.
func jsonMarshal(v any) ([]byte, error) { return json.Marshal(jsonRoot(v), jsonOptions) }

// jsonRoot returns what to hand encoding/json/v2 for v: v itself, or, for
// a map[string]any (or a pointer to one), a pointer to an interface
// holding the map. The bytes are the same; the path is not. v2 writes a
// map[string]any found inside an interface without reflection
// (marshalObjectAny, which sorts the names with slices.Sort as the
// reflective map code does under Deterministic), but a map[string]any at
// the top goes through the reflective map code, about twice as slow.
// TestJSONMatchesV1 holds both to encoding/json v1's bytes.
func jsonRoot(v any) any {
	switch m := v.(type) {
	case map[string]any:
		var root any = m
		return &root
	case *map[string]any:
		if m != nil {
			var root any = *m
			return &root
		}
	}
	return v
}

// jsonAppend appends what jsonMarshal returns to *dst.
func jsonAppend(dst *[]byte, v any) error {
	return json.MarshalWrite((*appendWriter)(dst), jsonRoot(v), jsonOptions)
}

// jsonCompare writes what jsonMarshal returns to w.
func jsonCompare(w *diffWriter, v any) error { return json.MarshalWrite(w, jsonRoot(v), jsonOptions) }

// jsonNoDuplicates is jsonOptions rejecting duplicate object names. Read
// into a map, it is the same when the input has no duplicate names, and
// cheaper (15-20 % of a map[string]any decode): with duplicates allowed,
// every member is first looked up in the map, to merge into a value an
// earlier duplicate left.
var jsonNoDuplicates = json.JoinOptions(jsonOptions, jsontext.AllowDuplicateNames(false))

// jsonUnmarshal is json.Unmarshal with jsonOptions; it rejects trailing
// data. Into a map or an interface it first reads with jsonNoDuplicates,
// and again with jsonOptions only if that fails: v1 accepts duplicate
// names (the last wins), and a value v1 wrote can hold some (in a
// RawMessage, or map keys whose MarshalText collide). Reading the same
// input twice into v gives what reading it once does. Into a struct the
// duplicate check costs more than it saves, so jsonOptions reads it once.
// Into a nil map[string]any, the object is first read as an interface,
// which v2 does without reflection (see jsonRoot), and the map it makes
// is the map v1 makes; anything else (an array, a duplicate name) is read
// again the usual way, for the usual result or error.
func jsonUnmarshal(data []byte, v any) error {
	if p, ok := v.(*map[string]any); ok && p != nil && *p == nil {
		var root any
		if json.Unmarshal(data, &root, jsonNoDuplicates) == nil {
			if m, ok := root.(map[string]any); ok || root == nil {
				*p = m
				return nil
			}
		}
	}
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer {
		if k := t.Elem().Kind(); k == reflect.Map || k == reflect.Interface {
			if json.Unmarshal(data, v, jsonNoDuplicates) == nil {
				return nil
			}
		}
	}
	return json.Unmarshal(data, v, jsonOptions)
}
