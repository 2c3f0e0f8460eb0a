// Command release rehearses a release of the repository's modules, as
// RELEASING.md describes, and checks that every module is tidy. Run it
// from anywhere inside the repository:
//
//	go run ./internal/release
//
// The release version is the one at which the modules require each other
// (one version for all, never a pseudo-version or a replace directive in a
// go.mod); go.work points that version at the working tree. The rehearsal,
// with a new, empty module cache and GOWORK=off:
//
//  1. Each published module (every module of go.work outside internal/ and
//     examples/) is tidied in a copy with `go mod tidy`, against a file
//     GOPROXY that serves the siblings already zipped in front of the usual
//     proxy; the copy's go.mod must equal the committed one, and so must
//     its go.sum but for the lines of sibling modules (which only the
//     release commit holds; see -write-sums). The copy is then zipped with
//     golang.org/x/mod/zip as the release version into that proxy. Its
//     non-test files must import no internal package of another module
//     (the root's included): a stranger may install it beside a sibling at
//     another version, whose internal packages are free to change.
//  2. The README's line `go install .../cmd/cookiesession@latest` installs
//     VERSION from the proxy, and the binary runs (keygen).
//  3. Each published library module alone is `go get`-able into a scratch
//     module, and a program importing every one of its public packages
//     builds.
//  4. The unpublished modules are tidied like the published ones, against
//     a second file proxy that serves them; they are never installed.
//
// Flags:
//
//	-write-sums  write each published module's tidied go.sum, sibling
//	             lines included, into the working tree (the release commit)
//	-next V      require every sibling at V instead, in every go.mod and
//	             in go.work's replacements, drop the siblings' go.sum
//	             lines (after a release), and exit
//	-work DIR    keep the file proxies, the module cache and the scratch
//	             modules in DIR instead of a temporary directory
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

// rootPath is the root module; every module of the repository is under it.
const rootPath = "github.com/cookiesession/cookiesession"

// published reports whether the module at path (relative to the root
// module, "" for the root) is released: test harnesses (internal/) and the
// examples are not.
func published(rel string) bool {
	first, _, _ := strings.Cut(rel, "/")
	return first != "internal" && first != "examples"
}

// mod is one module of the workspace.
type mod struct {
	path string // module path
	rel  string // directory relative to the repository root, "" for the root
	dir  string // absolute directory
	file *modfile.File
	deps []string // sibling modules it requires
}

func (m *mod) name() string {
	if m.rel == "" {
		return "."
	}
	return m.rel
}

func main() {
	writeSums := flag.Bool("write-sums", false, "write each module's tidied go.sum (sibling lines included) into the working tree")
	next := flag.String("next", "", "require every sibling at this version instead, in every go.mod and go.work, and exit")
	work := flag.String("work", "", "keep the proxies, module cache and scratch modules in this directory")
	flag.Parse()
	if err := run(*writeSums, *next, *work); err != nil {
		fmt.Fprintln(os.Stderr, "release:", err)
		os.Exit(1)
	}
}

