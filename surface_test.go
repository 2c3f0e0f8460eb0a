package cookiesession_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSurfaceCounted keeps CHANGES.md's count of the root package's
// exported names true: the last row of its last count table is the count
// of today's non-test files (top-level identifiers; methods of exported
// types), so a change that adds or removes a name says so there.
func TestSurfaceCounted(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	exported := map[string]bool{} // the exported types, whose methods count
	var top int
	var receivers []string // of every exported method
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				switch {
				case !d.Name.IsExported():
				case d.Recv == nil:
					top++
				default:
					receivers = append(receivers, receiver(d.Recv.List[0].Type))
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							top++
							exported[s.Name.Name] = true
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								top++
							}
						}
					}
				}
			}
		}
	}
	n := 0
	for _, r := range receivers {
		if exported[r] {
			n++
		}
	}
	changes, err := os.ReadFile("CHANGES.md")
	if err != nil {
		t.Fatal(err)
	}
	// The last row of the last table headed "| | top-level identifiers | methods |".
	var last string
	inTable := false
	for line := range strings.Lines(string(changes)) {
		switch {
		case strings.HasPrefix(line, "| | top-level identifiers | methods |"):
			inTable = true
		case inTable && strings.HasPrefix(line, "| "):
			last = line
		default:
			inTable = inTable && strings.HasPrefix(line, "|---")
		}
	}
	if want := fmt.Sprintf("| %d | %d |", top, n); !strings.HasSuffix(strings.TrimSpace(last), want) {
		t.Errorf("CHANGES.md's last count is %q; the root package has %d top-level identifiers and %d methods now: add a row ending %q", strings.TrimSpace(last), top, n, want)
	}
}

// receiver returns the name of a method's receiver type.
func receiver(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return receiver(e.X)
	case *ast.IndexExpr:
		return receiver(e.X)
	case *ast.IndexListExpr:
		return receiver(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}
