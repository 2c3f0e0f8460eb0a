package gorillastore

import (
	"bytes"
	"encoding/gob"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/google/go-cmp/cmp"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// Profile is a custom type the application registers with gob.
type Profile struct {
	Name  string
	Roles []string
	Since time.Time
}

// unregistered is a custom type nobody registered with gob.
type unregistered struct{ A int }

// userKey is a custom key type, as applications use to avoid collisions.
type userKey int

func init() {
	gob.Register(Profile{})
	gob.Register(userKey(0))
	// What a gorilla application registers to keep these in Values; the
	// Store itself needs none of them.
	gob.Register(map[string]interface{}{})
	gob.Register([]interface{}{})
	gob.Register(map[interface{}]interface{}{})
	gob.Register(time.Time{})
	gob.Register(time.Duration(0))
	gob.Register(map[string]string{})
}

func typedValues() map[interface{}]interface{} {
	at := time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.FixedZone("CET", 3600))
	return map[interface{}]interface{}{
		"string":   "héllo",
		"empty":    "",
		"true":     true,
		"false":    false,
		"nil":      nil,
		"int":      42,
		"negint":   -7,
		"int8":     int8(-8),
		"int16":    int16(1600),
		"int32":    int32(-32),
		"int64":    int64(math.MaxInt64),
		"uint":     uint(7),
		"uint8":    uint8(255),
		"uint16":   uint16(65535),
		"uint32":   uint32(math.MaxUint32),
		"uint64":   uint64(math.MaxUint64),
		"float32":  float32(1.5),
		"float64":  3.25,
		"nan-free": math.Inf(-1),
		"bytes":    []byte{0, 1, 2, 255},
		"time":     at,
		"duration": 90 * time.Second,
		"strings":  []string{"a", "", "c"},
		"ints":     []int{1, -2, 3},
		"strmap":   map[string]string{"k": "v"},
		"slice":    []interface{}{1, "two", 3.0, []byte("4"), nil, []interface{}{true}},
		"map":      map[string]interface{}{"n": 1, "nested": map[string]interface{}{"deep": []interface{}{int64(5)}}},
		"anymap":   map[interface{}]interface{}{1: "one", "two": 2},
		"profile":  Profile{Name: "Ada", Roles: []string{"admin"}, Since: at.UTC()},
		"ptr":      &Profile{Name: "Bob"},
		7:          "int key",
		userKey(1): "custom key",
		true:       "bool key",
		"_flash":   []interface{}{"saved", &FlashMessage{1, "hi"}},
	}
}

func TestValuesKeepTheirTypes(t *testing.T) {
	store := newStore(t, nil)
	in := typedValues()
	cookies := savedCookies(t, store, "s", in)
	s, err := store.New(requestWith(cookies), "s")
	if err != nil {
		t.Fatal(err)
	}
	want := typedValues()
	// gob decodes a pointer to a type registered as a value as the value,
	// exactly as with gorilla's CookieStore (see the next test).
	want["ptr"] = Profile{Name: "Bob"}
	// time.Time keeps its instant and UTC offset (not the zone's name), as
	// gob keeps them.
	if diff := cmp.Diff(want, s.Values, cmp.Comparer(func(a, b time.Time) bool {
		_, ao := a.Zone()
		_, bo := b.Zone()
		return a.Equal(b) && ao == bo
	})); diff != "" {
		t.Fatalf("values changed across a round trip (-want +got):\n%s", diff)
	}
	// Types, not just values: cmp already compares dynamic types of
	// interface values, but be explicit for the ones JSON would break.
	if _, ok := s.Values["int"].(int); !ok {
		t.Errorf("int came back as %T", s.Values["int"])
	}
	if _, ok := s.Values["bytes"].([]byte); !ok {
		t.Errorf("[]byte came back as %T", s.Values["bytes"])
	}
	if tm, ok := s.Values["time"].(time.Time); !ok || tm.Nanosecond() != 123456789 {
		t.Errorf("time came back as %#v", s.Values["time"])
	}
}

