package cookiesession_test

import (
	"encoding/json"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
)

// TestSizeErrorMessages pins the text of each *SizeError: the sizes in
// bytes (or cookies), the option that sets the limit and how to raise it,
// and never the value.
func TestSizeErrorMessages(t *testing.T) {
	for _, tc := range []struct {
		err  cookiesession.SizeError
		want string
	}{
		{cookiesession.SizeError{What: "session cookies", Name: "session", Size: 6152, Limit: 6144},
			`cookiesession: session cookies of "session" are 6152 bytes, over the limit of 6144 bytes set by Limits.TotalSize (or by Limits.MaxChunks × Limits.CookieSize if smaller); to allow more, raise it in the options (and the proxies' header limits), or store less in the session`},
		{cookiesession.SizeError{What: "cookie", Name: "session", Size: 4100, Limit: 4000},
			`cookiesession: cookie of "session" is 4100 bytes, over the limit of 4000 bytes set by Limits.CookieSize; to allow more, raise it in the options (at most 4096)`},
		{cookiesession.SizeError{What: "chunk count", Name: "session", Size: 12, Limit: 10},
			`cookiesession: chunk count of "session" is 12 cookies, over the limit of 10 cookies set by Limits.MaxChunks; to allow more, raise it in the options (at most 255)`},
		{cookiesession.SizeError{What: "serialized value", Name: "session", Size: 70000, Limit: 65536},
			`cookiesession: serialized value of "session" is 70000 bytes, over the limit of 65536 bytes set by MaxDecodedSize; to allow more, raise it in the options, or store less in the session`},
		{cookiesession.SizeError{What: "decoded payload", Name: "session", Size: 70000, Limit: 65536},
			`cookiesession: decoded payload of "session" is 70000 bytes, over the limit of 65536 bytes set by MaxDecodedSize; to allow more, raise it in the options`},
		{cookiesession.SizeError{What: "inflated payload", Name: "session", Size: 65537, Limit: 65536},
			`cookiesession: inflated payload of "session" is at least 65537 bytes, over the limit of 65536 bytes set by MaxDecodedSize; to allow more, raise it in the options`},
		{cookiesession.SizeError{What: "cookie value", Name: "session", Size: 90000, Limit: 87519},
			`cookiesession: cookie value of "session" is 90000 bytes, over the limit of 87519 bytes (the encoded length of MaxDecodedSize); to allow more, raise MaxDecodedSize in the options`},
		{cookiesession.SizeError{What: "session subject", Name: "session", Size: 300, Limit: 255},
			`cookiesession: session subject of "session" is 300 bytes, over the limit of 255 bytes, which is fixed: use a shorter subject`},
		{cookiesession.SizeError{What: "value", Size: 9, Limit: 8},
			`cookiesession: value is 9 bytes, over the limit of 8 bytes`},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.err.What, got, tc.want)
		}
	}

	// The message of the issue: a save over the total budget, from a real
	// Manager without an Overflow store, names the sizes, the option that
	// keeps such sessions (Options.Overflow) and the limit, and no byte of
	// the data.
	m, err := cookiesession.New[map[string]string](cookiesession.Options{Keys: [][]byte{keyring.Generate()}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	s, _ := m.Load(r)
	secret := strings.Repeat("secret-", 700)
	*s.Data = map[string]string{"blob": secret}
	err = m.Save(httptest.NewRecorder(), r, s)
	var se *cookiesession.SizeError
	if !errors.As(err, &se) || se.What != "session cookies" {
		t.Fatalf("Save: %v, want a *SizeError for the session cookies", err)
	}
	msg := err.Error()
	for _, w := range []string{"bytes, over the limit of 6144 bytes set by Limits.TotalSize", "configure Options.Overflow", "raise the limit"} {
		if !strings.Contains(msg, w) {
			t.Errorf("%q does not say %q", msg, w)
		}
	}
	data, _ := json.Marshal(*s.Data)
	if strings.Contains(msg, "secret-") || strings.Contains(msg, string(data[:20])) {
		t.Errorf("the message holds the data: %q", msg)
	}
}
