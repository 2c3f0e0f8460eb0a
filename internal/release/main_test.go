package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

func TestPublished(t *testing.T) {
	for rel, want := range map[string]bool{
		"": true, "redisstore": true, "cmd/cookiesession": true,
		"examples": false, "internal/e2e": false, "internal/release": false,
	} {
		if got := published(rel); got != want {
			t.Errorf("published(%q) = %v", rel, got)
		}
	}
}

// TestModuleFiles checks that a module's files leave out those of the
// modules nested in it, as a module zip does.
func TestModuleFiles(t *testing.T) {
	files := []string{
		"README.md", "go.mod", "codec.go", "internal/vectorgen/main.go",
		"redisstore/go.mod", "redisstore/store.go",
		"internal/e2e/go.mod", "internal/e2e/bench/redis_test.go",
		"cmd/cookiesession/go.mod", "cmd/cookiesession/main.go",
	}
	for rel, want := range map[string][]string{
		"":             {"README.md", "go.mod", "codec.go", "internal/vectorgen/main.go"},
		"redisstore":   {"redisstore/go.mod", "redisstore/store.go"},
		"internal/e2e": {"internal/e2e/go.mod", "internal/e2e/bench/redis_test.go"},
	} {
		if got := moduleFiles(&mod{rel: rel}, files); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", rel, got, want)
		}
	}
}

// TestLineDiffSiblingSums checks that the tidiness check leaves out the
// go.sum lines of sibling modules, and nothing else.
func TestLineDiffSiblingSums(t *testing.T) {
	committed := "golang.org/x/crypto v0.55.0 h1:a=\n"
	tidied := "github.com/cookiesession/cookiesession v0.1.0 h1:b=\n" +
		"github.com/cookiesession/cookiesession/redisstore v0.1.0/go.mod h1:c=\n" + committed
	if a, b := lineDiff([]byte(committed), []byte(tidied), true); a != nil || b != nil {
		t.Errorf("sibling lines reported: %v %v", a, b)
	}
	other := tidied + "github.com/redis/rueidis v1.0.79 h1:d=\n"
	if _, b := lineDiff([]byte(committed), []byte(other), true); len(b) != 1 || !strings.Contains(b[0], "rueidis") {
		t.Errorf("a missing go.sum line not reported: %v", b)
	}
	if a, b := lineDiff([]byte("require x v1\n"), []byte("require x v1 // indirect\n"), false); len(a) != 1 || len(b) != 1 {
		t.Errorf("go.mod change not reported: %v %v", a, b)
	}
}

func parseMod(t *testing.T, text string) *modfile.File {
	t.Helper()
	f, err := modfile.Parse("go.mod", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestReleaseVersion checks the rules on the modules' requirements of
// each other: one release version, no pseudo-version, no replace.
func TestReleaseVersion(t *testing.T) {
	ws, err := modfile.ParseWork("go.work", []byte("go 1.25.0\nuse (\n\t.\n\t./redisstore\n)\nreplace "+rootPath+" v0.1.0 => ./\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	mods := func(req string) map[string]*mod {
		root := &mod{path: rootPath, file: parseMod(t, "module "+rootPath+"\n")}
		rs := &mod{path: rootPath + "/redisstore", rel: "redisstore", file: parseMod(t, "module "+rootPath+"/redisstore\n"+req)}
		rs.deps = []string{rootPath}
		return map[string]*mod{root.path: root, rs.path: rs}
	}
	if v, err := releaseVersion(ws, mods("require "+rootPath+" v0.1.0\n")); err != nil || v != "v0.1.0" {
		t.Errorf("v0.1.0: %q, %v", v, err)
	}
	if _, err := releaseVersion(ws, mods("require "+rootPath+" v0.0.0-00010101000000-000000000000\n")); err == nil {
		t.Error("a zero pseudo-version accepted")
	}
	if _, err := releaseVersion(ws, mods("require "+rootPath+" v0.2.0\n")); err == nil {
		t.Error("a version go.work does not replace accepted")
	}
	m := mods("require " + rootPath + " v0.1.0\n")
	m[rootPath].deps = []string{rootPath + "/redisstore"}
	m[rootPath].file = parseMod(t, "module "+rootPath+"\nrequire "+rootPath+"/redisstore v0.1.1\n")
	if _, err := releaseVersion(ws, m); err == nil {
		t.Error("two versions accepted")
	}
}

// TestSortModules checks the dependency order and that a published module
// cannot require an unpublished one.
func TestSortModules(t *testing.T) {
	a := &mod{path: rootPath}
	b := &mod{path: rootPath + "/redisstore", rel: "redisstore", deps: []string{rootPath}}
	c := &mod{path: rootPath + "/cmd/cookiesession", rel: "cmd/cookiesession", deps: []string{b.path, rootPath}}
	order, err := sortModules(map[string]*mod{a.path: a, b.path: b, c.path: c})
	if err != nil || !slices.Equal(order, []*mod{a, b, c}) {
		t.Errorf("order %v, %v", order, err)
	}
	u := &mod{path: rootPath + "/internal/browsertest", rel: "internal/browsertest"}
	b.deps = append(b.deps, u.path)
	if _, err := sortModules(map[string]*mod{a.path: a, b.path: b, u.path: u}); err == nil {
		t.Error("a published module requiring an unpublished one accepted")
	}
}

// TestForeignInternal: a module's non-test files may import its own
// internal packages, never another module's (the root's included); test
// files and other imports are not its concern.
func TestForeignInternal(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a.go", `package a
import (
	_ "github.com/cookiesession/cookiesession/cmd/cookiesession/internal/own"
	_ "github.com/cookiesession/cookiesession/internal/defaults"
	_ "github.com/cookiesession/cookiesession/inspect"
	_ "golang.org/x/mod/internal/lazyregexp"
)`)
	write("sub/b.go", `package sub
import _ "github.com/cookiesession/cookiesession/dbsc/internal/jose"`)
	write("a_test.go", `package a
import _ "github.com/cookiesession/cookiesession/internal/testkit"`)
	paths := []string{rootPath, rootPath + "/cmd/cookiesession", rootPath + "/dbsc"}
	bad, err := foreignInternal(dir, rootPath+"/cmd/cookiesession", paths)
	want := []string{
		"  a.go: github.com/cookiesession/cookiesession/internal/defaults",
		"  sub/b.go: github.com/cookiesession/cookiesession/dbsc/internal/jose",
	}
	if err != nil || !slices.Equal(bad, want) {
		t.Errorf("foreignInternal = %q, %v; want %q", bad, err, want)
	}
	if bad, err := foreignInternal(dir, rootPath, paths); err != nil || len(bad) != 2 {
		t.Errorf("as the root module: %q, %v; want the two imports of other modules' packages (own, jose)", bad, err)
	}
}
