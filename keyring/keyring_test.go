package keyring

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/internal/testkit"
	"github.com/cookiesession/cookiesession/internal/wire"
)

// keyFile.poll, one read at a time: what changes the ring, and what is
// reported (once per failure, not once per read).
func TestKeyFilePoll(t *testing.T) {
	k1, k2 := testkit.Key(61), testkit.Key(62)
	id1, id2 := wire.FormatKey(k1), wire.FormatKey(k2)
	c, err := cookiesession.NewCodec(k1)
	if err != nil {
		t.Fatal(err)
	}
	// inForce is the ring c holds: the keys it last accepted.
	inForce := []string{id1}
	ringIDs := func(*cookiesession.Codec) []string { return inForce }
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	var reports []error
	var applies int
	w := &keyFile{path: path, apply: func(keys ...[]byte) error {
		applies++
		if err := c.SetKeys(keys...); err != nil {
			return err
		}
		inForce = nil
		for _, k := range keys {
			inForce = append(inForce, wire.FormatKey(k))
		}
		return nil
	}, onError: func(err error) { reports = append(reports, err) }}
	step := func(name string, polls int, wantApplies int, wantReports int, wantRing ...string) {
		t.Helper()
		reports, applies = nil, 0
		for range polls {
			w.poll()
		}
		if applies != wantApplies || len(reports) != wantReports || fmt.Sprint(ringIDs(c)) != fmt.Sprint(wantRing) {
			t.Errorf("%s: %d applies, reports %v, ring %q; want %d applies, %d reports, ring %q",
				name, applies, reports, ringIDs(c), wantApplies, wantReports, wantRing)
		}
		for _, err := range reports {
			msg := err.Error()
			if !strings.HasPrefix(msg, "cookiesession: ") || !strings.Contains(msg, path) ||
				strings.Contains(msg, wire.FormatKey(k1)) || strings.Contains(msg, wire.FormatKey(k2)) {
				t.Errorf("%s: report %q: want a cookiesession error naming the file and no key", name, msg)
			}
		}
	}

	step("missing file", 3, 0, 1, id1)
	testkit.WriteKeyFile(t, path, k2, k1)
	step("file appears", 3, 1, 0, id2, id1)
	if err := os.WriteFile(path, []byte(wire.FormatKey(k2)+","+wire.FormatKey(k1)[:20]+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	step("short key", 3, 0, 1, id2, id1)
	testkit.WriteKeyFile(t, path, k2, k2)
	step("ring apply rejects", 3, 1, 1, id2, id1)
	testkit.WriteKeyFile(t, path, k2, k1)
	step("back to the ring in force", 2, 0, 0, id2, id1)
	if err := os.WriteFile(path, []byte(strings.Repeat(" ", maxKeyFileSize+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	step("oversized", 2, 0, 1, id2, id1)
	testkit.WriteKeyFile(t, path, k2)
	step("in-place edit", 2, 1, 0, id2)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	step("file removed", 2, 0, 1, id2)
}
