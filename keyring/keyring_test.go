package keyring

import (
	"fmt"
	"log/slog"
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
	id1, id2 := Format(k1), Format(k2)
	c, err := cookiesession.NewCodec(k1)
	if err != nil {
		t.Fatal(err)
	}
	// inForce is the ring c holds: the keys it last accepted.
	inForce := []string{id1}
	keyIDs := map[string]string{} // text form → key id, as logged
	for _, k := range [][]byte{k1, k2} {
		id, err := wire.KeyID(k)
		if err != nil {
			t.Fatal(err)
		}
		keyIDs[Format(k)] = fmt.Sprintf("%08x", id)
	}
	ringIDs := func(*cookiesession.Codec) []string { return inForce }
	dir := t.TempDir()
	path := filepath.Join(dir, "keys")
	var applies int
	logs := &testkit.Logs{}
	w := &keyFile{path: path, apply: func(keys ...[]byte) error {
		applies++
		next, err := cookiesession.NewCodec(keys...) // refuses a bad ring, as SetKeys does
		if err != nil {
			return err
		}
		c = next
		inForce = nil
		for _, k := range keys {
			inForce = append(inForce, Format(k))
		}
		return nil
	}, logger: slog.New(logs)}
	step := func(name string, polls int, wantApplies int, wantReports int, wantRing ...string) {
		t.Helper()
		logs.Reset()
		applies = 0
		for range polls {
			w.poll()
		}
		reports := logs.Texts(slog.LevelError)
		if applies != wantApplies || len(reports) != wantReports || fmt.Sprint(ringIDs(c)) != fmt.Sprint(wantRing) {
			t.Errorf("%s: %d applies, reports %v, ring %q; want %d applies, %d reports, ring %q",
				name, applies, reports, ringIDs(c), wantApplies, wantReports, wantRing)
		}
		for _, msg := range reports {
			if !strings.Contains(msg, "err=cookiesession: ") || !strings.Contains(msg, path) ||
				strings.Contains(msg, Format(k1)) || strings.Contains(msg, Format(k2)) {
				t.Errorf("%s: report %q: want a cookiesession error naming the file and no key", name, msg)
			}
		}
		// Each ring applied is logged, with its key ids and no key.
		infos := logs.Texts(slog.LevelInfo)
		if wantReports == 0 && len(infos) != wantApplies {
			t.Errorf("%s: %d rings logged for %d applied: %q", name, len(infos), wantApplies, infos)
		}
		var ids []string
		for _, k := range wantRing {
			ids = append(ids, keyIDs[k])
		}
		for _, msg := range infos {
			want := fmt.Sprintf("key_ids=%v", ids)
			if !strings.Contains(msg, want) || !strings.Contains(msg, path) ||
				strings.Contains(msg, Format(k1)) || strings.Contains(msg, Format(k2)) {
				t.Errorf("%s: ring logged as %q: want the file and %s, and no key", name, msg, want)
			}
		}
	}

	step("missing file", 3, 0, 1, id1)
	testkit.WriteKeyFile(t, path, k2, k1)
	step("file appears", 3, 1, 0, id2, id1)
	if err := os.WriteFile(path, []byte(Format(k2)+","+Format(k1)[:20]+"\n"), 0o600); err != nil {
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

	// Two reads must agree before a ring is applied: a read that catches
	// the file mid-write, as "K2," or as "K2" alone, is never applied.
	testkit.WriteKeyFile(t, path, k1, k2)
	step("rewritten", 2, 1, 0, id1, id2)
	if err := os.WriteFile(path, []byte(Format(k2)+","), 0o600); err != nil {
		t.Fatal(err)
	}
	step("caught mid-write as K2,", 1, 0, 0, id1, id2)
	testkit.WriteKeyFile(t, path, k2)
	step("caught mid-write as K2", 1, 0, 0, id1, id2)
	testkit.WriteKeyFile(t, path, k2, k1)
	step("write completed, read once", 1, 0, 0, id1, id2)
	step("write completed, read twice", 1, 1, 0, id2, id1)
	if err := os.WriteFile(path, []byte(Format(k2)+","), 0o600); err != nil {
		t.Fatal(err)
	}
	step(`"K2," for two reads: an empty field, refused`, 2, 0, 1, id2, id1)
	// A ring the file holds for two reads is applied, even one that
	// drops a key: two reads cannot tell a stalled writer from an
	// operator (the root package's TestKeyChangeGraceKeepsCookies shows
	// what protects the users of the dropped key).
	testkit.WriteKeyFile(t, path, k2)
	step("K2 for two reads", 2, 1, 0, id2)
}
