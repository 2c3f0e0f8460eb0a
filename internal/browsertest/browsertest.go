// Package browsertest starts a real headless Chromium for tests, so that a
// test can check what a browser does with the cookies that the library sets.
//
// It uses Debian's chromium package. A test that calls [New] is skipped when
// Chromium is not installed, unless the CI environment variable is set: under
// CI a missing browser is a failure, so that a CI machine without Chromium
// cannot pass by skipping every browser test.
package browsertest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// Timeout bounds the whole life of the browser context that New returns,
// startup included. Actions run after it fail with context.DeadlineExceeded.
const Timeout = 60 * time.Second

// closeTimeout bounds how long the cleanup waits for the browser to close
// gracefully before it kills it.
const closeTimeout = 10 * time.Second

// debianChromium is where Debian's chromium package installs its launcher.
const debianChromium = "/usr/bin/chromium"

// flags are the command-line switches passed to Chromium, besides
// --user-data-dir. They keep the browser headless and quiet: no background
// network traffic, no component or extension updates, no sync, no QUIC. The
// browser should only ever talk to the loopback servers of the tests.
var flags = []string{
	"headless",
	"no-sandbox",
	"disable-gpu",
	"disable-background-networking",
	"disable-component-update",
	"disable-sync",
	"no-first-run",
	"disable-quic",
	// Harmless extras: no extensions, no default-browser prompt, and
	// shared memory in the temporary directory because /dev/shm is small
	// in containers.
	"disable-extensions",
	"no-default-browser-check",
	"disable-dev-shm-usage",
}

// findChromium returns the path of the Chromium executable, or "" if there
// is none.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if fi, err := os.Stat(debianChromium); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return debianChromium
	}
	return ""
}

// New starts a fresh headless Chromium (Debian's `chromium`, found on PATH as
// chromium or chromium-browser, or at /usr/bin/chromium) with a fresh
// user-data dir under t.TempDir(), and returns a chromedp context whose
// browser is closed by t.Cleanup. It skips the test with a clear message when
// Chromium is absent and the CI environment variable is unset; under CI (CI
// non-empty) a missing Chromium is a test failure (t.Fatal).
//
// extra adds to the switches and options, after the defaults (for example
// chromedp.Flag("enable-features", …) for a feature under test).
//
// The returned context has a deadline of [Timeout] from the call. Each call
// starts its own browser with its own cookie store; to open more tabs in the
// same browser, derive contexts from it with chromedp.NewContext.
func New(t testing.TB, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	execPath := findChromium()
	if execPath == "" {
		// Go's test cache replays this skip as a pass until the test's
		// inputs change, and it does not see a browser installed since:
		// it hashes the environment variables a test reads and the files
		// it opens or stats, but only files inside the module. Hence the
		// -count=1 in the message.
		top, _, _ := strings.Cut(t.Name(), "/")
		msg := "browsertest: Chromium not found (looked for chromium and chromium-browser on PATH, and " +
			debianChromium + "); to run this test, install Debian's chromium package (apt-get install -y chromium), " +
			"then run it with -count=1 so that Go's test cache does not replay this skip: go test -count=1 -run '^" + top + "$' in this package"
		if os.Getenv("CI") != "" {
			t.Fatal(msg + " (CI is set, so a missing browser is a failure)")
		}
		t.Skip(msg)
	}

	deadline := time.Now().Add(Timeout)
	// TempDir registers its removal first, so that it runs after the
	// browser cleanup below (cleanups run last-in, first-out).
	userDataDir := t.TempDir()

	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(execPath)}
	for _, f := range flags {
		opts = append(opts, chromedp.Flag(f, true))
	}
	opts = append(opts, chromedp.UserDataDir(userDataDir))
	opts = append(opts, extra...)

	allocCtx, allocCancel := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, browserCancel := chromedp.NewContext(allocCtx)

	// Start the browser now, so that a browser that cannot start fails the
	// test here and not in the first action. The context of the first Run
	// owns the browser, so it must have no deadline; the wait below bounds
	// the startup instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	var startErr error
	select {
	case startErr = <-started:
	case <-time.After(time.Until(deadline)):
		startErr = errors.New("timed out after " + Timeout.String())
	}
	if startErr != nil {
		browserCancel()
		allocCancel()
		t.Fatalf("browsertest: starting %s: %v", execPath, startErr)
	}

	ctx, cancel := context.WithDeadline(browserCtx, deadline)
	t.Cleanup(func() {
		cancel()
		closeCtx, closeCancel := context.WithTimeout(browserCtx, closeTimeout)
		err := chromedp.Cancel(closeCtx)
		closeCancel()
		browserCancel()
		// Waits until the browser process has exited, so that the removal
		// of the user-data dir does not race with it.
		allocCancel()
		if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			t.Logf("browsertest: closing the browser: %v", err)
		}
	})
	return ctx
}

// Cookies returns the cookies that the browser of ctx (a context from [New],
// or one derived from it) holds for url, read from the browser's own cookie
// store through the DevTools protocol (Network.getCookies). Unlike
// document.cookie, the result includes HttpOnly cookies and their
// attributes. It fails the test on error.
func Cookies(t testing.TB, ctx context.Context, url string) []*network.Cookie {
	t.Helper()
	cookies, err := chromedp.Run(ctx, func(ctx context.Context, tgt *chromedp.Target) ([]*network.Cookie, error) {
		res, err := cdp.Call(ctx, tgt, network.GetCookies, network.GetCookiesParams{URLs: []string{url}})
		if err != nil {
			return nil, err
		}
		return res.Cookies, nil
	})
	if err != nil {
		t.Fatalf("browsertest: reading the cookies for %s: %v", url, err)
	}
	return cookies
}
