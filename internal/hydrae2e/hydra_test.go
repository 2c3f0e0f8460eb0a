package hydrae2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The provider: Ory Hydra at a fixed version, built from its module
// source with the go command and started with an in-memory database.
const (
	hydraModule  = "github.com/ory/hydra/v2"
	hydraVersion = "v2.3.0"
	// hydraTags builds in SQLite, which DSN=memory needs (cgo), as
	// Hydra's Makefile does.
	hydraTags = "sqlite,sqlite_omit_load_extension"
)

// hydraBinary returns the path of a hydra executable: $HYDRA when set,
// else the one this test built before (in the user's cache directory,
// named for the version: the CI's later passes, under the race detector
// and with another Go toolchain, reuse it), else one it builds now.
// Building needs the go command, the module proxy (or a module cache
// that holds Hydra's dependencies) and a C compiler; without them the
// test skips, unless CI is set: then it fails.
//
// Hydra is built as the main module, in its own directory of the module
// cache, so that its go.mod's replace directives apply (an ory fork of
// gobuffalo/pop; as a dependency of another module they would be
// ignored, and it does not compile). The one replace that points inside
// Hydra's repository (its API client, a nested module the module zip
// leaves out) is dropped for the published client, in a copy of go.mod
// given with -modfile.
func hydraBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("HYDRA"); p != "" {
		return p
	}
	unavailable := func(format string, a ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf(format, a...)
		}
		t.Skipf(format+" (or set HYDRA to a hydra %s executable built with -tags %s)", append(a, hydraVersion, hydraTags)...)
	}
	name := fmt.Sprintf("hydra-%s-%s-%s-%s", hydraVersion, strings.ReplaceAll(hydraTags, ",", "-"), runtime.GOOS, runtime.GOARCH)
	dir := t.TempDir()
	if cache, err := os.UserCacheDir(); err == nil {
		dir = filepath.Join(cache, "cookiesession-hydrae2e")
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return filepath.Join(dir, name)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		unavailable("building Ory Hydra: %v", err)
	}
	if _, err := exec.LookPath("cc"); err != nil {
		unavailable("building Ory Hydra (SQLite needs cgo): %v", err)
	}
	work := t.TempDir()
	// GOFLAGS=-mod=mod lets the build record the published client's sums
	// in the copy's go.sum.
	env := append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod", "CGO_ENABLED=1")
	run := func(dir string, args ...string) []byte {
		t.Helper()
		cmd := exec.Command(goBin, args...)
		cmd.Dir, cmd.Env = dir, env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			unavailable("building Ory Hydra: go %s: %v\n%s", strings.Join(args, " "), err, tail(stderr.String(), 30))
		}
		return out
	}
	start := time.Now()
	var mod struct{ Dir string }
	if err := json.Unmarshal(run(work, "mod", "download", "-json", hydraModule+"@"+hydraVersion), &mod); err != nil || mod.Dir == "" {
		unavailable("building Ory Hydra: go mod download: %v", err)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(filepath.Join(mod.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(work, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(work, "mod", "edit", "-dropreplace", "github.com/ory/hydra-client-go/v2", "go.mod")
	// Built beside its final name, then renamed: a build cut short
	// leaves no executable under that name.
	tmp, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	run(mod.Dir, "build", "-modfile", filepath.Join(work, "go.mod"), "-tags", hydraTags, "-o", filepath.Join(tmp, "hydra"), ".")
	if err := os.Rename(filepath.Join(tmp, "hydra"), filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
	t.Logf("built Ory Hydra %s with %s in %v, kept as %s", hydraVersion, strings.TrimSpace(string(run(work, "env", "GOVERSION"))),
		time.Since(start).Round(100*time.Millisecond), filepath.Join(dir, name))
	return filepath.Join(dir, name)
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// hydra is a running Ory Hydra.
type hydra struct {
	Public, Admin string // base URLs of the public and the admin API
}

// startHydra starts Hydra on two free loopback ports, with an in-memory
// database, in a fresh directory, sending users to the login, consent
// and logout pages at ui (the identity provider's own pages, which the
// test serves). It is stopped when the test ends; its log is shown when
// the test fails.
func startHydra(t *testing.T, bin, ui string) *hydra {
	t.Helper()
	dir := t.TempDir()
	pub, adm := freePort(t), freePort(t)
	h := &hydra{Public: fmt.Sprintf("http://127.0.0.1:%d", pub), Admin: fmt.Sprintf("http://127.0.0.1:%d", adm)}
	logPath := filepath.Join(dir, "hydra.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	// --dev allows an http issuer and http redirect URIs on loopback;
	// --sqa-opt-out keeps it from reporting usage over the network.
	cmd := exec.Command(bin, "serve", "all", "--dev", "--sqa-opt-out")
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, logf, logf
	cmd.Env = append(os.Environ(),
		"DSN=memory",
		"SERVE_PUBLIC_HOST=127.0.0.1", fmt.Sprintf("SERVE_PUBLIC_PORT=%d", pub),
		"SERVE_ADMIN_HOST=127.0.0.1", fmt.Sprintf("SERVE_ADMIN_PORT=%d", adm),
		"URLS_SELF_ISSUER="+h.Public,
		"URLS_LOGIN="+ui+"/login", "URLS_CONSENT="+ui+"/consent", "URLS_LOGOUT="+ui+"/logout",
		"URLS_POST_LOGOUT_REDIRECT="+ui+"/logged-out",
		"SECRETS_SYSTEM=cookiesession-e2e-system-secret-0123456789",
		"LOG_LEVEL=info",
	)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			b, _ := os.ReadFile(logPath)
			t.Logf("hydra's log:\n%s", tail(string(b), 60))
		}
	})
	start := time.Now()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("hydra exited: %v\n%s", err, tail(string(b), 40))
		case <-deadline:
			t.Fatal("hydra not ready after 60 s")
		case <-time.After(50 * time.Millisecond):
		}
		ready := 0
		for _, u := range []string{h.Admin + "/health/ready", h.Public + "/health/ready"} {
			if res, err := http.Get(u); err == nil {
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode == http.StatusOK {
					ready++
				}
			}
		}
		if ready == 2 {
			t.Logf("Ory Hydra ready in %v", time.Since(start).Round(10*time.Millisecond))
			return h
		}
	}
}

// freePort returns a loopback port nobody listens on now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// admin calls Hydra's admin API: method on path with body as JSON, and
// decodes the JSON answer into out (when not nil).
func (h *hydra) admin(method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, h.Admin+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if res.StatusCode/100 != 2 {
		return fmt.Errorf("hydra admin %s %s: %d %s", method, path, res.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("hydra admin %s %s: %w in %s", method, path, err, b)
		}
	}
	return nil
}