// The registered custom types come back as gorilla's CookieStore returns
// them: same Go types, same values.
func TestValuesMatchGorillaCookieStoreTypes(t *testing.T) {
	gstore := sessions.NewCookieStore(testkit.Key(0))
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	gs, _ := gstore.New(r, "s")
	for k, v := range typedValues() {
		gs.Values[k] = v
	}
	if err := gs.Save(r, w); err != nil {
		t.Fatal(err)
	}
	gback, err := gstore.New(requestWith(w.Result().Cookies()), "s")
	if err != nil {
		t.Fatal(err)
	}
	store := newStore(t, nil)
	ours, err := store.New(requestWith(savedCookies(t, store, "s", typedValues())), "s")
	if err != nil {
		t.Fatal(err)
	}
	for k, gv := range gback.Values {
		if k == "time" || k == "profile" {
			// time.Time: gob drops the zone name but keeps the offset;
			// compare below.
			continue
		}
		if diff := cmp.Diff(gv, ours.Values[k]); diff != "" {
			t.Errorf("Values[%#v]: gorilla gives %T, we give %T (-gorilla +ours):\n%s", k, gv, ours.Values[k], diff)
		}
	}
	if !gback.Values["time"].(time.Time).Equal(ours.Values["time"].(time.Time)) {
		t.Error("time differs from gorilla's")
	}
	if len(gback.Values) != len(ours.Values) {
		t.Errorf("gorilla has %d values, we have %d", len(gback.Values), len(ours.Values))
	}
}

func TestUnsupportedValueIsAnErrorNamingKeyAndType(t *testing.T) {
	store := newStore(t, nil)
	for name, tc := range map[string]struct {
		key, value interface{}
		typ        string
	}{
		"unregistered struct":  {"user", unregistered{1}, "gorillastore.unregistered"},
		"nested unregistered":  {"cart", []interface{}{1, map[string]interface{}{"x": unregistered{}}}, "gorillastore.unregistered"},
		"func":                 {"cb", func() {}, "func()"},
		"channel":              {"ch", make(chan int), "chan int"},
		"unregistered map":     {"scores", map[string]int{"a": 1}, "map[string]int"},
		"unregistered key":     {unregistered{2}, "v", "gorillastore.unregistered"},
		"complex (gob-native)": {"ok", complex(1, 2), ""},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		w := httptest.NewRecorder()
		s, _ := store.New(r, "s")
		s.Values["fine"] = "kept"
		s.Values[tc.key] = tc.value
		err := s.Save(r, w)
		if tc.typ == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		var ve *ValueError
		if !errors.As(err, &ve) {
			t.Errorf("%s: error %v, want a *ValueError", name, err)
			continue
		}
		if ve.Key != tc.key {
			t.Errorf("%s: ValueError.Key = %#v, want %#v", name, ve.Key, tc.key)
		}
		if ve.Type != tc.typ || !strings.Contains(err.Error(), tc.typ) || !strings.HasPrefix(err.Error(), "cookiesession:") {
			t.Errorf("%s: error %q does not name type %s", name, err, tc.typ)
		}
		if len(w.Header()["Set-Cookie"]) != 0 {
			t.Errorf("%s: a failed Save set cookies", name)
		}
	}
}

