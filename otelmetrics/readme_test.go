package otelmetrics_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMEProgramBuilds builds the complete program of this module's
// README ("Use" section), as an application would: in a module of its own
// that requires cookiesession and otelmetrics (from this working tree), offline.
func TestREADMEProgramBuilds(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the README's program")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Use\n")
	if !ok {
		t.Fatal(`README.md has no "## Use" section`)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(section, -1)
	if len(blocks) != 1 || !strings.HasPrefix(blocks[0][1], "package main\n") {
		t.Fatalf("the Use section should hold one complete program, found %d Go blocks", len(blocks))
	}
	program := blocks[0][1]
	if !strings.Contains(program, `"github.com/cookiesession/cookiesession/otelmetrics"`) {
		t.Fatal("the README's program does not use otelmetrics")
	}

	// The application's go.mod: otelmetrics' requirements (so that its
	// go.sum covers the build), this module, and both replaced by the
	// working tree (the version they require is not released yet).
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(self)
	gomod, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	gosum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	mod := strings.Replace(string(gomod), "module github.com/cookiesession/cookiesession/otelmetrics",
		"module example.com/readme", 1)
	mod += "\nrequire github.com/cookiesession/cookiesession/otelmetrics v0.0.0-00010101000000-000000000000\n" +
		"\nreplace github.com/cookiesession/cookiesession => " + root + "\n" +
		"\nreplace github.com/cookiesession/cookiesession/otelmetrics => " + self + "\n"
	dir := t.TempDir()
	for name, data := range map[string]string{"go.mod": mod, "go.sum": string(gosum), "main.go": program} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(goBin, "build", "-o", os.DevNull, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off", "GOPROXY=off", "GOFLAGS=-mod=mod -buildvcs=false")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the README's program does not build: %v\n%s", err, out)
	}
}
