package inspection_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/inspection"
	"github.com/cookiesession/cookiesession/internal/testkit"
)

// TestOpenNotAManager: Open of anything but a non-nil *Manager is an
// error, not a panic; of a Manager, it reaches the core's opening (a
// request without the cookie gives ErrNoCookie, as Load's reading does).
func TestOpenNotAManager(t *testing.T) {
	h := http.Header{"Cookie": {"session=x"}}
	for name, m := range map[string]any{
		"nil":             nil,
		"string":          "session",
		"nil Manager":     (*cookiesession.Manager[int])(nil),
		"Manager value":   cookiesession.Options{},
		"Codec":           &cookiesession.Codec{},
		"nil any Manager": any((*cookiesession.Manager[map[string]any])(nil)),
	} {
		in, err := inspection.Open[cookiesession.Meta](m, h, true)
		if err == nil || in != nil || !strings.HasPrefix(err.Error(), "cookiesession: ") {
			t.Errorf("%s: %+v, %v; want a cookiesession: error", name, in, err)
		}
	}
	m, err := cookiesession.New[int](cookiesession.Options{Keys: [][]byte{testkit.Key(0)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inspection.Open[cookiesession.Meta](m, http.Header{}, false); !errors.Is(err, cookiesession.ErrNoCookie) {
		t.Errorf("a request without the cookie: %v, want ErrNoCookie", err)
	}
}