func TestValuesSerializerRejectsBadInput(t *testing.T) {
	good, err := (ValuesSerializer{}).Marshal(typedValues())
	if err != nil {
		t.Fatal(err)
	}
	var m map[interface{}]interface{}
	if err := (ValuesSerializer{}).Unmarshal(good, &m); err != nil {
		t.Fatal(err)
	}
	for i := range good {
		var m map[interface{}]interface{}
		if err := (ValuesSerializer{}).Unmarshal(good[:i], &m); err == nil {
			t.Fatalf("truncated at %d: no error", i)
		} else if !errors.Is(err, cookiesession.ErrInvalid) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	if err := (ValuesSerializer{}).Unmarshal(append(good, 0), &m); err == nil {
		t.Fatal("trailing data accepted")
	}
	for _, bad := range [][]byte{
		{}, {9}, {formatValues, 1, 99, 0},
		{formatValues, 0xff, 0xff, 0xff, 0xff, 0x0f},                  // count over the bytes left
		{formatValues, 1, tagSlice, 0, tagNil},                        // a slice as a map key
		{formatValues, 1, tagString, 1, 'k', tagInt8, 0x80, 0x02},     // 128 as int8
		{formatValues, 1, tagString, 1, 'k', tagGob, 3, 1, 2, 3},      // not gob
		{formatValues, 1, tagString, 1, 'k', tagTime, 2, 1, 2},        // not a time
		{formatValues, 1, tagString, 1, 'k', tagFloat64, 1, 2, 3},     // short float
		{formatEnvelope, 5, 'a'},                                      // short id
		append([]byte{formatValues, 1, tagString, 1, 'k'}, deep()...), // too deep
	} {
		var m map[interface{}]interface{}
		if err := (ValuesSerializer{}).Unmarshal(bad, &m); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	if _, err := (ValuesSerializer{}).Marshal("not a map"); err == nil {
		t.Error("Marshal of a string succeeded")
	}
	var s string
	if err := (ValuesSerializer{}).Unmarshal(good, &s); err == nil {
		t.Error("Unmarshal into *string succeeded")
	}
}

func deep() []byte {
	var b []byte
	for range maxDepth + 5 {
		b = append(b, tagSlice, 1)
	}
	return append(b, tagNil)
}

func TestTooDeepValueIsAnError(t *testing.T) {
	var v interface{} = "leaf"
	for range maxDepth + 2 {
		v = []interface{}{v}
	}
	_, err := (ValuesSerializer{}).Marshal(map[interface{}]interface{}{"deep": v})
	var ve *ValueError
	if !errors.As(err, &ve) || ve.Key != "deep" {
		t.Fatalf("too deep: %v", err)
	}
}

// The core Codec satisfies securecookie.Codec.
var _ securecookie.Codec = (*cookiesession.Codec)(nil)

// The core Codec, given ValuesSerializer, drops into gorilla's own
// CookieStore: the README's recipe.
func TestCodecInsideGorillaCookieStore(t *testing.T) {
	codec, err := cookiesession.NewCodec(testkit.Key(0))
	if err == nil {
		codec, err = codec.WithOptions(cookiesession.CodecOptions{SealOptions: cookiesession.SealOptions{Serializer: ValuesSerializer{}}})
	}
	if err != nil {
		t.Fatal(err)
	}
	store := &sessions.CookieStore{
		Codecs:  []securecookie.Codec{codec},
		Options: &sessions.Options{Path: "/", MaxAge: 86400 * 30, HttpOnly: true},
	}
	site := newSite(t)
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "s")
		if err != nil || !s.IsNew {
			fail(w, "Get: %v", err)
			return
		}
		s.Values["n"] = 1
		s.Values["when"] = time.Unix(1e9, 0)
		if err := s.Save(r, w); err != nil {
			fail(w, "Save: %v", err)
		}
	})
	if v := site.cookies()["s"]; v == "" || strings.ContainsAny(v, "=+/") {
		t.Fatalf("cookie %q is not our base64url", v)
	}
	site.do(func(w http.ResponseWriter, r *http.Request) {
		s, err := store.Get(r, "s")
		if err != nil || s.IsNew || s.Values["n"] != 1 || !s.Values["when"].(time.Time).Equal(time.Unix(1e9, 0)) {
			fail(w, "round trip: %v %v", err, s.Values)
		}
	})
	// A tampered cookie is a new session and an error, as with securecookie.
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "s", Value: site.cookies()["s"][:40]})
	s, err := store.New(r, "s")
	if err == nil || !s.IsNew {
		t.Fatalf("tampered: %v", err)
	}
}

func FuzzValuesUnmarshal(f *testing.F) {
	good, _ := (ValuesSerializer{}).Marshal(typedValues())
	f.Add(good)
	env, _ := (ValuesSerializer{}).Marshal(&envelope{id: "abc", values: map[interface{}]interface{}{"a": []interface{}{1, "x"}}})
	f.Add(env)
	f.Add([]byte{formatValues, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var m map[interface{}]interface{}
		if err := (ValuesSerializer{}).Unmarshal(data, &m); err != nil {
			return
		}
		// Whatever decodes re-encodes and decodes to the same values.
		again, err := (ValuesSerializer{}).Marshal(m)
		if err != nil {
			t.Fatalf("decoded values do not re-encode: %v", err)
		}
		var m2 map[interface{}]interface{}
		if err := (ValuesSerializer{}).Unmarshal(again, &m2); err != nil {
			t.Fatalf("re-encoded values do not decode: %v", err)
		}
		// The encoding is canonical: the second encoding is the first.
		if again2, err := (ValuesSerializer{}).Marshal(m2); err != nil || !bytes.Equal(again, again2) {
			t.Fatalf("re-encoding is not stable: %v\n%q\n%q", err, again, again2)
		}
		if hasNaNKey(m) {
			return // cmp cannot compare maps keyed by NaN; the bytes agree
		}
		if diff := cmp.Diff(m, m2, cmp.Comparer(func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }),
			cmp.Comparer(func(a, b float32) bool { return math.Float32bits(a) == math.Float32bits(b) }),
			cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("decode-encode-decode changed values:\n%s", diff)
		}
	})
}

