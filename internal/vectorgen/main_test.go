package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedVectorsAreGenerated regenerates the vectors into a temporary
// directory and compares them with testdata/vectors: same files, same
// bytes. Run "go run ./internal/vectorgen" from the module root after
// changing the generator.
func TestCommittedVectorsAreGenerated(t *testing.T) {
	committed := filepath.Join("..", "..", "testdata", "vectors")
	tmp := t.TempDir()
	if err := generateFrom(filepath.Join("..", "..", "testdata", "payloads"), tmp); err != nil {
		t.Fatal(err)
	}
	// Twice: generation is deterministic within a run too.
	tmp2 := t.TempDir()
	if err := generateFrom(filepath.Join("..", "..", "testdata", "payloads"), tmp2); err != nil {
		t.Fatal(err)
	}
	gen := readDir(t, tmp)
	if len(gen) < 40 {
		t.Fatalf("generator wrote %d vectors", len(gen))
	}
	if gen2 := readDir(t, tmp2); len(gen2) != len(gen) {
		t.Fatalf("two runs wrote %d and %d files", len(gen), len(gen2))
	} else {
		for name, data := range gen {
			if !bytes.Equal(data, gen2[name]) {
				t.Errorf("%s differs between two runs", name)
			}
		}
	}
	com := readDir(t, committed)
	delete(com, "README.md")
	for name, data := range gen {
		c, ok := com[name]
		switch {
		case !ok:
			t.Errorf("%s is generated but not committed", name)
		case bytes.Equal(c, data):
		case strings.Contains(name, "compress") && sameButValue(c, data):
			// The value of a compressed vector holds compress/flate's
			// output, which Go 1.27 changed: the committed vector (which
			// the vector tests open on every toolchain) came from an
			// earlier one. Everything else must match.
			t.Logf("%s: this toolchain deflates differently; header lines match", name)
		default:
			t.Errorf("%s: committed file differs from the generated one", name)
		}
	}
	for name := range com {
		if _, ok := gen[name]; !ok {
			t.Errorf("%s is committed but no longer generated", name)
		}
	}
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

// TestGenerateRemovesStale checks that regeneration removes a vector file
// the generator no longer writes, and keeps README.md.
func TestGenerateRemovesStale(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"stale_vector", "README.md"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := generateFrom(filepath.Join("..", "..", "testdata", "payloads"), dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale_vector")); !os.IsNotExist(err) {
		t.Errorf("stale vector kept: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		t.Errorf("README.md removed: %v", err)
	}
}

// sameButValue reports whether two vector files agree on every line but
// the value (the last non-empty line).
func sameButValue(a, b []byte) bool {
	trim := func(f []byte) []byte {
		f = bytes.TrimRight(f, "\n")
		if i := bytes.LastIndexByte(f, '\n'); i >= 0 {
			return f[:i]
		}
		return nil
	}
	return bytes.Equal(trim(a), trim(b))
}

// TestSpecSealerMatchesLibrary checks that the implementation written from
// docs/format.md alone (session.go), which seals the session, chunk and
// overflow vectors, seals the library's own success vectors byte for byte.
func TestSpecSealerMatchesLibrary(t *testing.T) {
	vs, err := Vectors(filepath.Join("..", "..", "testdata", "payloads"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range vs {
		if v.Expect != "success" || v.Open != "" {
			continue
		}
		purpose, flags, payload := v.Purpose, byte(0), v.Payload
		if purpose == "" {
			purpose = specSessionPurpose
		}
		if v.Compressed {
			flags, payload = specFlagDeflated, specDeflate(payload)
		}
		got := specSeal(v.Keys[v.KeyIndex], purpose, v.Cookie, flags, 1, issued, expires, payload, newNonceSource(v.Name))
		if got != v.Value {
			t.Errorf("%s: the specification's sealer gives another value", v.Name)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("compared %d vectors", n)
	}
}
