package e2e

import (
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// The Go snippets of the READMEs compile as shown. A snippet is either a
// complete file (it starts with "package") or a fragment: top-level
// declarations, or statements, which the test wraps in a function and
// gives the imports their package names call for. A fragment may use the
// names of the prelude below, which the READMEs introduce before their
// fragments (the keys, a Manager of the Use program's Cart, a mux); it may
// leave a variable or an import unused (it is an excerpt); any other
// error, such as an undefined name, fails the test.

// prelude declares the names fragments may take as given, one
// declaration each, by name.
var prelude = map[string]string{
	"keys":     "var keys [][]byte // keyring.FromEnv()",
	"hashKey":  "var hashKey []byte // gorilla's keys",
	"blockKey": "var blockKey []byte",
	"ctx":      "var ctx = context.Background()",
	"mux":      "var mux = http.NewServeMux()",
	"m":        "var m *cookiesession.Manager[Cart]",
	"Item":     "type Item struct {\n\tSKU string\n\tQty int\n}",
	"Cart":     "type Cart struct {\n\tUser  string\n\tItems []Item\n}",
}

// readmes are the documents whose snippets are checked, from the
// repository root.
var readmes = []string{
	"README.md",
	"gorillastore/README.md",
	"redisstore/README.md",
	"otelmetrics/README.md",
}

// snippetImports maps the package names a fragment may use to their
// import paths.
var snippetImports = map[string]string{
	"cookiesession": "github.com/cookiesession/cookiesession",
	"keyring":       "github.com/cookiesession/cookiesession/keyring",
	"store":         "github.com/cookiesession/cookiesession/store",
	"gorillastore":  "github.com/cookiesession/cookiesession/gorillastore",
	"redisstore":    "github.com/cookiesession/cookiesession/redisstore",
	"otelmetrics":   "github.com/cookiesession/cookiesession/otelmetrics",
	"sessions":      "github.com/gorilla/sessions",
	"securecookie":  "github.com/gorilla/securecookie",
	"context":       "context",
	"errors":        "errors",
	"fmt":           "fmt",
	"http":          "net/http",
	"log":           "log",
	"slog":          "log/slog",
	"os":            "os",
	"signal":        "os/signal",
	"time":          "time",
	"json":          "encoding/json",
	"strings":       "strings",
	"websocket":     "github.com/coder/websocket",
	"wsjson":        "github.com/coder/websocket/wsjson",
	"echo":          "github.com/labstack/echo/v4",
	"session":       "github.com/labstack/echo-contrib/session",
}

var snippetRE = regexp.MustCompile("(?s)```go\n(.*?)```")

// excusable are compiler errors a fragment may have.
var excusable = regexp.MustCompile(`declared and not used|imported and not used`)

func TestReadmeSnippetsCompile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every snippet")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	var snippets []*snippet
	for _, doc := range readmes {
		text, err := os.ReadFile(filepath.Join(root, doc))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range snippetRE.FindAllStringSubmatch(string(text), -1) {
			snippets = append(snippets, writeSnippet(t, fmt.Sprintf("%s#%d", doc, i+1), m[1]))
		}
	}
	if len(snippets) == 0 {
		t.Fatal("no snippets found")
	}
	// One build of every snippet: the go command shares the work and
	// runs the compilations in parallel. The snippets are compiled as
	// packages that are not main, so nothing is linked: the check is
	// that they compile.
	args := []string{"build", "-gcflags=-e"}
	for _, sn := range snippets {
		args = append(args, "./"+sn.dir)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	explained := false
	for _, sn := range snippets {
		t.Run(sn.name, func(t *testing.T) {
			if sn.check(t, string(out)) {
				explained = true
			}
		})
	}
	if err != nil && !explained {
		t.Fatalf("go build failed, and no snippet's error explains it:\n%s", out)
	}
}

// snippet is one Go snippet of a README, written as a package of this
// module in its own directory, removed when the test ends.
type snippet struct {
	name, file, dir string
	fragment        bool
}

// writeSnippet writes src as a package of this module.
func writeSnippet(t *testing.T, name, src string) *snippet {
	t.Helper()
	file, fragment := snippetFile(src)
	dir, err := os.MkdirTemp(".", "_snippet")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(asLibrary(file)), 0o644); err != nil {
		t.Fatal(err)
	}
	if fragment {
		if err := os.WriteFile(filepath.Join(dir, "prelude.go"), []byte(asLibrary(preludeFile(src))), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &snippet{name: name, file: file, dir: filepath.Base(dir), fragment: fragment}
}

// asLibrary renames the package main of a snippet, so that building it
// compiles it without linking a program.
func asLibrary(file string) string {
	return packageMainRE.ReplaceAllString(file, "${1}package snippet")
}

var packageMainRE = regexp.MustCompile(`(?m)\A((?:\s*//[^\n]*\n)*\s*)package main\b`)

// check finds the errors of the build output out that concern sn and
// fails t on any but those a fragment may have. It reports whether out
// had anything to say about sn.
func (sn *snippet) check(t *testing.T, out string) bool {
	t.Helper()
	var bad []string
	mine := false
	for _, line := range strings.Split(out, "\n") {
		if !strings.Contains(line, sn.dir+"/") && !strings.HasSuffix(line, "/"+sn.dir) {
			continue
		}
		mine = true
		if strings.Contains(line, sn.dir+"/main.go:") && !(sn.fragment && excusable.MatchString(line)) {
			bad = append(bad, line)
		}
	}
	if !mine {
		return false
	}
	if len(bad) > 0 || !strings.Contains(out, sn.dir+"/main.go:") {
		if len(bad) == 0 {
			bad = []string{out}
		}
		t.Errorf("snippet does not compile:\n%s\n--- as built:\n%s", strings.Join(bad, "\n"), sn.file)
	}
	return true
}

// snippetFile makes a Go file of src, and says whether it is a fragment.
func snippetFile(src string) (string, bool) {
	if strings.HasPrefix(strings.TrimSpace(src), "package ") {
		return src, false
	}
	used := map[string]bool{}
	for name := range snippetImports {
		if regexp.MustCompile(`\b` + name + `\.`).MatchString(src) {
			used[name] = true
		}
	}
	var names []string
	for name := range used {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n")
	for _, name := range names {
		fmt.Fprintf(&b, "\t%s %q\n", name, snippetImports[name])
	}
	b.WriteString(")\n\n")
	// Declarations stand at the top level; statements go in a function.
	if _, err := parser.ParseFile(token.NewFileSet(), "", b.String()+src, 0); err == nil {
		b.WriteString(src)
		if !regexp.MustCompile(`(?m)^func main\(\)`).MatchString(src) {
			b.WriteString("\nfunc main() {}\n")
		}
	} else {
		b.WriteString("func main() {\n" + src + "\n}\n")
	}
	return b.String(), true
}

// preludeFile declares the prelude's names that src does not declare at
// its top level.
func preludeFile(src string) string {
	var b strings.Builder
	b.WriteString("package main\n\nimport (\n\t\"context\"\n\t\"net/http\"\n\n\t\"github.com/cookiesession/cookiesession\"\n)\n\n")
	b.WriteString("var _ = context.Background\nvar _ = http.NewServeMux\nvar _ cookiesession.Options\n\n")
	names := make([]string, 0, len(prelude))
	for name := range prelude {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if regexp.MustCompile(`(?m)^(type|var|const|func) ` + name + `\b`).MatchString(src) {
			continue
		}
		b.WriteString(prelude[name] + "\n")
	}
	return b.String()
}