// hasNaNKey reports whether v, or a value nested in it, is a map with a
// NaN key (a float key that is not equal to itself).
func hasNaNKey(v interface{}) bool {
	switch v := v.(type) {
	case map[interface{}]interface{}:
		for k, e := range v {
			if k != k || hasNaNKey(k) || hasNaNKey(e) {
				return true
			}
		}
	case map[string]interface{}:
		for _, e := range v {
			if hasNaNKey(e) {
				return true
			}
		}
	case []interface{}:
		for _, e := range v {
			if hasNaNKey(e) {
				return true
			}
		}
	}
	return false
}

// structKey is a gob-registered struct used as a map key.
type structKey struct {
	Kind string
	ID   int
}

func init() { gob.Register(structKey{}) }

// mapsValues is a value with maps of every kind, nested and with mixed key
// types. Each call builds new maps, so each has its own iteration order.
func mapsValues() map[interface{}]interface{} {
	strs := map[string]string{}
	anys := map[string]interface{}{}
	mixed := map[interface{}]interface{}{}
	for i := range 12 {
		s := string(rune('a' + i))
		strs[s] = s + s
		anys[s] = map[string]string{s: s, "x" + s: "y", "z": s}
		mixed[i] = s
		mixed[s] = i
		mixed[int64(i)] = []interface{}{map[interface{}]interface{}{i: s, s: i, uint8(i): true}}
		mixed[structKey{s, i}] = map[string]interface{}{"n": i, "s": s, "m": map[string]string{s: s, "k": "v"}}
	}
	return map[interface{}]interface{}{
		"strs":                  strs,
		"anys":                  anys,
		"mixed":                 mixed,
		"slice":                 []interface{}{strs, anys, mixed},
		7:                       map[interface{}]interface{}{"deep": map[string]interface{}{"deeper": map[interface{}]interface{}{1: 2, "3": 4, 5.5: 6, true: false}}},
		int8(-1):                "small key",
		userKey(3):              "custom key",
		structKey{"top", 1}:     map[string]interface{}{"a": 1, "b": 2, "c": 3, "d": 4},
		structKey{"top", 2}:     map[string]string{"a": "1", "b": "2", "c": "3"},
		time.Unix(1e9, 0).UTC(): "time key",
	}
}

// Marshal is deterministic, as cookiesession.Serializer requires: the
// Manager compares the bytes to see whether a session changed.
func TestValuesMarshalIsDeterministic(t *testing.T) {
	first, err := (ValuesSerializer{}).Marshal(mapsValues())
	if err != nil {
		t.Fatal(err)
	}
	same := mapsValues()
	for i := range 200 {
		v := same
		if i%2 == 1 {
			v = mapsValues() // new maps, new hash seeds
		}
		b, err := (ValuesSerializer{}).Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, first) {
			t.Fatalf("Marshal %d gave different bytes", i)
		}
		env, err := (ValuesSerializer{}).Marshal(&envelope{id: "id", values: v})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(env[1+1+2:], first[1:]) {
			t.Fatalf("Marshal %d of an envelope gave different bytes", i)
		}
	}
	var back map[interface{}]interface{}
	if err := (ValuesSerializer{}).Unmarshal(first, &back); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(mapsValues(), back); diff != "" {
		t.Fatalf("round trip changed values (-want +got):\n%s", diff)
	}

	// Distinct keys that encode alike (NaNs, pointers to equal gob values)
	// are ordered by their values too.
	alike := func() map[interface{}]interface{} {
		return map[interface{}]interface{}{
			math.NaN(): 1, math.NaN(): 2, math.NaN(): 3,
			&Profile{Name: "p"}: "one", &Profile{Name: "p"}: "two", &Profile{Name: "p"}: "three",
		}
	}
	want, err := (ValuesSerializer{}).Marshal(alike())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 200 {
		if b, err := (ValuesSerializer{}).Marshal(alike()); err != nil || !bytes.Equal(b, want) {
			t.Fatalf("Marshal %d of alike keys gave different bytes (%v)", i, err)
		}
	}
}