func run(writeSums bool, next, work string) error {
	gowork, err := output(nil, "", "go", "env", "GOWORK")
	if err != nil || gowork == "" || gowork == "off" {
		return errors.New("run inside the repository, with its go.work in force")
	}
	root := filepath.Dir(gowork)
	wsData, err := os.ReadFile(gowork)
	if err != nil {
		return err
	}
	ws, err := modfile.ParseWork(gowork, wsData, nil)
	if err != nil {
		return err
	}
	mods, err := loadModules(root, ws)
	if err != nil {
		return err
	}
	if next != "" {
		return bump(gowork, ws, mods, next)
	}
	version, err := releaseVersion(ws, mods)
	if err != nil {
		return err
	}
	order, err := sortModules(mods)
	if err != nil {
		return err
	}
	if tags, err := output(nil, root, "git", "tag", "--list", version); err == nil && tags != "" {
		fmt.Printf("note: %s is tagged already; the rehearsal serves the working tree as %s\n", version, version)
	}

	temporary := work == ""
	if temporary {
		if work, err = os.MkdirTemp("", "cookiesession-release-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	if work, err = filepath.Abs(work); err != nil {
		return err
	}
	r := &rehearsal{root: root, work: work, version: version, mods: mods}
	if temporary {
		defer r.cleanModcache() // registered after RemoveAll: runs first
	}
	if err := r.setup(); err != nil {
		return err
	}
	files, err := r.trackedFiles()
	if err != nil {
		return err
	}

	start := time.Now()
	fmt.Printf("release %s: %d modules; GOWORK=off, a new module cache, GOPROXY=file://…/published,%s\n", version, len(order), r.usualProxy)
	var failed []string
	for _, pub := range []bool{true, false} {
		for _, m := range order {
			if published(m.rel) != pub {
				continue
			}
			if err := r.stageTidyZip(m, files, writeSums); err != nil {
				fmt.Printf("FAIL %-22s %v\n", m.name(), err)
				failed = append(failed, m.name())
			}
		}
		if pub {
			if len(failed) > 0 {
				return fmt.Errorf("%s: not tidy or not zipped; rehearsal not run", strings.Join(failed, ", "))
			}
			if err := r.rehearse(order); err != nil {
				return err
			}
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%s: not tidy", strings.Join(failed, ", "))
	}
	fmt.Printf("ok: release %s rehearsed, every module tidy (%s)\n", version, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// loadModules reads the go.mod of every module go.work uses.
func loadModules(root string, ws *modfile.WorkFile) (map[string]*mod, error) {
	mods := map[string]*mod{}
	for _, u := range ws.Use {
		dir := filepath.Join(root, filepath.FromSlash(u.Path))
		gomod := filepath.Join(dir, "go.mod")
		data, err := os.ReadFile(gomod)
		if err != nil {
			return nil, err
		}
		f, err := modfile.Parse(gomod, data, nil)
		if err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return nil, err
		}
		rel = filepath.ToSlash(rel)
		if rel == "." {
			rel = ""
		}
		if want := path.Join(rootPath, rel); f.Module.Mod.Path != want {
			return nil, fmt.Errorf("%s: module %s, want %s (the module path follows the directory)", gomod, f.Module.Mod.Path, want)
		}
		mods[f.Module.Mod.Path] = &mod{path: f.Module.Mod.Path, rel: rel, dir: dir, file: f}
	}
	if mods[rootPath] == nil {
		return nil, fmt.Errorf("go.work does not use the root module %s", rootPath)
	}
	for _, m := range mods {
		for _, rep := range m.file.Replace {
			return nil, fmt.Errorf("%s/go.mod replaces %s: a published go.mod has no replace directive (go.work points the siblings at the working tree)", m.name(), rep.Old.Path)
		}
		for _, req := range m.file.Require {
			if isSibling(req.Mod.Path) {
				if mods[req.Mod.Path] == nil {
					return nil, fmt.Errorf("%s/go.mod requires %s, which go.work does not use", m.name(), req.Mod.Path)
				}
				m.deps = append(m.deps, req.Mod.Path)
			}
		}
	}
	return mods, nil
}

func isSibling(p string) bool { return p == rootPath || strings.HasPrefix(p, rootPath+"/") }

// releaseVersion returns the one version at which the modules require each
// other, and checks that go.work points it at the working tree.
func releaseVersion(ws *modfile.WorkFile, mods map[string]*mod) (string, error) {
	version := ""
	for _, m := range mods {
		for _, req := range m.file.Require {
			if !isSibling(req.Mod.Path) {
				continue
			}
			v := req.Mod.Version
			switch {
			case !semver.IsValid(v) || semver.Canonical(v) != v || module.IsPseudoVersion(v):
				return "", fmt.Errorf("%s/go.mod requires %s@%s: not a release version", m.name(), req.Mod.Path, v)
			case version == "":
				version = v
			case v != version:
				return "", fmt.Errorf("%s/go.mod requires %s@%s, others require %s: one version for all", m.name(), req.Mod.Path, v, version)
			}
		}
	}
	if version == "" {
		return "", errors.New("no module requires a sibling: nothing tells the release version")
	}
	replaced := map[string]bool{}
	for _, rep := range ws.Replace {
		m := mods[rep.Old.Path]
		if m == nil || rep.Old.Version != version || filepath.Clean(rep.New.Path) != filepath.Clean("./"+m.rel) {
			return "", fmt.Errorf("go.work replaces %s %s => %s; want each required sibling at %s => its directory", rep.Old.Path, rep.Old.Version, rep.New.Path, version)
		}
		replaced[rep.Old.Path] = true
	}
	for _, m := range mods {
		for _, d := range m.deps {
			if !replaced[d] {
				return "", fmt.Errorf("go.work lacks `replace %s %s => ./%s`, which the workspace needs (%s/go.mod requires it)", d, version, mods[d].rel, m.name())
			}
		}
	}
	return version, nil
}

// sortModules orders the modules so that each comes after the siblings it
// requires; a published module must not require an unpublished one.
func sortModules(mods map[string]*mod) ([]*mod, error) {
	var order []*mod
	state := map[string]int{} // 1: visiting, 2: done
	var visit func(m *mod) error
	visit = func(m *mod) error {
		switch state[m.path] {
		case 1:
			return fmt.Errorf("%s: the modules require each other in a cycle", m.name())
		case 2:
			return nil
		}
		state[m.path] = 1
		for _, d := range m.deps {
			if published(m.rel) && !published(mods[d].rel) {
				return fmt.Errorf("%s is published but requires %s, which is not", m.name(), mods[d].name())
			}
			if err := visit(mods[d]); err != nil {
				return err
			}
		}
		state[m.path] = 2
		order = append(order, m)
		return nil
	}
	paths := make([]string, 0, len(mods))
	for p := range mods {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		if err := visit(mods[p]); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// bump makes every sibling requirement, and go.work's replacements, name
// version next.
func bump(gowork string, ws *modfile.WorkFile, mods map[string]*mod, next string) error {
	if !semver.IsValid(next) || semver.Canonical(next) != next || module.IsPseudoVersion(next) {
		return fmt.Errorf("-next %s: not a release version", next)
	}
	for _, m := range mods {
		if err := dropSiblingSums(filepath.Join(m.dir, "go.sum")); err != nil {
			return err
		}
		changed := false
		for _, req := range m.file.Require {
			if isSibling(req.Mod.Path) && req.Mod.Version != next {
				if err := m.file.AddRequire(req.Mod.Path, next); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			continue
		}
		data, err := m.file.Format()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(m.dir, "go.mod"), data, 0o644); err != nil {
			return err
		}
	}
	for _, rep := range slices.Clone(ws.Replace) {
		if err := ws.DropReplace(rep.Old.Path, rep.Old.Version); err != nil {
			return err
		}
		if err := ws.AddReplace(rep.Old.Path, next, rep.New.Path, rep.New.Version); err != nil {
			return err
		}
	}
	ws.Cleanup()
	return os.WriteFile(gowork, modfile.Format(ws.Syntax), 0o644)
}

// dropSiblingSums removes the lines of sibling modules from a go.sum: they
// name versions the next release replaces.
func dropSiblingSums(file string) error {
	data, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	var kept []byte
	for _, l := range strings.SplitAfter(string(data), "\n") {
		if f := strings.Fields(l); len(f) == 0 || !isSibling(f[0]) {
			kept = append(kept, l...)
		}
	}
	return os.WriteFile(file, kept, 0o644)
}

// rehearsal is one run: its directories and environment.
type rehearsal struct {
	root, work string
	version    string
	mods       map[string]*mod
	usualProxy string
	goflags    string

	modcache, published, unpublished, stage, scratch, bin string
}

func (r *rehearsal) setup() error {
	proxy, err := output(nil, "", "go", "env", "GOPROXY")
	if err != nil {
		return err
	}
	r.usualProxy = proxy
	if r.goflags, err = output(nil, "", "go", "env", "GOFLAGS"); err != nil {
		return err
	}
	r.modcache = filepath.Join(r.work, "modcache")
	r.published = filepath.Join(r.work, "proxy", "published")
	r.unpublished = filepath.Join(r.work, "proxy", "unpublished")
	r.stage = filepath.Join(r.work, "stage")
	r.scratch = filepath.Join(r.work, "scratch")
	r.bin = filepath.Join(r.work, "bin")
	// A kept -work directory: what a previous run served as this version
	// is stale, so the module cache keeps only other modules.
	r.cleanOurs()
	for _, d := range []string{r.published, r.unpublished, r.stage, r.scratch, r.bin} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return os.MkdirAll(r.modcache, 0o755)
}

// cleanOurs removes the repository's modules from the module cache.
func (r *rehearsal) cleanOurs() {
	for _, d := range []string{filepath.Join(r.modcache, rootPath), filepath.Join(r.modcache, "cache", "download", rootPath)} {
		filepath.WalkDir(d, func(p string, e os.DirEntry, err error) error {
			if err == nil && e.IsDir() {
				os.Chmod(p, 0o755) // the module cache is read-only
			}
			return nil
		})
		os.RemoveAll(d)
	}
}

// cleanModcache empties the module cache (read-only files) so that the
// work directory can be removed.
func (r *rehearsal) cleanModcache() {
	r.goCmd(false, r.work, "clean", "-modcache")
}

// env is the environment of every go command of the rehearsal: no
// workspace, the new module cache, the file proxies in front of the usual
// one, and no checksum database for the unpublished versions of the
// repository's modules (every other module is checked as usual).
func (r *rehearsal) env(withUnpublished bool) []string {
	proxy := "file://" + filepath.ToSlash(r.published)
	if withUnpublished {
		proxy += ",file://" + filepath.ToSlash(r.unpublished)
	}
	proxy += "," + r.usualProxy
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "GOWORK", "GOMODCACHE", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOBIN", "GOFLAGS":
			continue
		}
		env = append(env, kv)
	}
	// -trimpath: the module cache is new on every run, and builds that
	// record its path would miss the build cache every time.
	return append(env, "GOWORK=off", "GOMODCACHE="+r.modcache, "GOPROXY="+proxy,
		"GONOSUMDB="+rootPath, "GOBIN="+r.bin, "GOFLAGS="+strings.TrimSpace(r.goflags+" -trimpath"))
}

func (r *rehearsal) goCmd(withUnpublished bool, dir string, args ...string) (string, error) {
	return output(r.env(withUnpublished), dir, "go", args...)
}

// trackedFiles lists the repository's files as a checkout of the release
// commit would hold them: tracked, or new and not ignored (so that a
// rehearsal before committing sees the change), and present.
func (r *rehearsal) trackedFiles() ([]string, error) {
	out, err := output(nil, r.root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		return nil, fmt.Errorf("listing the repository's files: %w", err)
	}
	var files []string
	for _, f := range strings.Split(out, "\x00") {
		if f == "" {
			continue
		}
		if fi, err := os.Lstat(filepath.Join(r.root, filepath.FromSlash(f))); err == nil && fi.Mode().IsRegular() {
			files = append(files, f)
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// moduleFiles returns the files of m among files: those under its
// directory and not under a deeper directory holding a go.mod.
func moduleFiles(m *mod, files []string) []string {
	modDirs := map[string]bool{}
	for _, f := range files {
		if path.Base(f) == "go.mod" {
			modDirs[path.Dir(f)] = true
		}
	}
	self := m.rel
	if self == "" {
		self = "."
	}
	var out []string
	for _, f := range files {
		if m.rel != "" && !strings.HasPrefix(f, m.rel+"/") {
			continue
		}
		d := path.Dir(f)
		for d != self && d != "." && !modDirs[d] {
			d = path.Dir(d)
		}
		if d == self {
			out = append(out, f)
		}
	}
	return out
}

// stageTidyZip copies m into the stage, tidies the copy against the
// proxies, compares it with the working tree, and zips it into its proxy.
func (r *rehearsal) stageTidyZip(m *mod, files []string, writeSums bool) error {
	start := time.Now()
	stage := filepath.Join(r.stage, filepath.FromSlash(m.name()))
	for _, f := range moduleFiles(m, files) {
		rel := strings.TrimPrefix(f, m.rel+"/")
		if m.rel == "" {
			rel = f
		}
		if err := copyFile(filepath.Join(r.root, filepath.FromSlash(f)), filepath.Join(stage, filepath.FromSlash(rel))); err != nil {
			return err
		}
	}
	var problems []string
	if published(m.rel) {
		bad, err := foreignInternal(stage, m.path, slices.Collect(maps.Keys(r.mods)))
		if err != nil {
			return err
		}
		problems = append(problems, bad...)
	}
	if len(problems) > 0 {
		return fmt.Errorf("imports another module's internal package, which may change between two versions of it:\n%s", strings.Join(problems, "\n"))
	}
	if _, err := r.goCmd(!published(m.rel), stage, "mod", "tidy"); err != nil {
		return fmt.Errorf("go mod tidy: %w", err)
	}
	for _, name := range []string{"go.mod", "go.sum"} {
		want, _ := os.ReadFile(filepath.Join(m.dir, name))
		got, _ := os.ReadFile(filepath.Join(stage, name))
		onlyWant, onlyGot := lineDiff(want, got, name == "go.sum")
		for _, l := range onlyWant {
			problems = append(problems, fmt.Sprintf("  %s/%s: - %s", m.name(), name, l))
		}
		for _, l := range onlyGot {
			problems = append(problems, fmt.Sprintf("  %s/%s: + %s", m.name(), name, l))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("`go mod tidy` would change (sibling go.sum lines aside):\n%s", strings.Join(problems, "\n"))
	}
	if writeSums && published(m.rel) { // no proxy will ever serve the unpublished ones
		if err := copyFile(filepath.Join(stage, "go.sum"), filepath.Join(m.dir, "go.sum")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	proxy := r.published
	if !published(m.rel) {
		proxy = r.unpublished
	}
	if err := r.zip(m, stage, proxy); err != nil {
		return err
	}
	what := "published"
	if !published(m.rel) {
		what = "unpublished: tidy only"
	}
	fmt.Printf("tidy, zip %-22s %s@%s (%s) %s\n", m.name(), m.path, r.version, what, time.Since(start).Round(100*time.Millisecond))
	return nil
}

// foreignInternal returns, one per line, the imports of the non-test Go
// files in dir (module modPath) that name an internal package of another
// of the modules paths: a published module, installed at one version
// beside a sibling at another, may import only its own internal packages.
func foreignInternal(dir, modPath string, paths []string) ([]string, error) {
	owner := func(p string) string { // the longest module path holding p
		best := ""
		for _, q := range paths {
			if (p == q || strings.HasPrefix(p, q+"/")) && len(q) > len(best) {
				best = q
			}
		}
		return best
	}
	var bad []string
	err := filepath.WalkDir(dir, func(file string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(file, ".go") || strings.HasSuffix(file, "_test.go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			i := strings.Index(p+"/", "/internal/")
			if i < 0 || !isSibling(p) || owner(p[:i]) == modPath {
				continue
			}
			rel, _ := filepath.Rel(dir, file)
			bad = append(bad, fmt.Sprintf("  %s: %s", filepath.ToSlash(rel), p))
		}
		return nil
	})
	return bad, err
}

// lineDiff returns the lines only in a and only in b; for a go.sum, the
// lines of sibling modules are left out (see RELEASING.md).
func lineDiff(a, b []byte, sum bool) (onlyA, onlyB []string) {
	lines := func(data []byte) map[string]bool {
		set := map[string]bool{}
		sc := bufio.NewScanner(bytes.NewReader(data))
		for sc.Scan() {
			l := sc.Text()
			if fields := strings.Fields(l); sum && len(fields) > 0 && isSibling(fields[0]) {
				continue
			}
			set[l] = true
		}
		return set
	}
	la, lb := lines(a), lines(b)
	if !sum && bytes.Equal(a, b) {
		return nil, nil
	}
	for l := range la {
		if !lb[l] {
			onlyA = append(onlyA, l)
		}
	}
	for l := range lb {
		if !la[l] {
			onlyB = append(onlyB, l)
		}
	}
	slices.Sort(onlyA)
	slices.Sort(onlyB)
	if !sum && len(onlyA) == 0 && len(onlyB) == 0 {
		onlyB = []string{"(same lines, another order or layout)"}
	}
	return onlyA, onlyB
}

// zip writes m's staged copy into proxy as the release version: the
// module zip, its go.mod, an .info and the version list.
func (r *rehearsal) zip(m *mod, stage, proxy string) error {
	esc, err := module.EscapePath(m.path)
	if err != nil {
		return err
	}
	dir := filepath.Join(proxy, filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(dir, r.version)
	z, err := os.Create(base + ".zip")
	if err != nil {
		return err
	}
	err = modzip.CreateFromDir(z, module.Version{Path: m.path, Version: r.version}, stage)
	if cerr := z.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("zip: %w", err)
	}
	if err := copyFile(filepath.Join(stage, "go.mod"), base+".mod"); err != nil {
		return err
	}
	info := fmt.Sprintf("{\"Version\":%q,\"Time\":%q}\n", r.version, time.Now().UTC().Format(time.RFC3339))
	if err := os.WriteFile(base+".info", []byte(info), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "list"), []byte(r.version+"\n"), 0o644)
}

// rehearse installs the command as the README says, and builds a program
// on each published library module alone, from the published proxy only.
func (r *rehearsal) rehearse(order []*mod) error {
	start := time.Now()
	cmd := rootPath + "/cmd/cookiesession"
	line, err := r.readmeInstall()
	if err != nil {
		return err
	}
	if _, err := r.goCmd(false, r.scratch, strings.Fields(line)[1:]...); err != nil {
		return fmt.Errorf("%s: %w", line, err)
	}
	bin := filepath.Join(r.bin, "cookiesession")
	info, err := r.goCmd(false, r.scratch, "version", "-m", bin)
	if err != nil {
		return err
	}
	if want := "\tmod\t" + cmd + "\t" + r.version + "\t"; !strings.Contains(info, want) {
		return fmt.Errorf("%s installed another version than %s:\n%s", line, r.version, info)
	}
	key, err := output(nil, "", bin, "keygen")
	if err != nil {
		return fmt.Errorf("the installed cookiesession keygen: %w", err)
	}
	fmt.Printf("README.md's `%s`: installed %s; `cookiesession keygen` printed a %d-character key (%s)\n", line, r.version, len(key), time.Since(start).Round(100*time.Millisecond))

	for _, m := range order {
		if !published(m.rel) || m.path == cmd {
			continue
		}
		start := time.Now()
		dir := filepath.Join(r.scratch, strings.ReplaceAll(m.name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		steps := [][]string{
			{"mod", "init", "example.com/rehearsal"},
			{"get", m.path + "@" + r.version},
		}
		for _, s := range steps {
			if _, err := r.goCmd(false, dir, s...); err != nil {
				return fmt.Errorf("%s: go %s: %w", m.name(), strings.Join(s, " "), err)
			}
		}
		list, err := r.goCmd(false, dir, "list", "-f", `{{if ne .Name "main"}}{{.ImportPath}}{{end}}`, m.path+"/...")
		if err != nil {
			return fmt.Errorf("%s: go list: %w", m.name(), err)
		}
		var imports []string
		for _, p := range strings.Fields(list) {
			if !slices.Contains(strings.Split(p, "/"), "internal") {
				imports = append(imports, p)
			}
		}
		if len(imports) == 0 {
			return fmt.Errorf("%s: no public package", m.name())
		}
		var src strings.Builder
		src.WriteString("// A program that imports every public package of one module.\npackage main\n\nimport (\n")
		for _, p := range imports {
			fmt.Fprintf(&src, "\t_ %q\n", p)
		}
		src.WriteString(")\n\nfunc main() {}\n")
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src.String()), 0o644); err != nil {
			return err
		}
		if _, err := r.goCmd(false, dir, "build", "-o", filepath.Join(r.bin, "rehearsal"), "."); err != nil {
			return fmt.Errorf("%s: go build of a program importing %s: %w", m.name(), strings.Join(imports, ", "), err)
		}
		fmt.Printf("go get %s@%s alone, build a program importing %s: ok (%s)\n", m.path, r.version, strings.Join(short(imports), ", "), time.Since(start).Round(100*time.Millisecond))
	}
	return nil
}

// readmeInstall returns the README's line that installs the command.
func (r *rehearsal) readmeInstall() (string, error) {
	data, err := os.ReadFile(filepath.Join(r.root, "README.md"))
	if err != nil {
		return "", err
	}
	want := "go install " + rootPath + "/cmd/cookiesession@latest"
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l == want {
			return l, nil
		}
	}
	return "", fmt.Errorf("README.md has no line %q to rehearse", want)
}

func short(paths []string) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = strings.TrimPrefix(strings.TrimPrefix(p, rootPath), "/")
		if out[i] == "" {
			out[i] = "cookiesession"
		}
	}
	return out
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm()|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// output runs a command in dir (env nil: this process's) and returns its
// trimmed standard output; a failure carries its standard error.
func output(env []string, dir, name string, args ...string) (string, error) {
	c := exec.Command(name, args...)
	c.Dir, c.Env = dir, env
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(stdout.String()), nil
}
