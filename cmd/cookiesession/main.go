// Command cookiesession generates keys for the cookiesession package,
// opens its session cookies for diagnosis and tells what a session payload
// costs on the wire.
//
// Install it from a clone of the repository with
//
//	go install ./cmd/cookiesession
//
// or, once a version is released,
//
//	go install github.com/cookiesession/cookiesession/cmd/cookiesession@latest
//
// Usage:
//
//	cookiesession keygen [-n N]
//	cookiesession inspect [flags] [header ...]
//	cookiesession size [flags] [file]
//	cookiesession size [limit flags] -chart out.svg
//	cookiesession revoke -redis host:port (-subject S | -provider-session SID | -id ID | -all) [flags]
//	cookiesession help [command]
//
// Every command prints its usage with -h.
//
// # keygen
//
// keygen prints N (default 1) new random 32-byte keys, base64url without
// padding, separated by commas on one line: the form that the
// COOKIESESSION_KEYS environment variable holds and that
// keyring.Parse and keyring.FromEnv read. The first
// key seals, every key opens; to rotate, put a new key in front:
//
//	export COOKIESESSION_KEYS=$(cookiesession keygen)
//	export COOKIESESSION_KEYS=$(cookiesession keygen),$COOKIESESSION_KEYS
//
// # inspect
//
// inspect reads a Cookie header, the Set-Cookie lines of a response,
// name=value pairs or a bare cookie value, from its arguments or from
// standard input (other header lines are ignored), joins the session's chunk
// cookies, opens the sealed value and prints the session data as JSON with
// its metadata: session ID, key id, format, creation and seal times, sealed
// expiry, absolute and idle deadlines, and the cookies with their sizes.
// The keys come from -keys-file, -keys or COOKIESESSION_KEYS; -name,
// -max-age, -idle-timeout and the limit flags must match the application's
// Options. An expired session is refused unless -allow-expired is given,
// and then printed with an EXPIRED marker. -json prints one JSON object.
//
// A session too large for its cookies lives in the application's overflow
// store, and its cookie is a sealed reference: inspect says so ("storage
// reference") and prints what the cookie holds. Given the application's
// Redis with -redis host:port (and -redis-prefix, the redisstore
// KeyPrefix), it reads the stored value, opens it with the key the
// reference carries (through the library's own opening, Manager.Load's,
// with the store as Options.Overflow) and prints the session with its
// Redis key, and it says whether the session is revoked (the library's
// Manager.Load, with the store as Options.Revoker): a revoked session is
// printed marked REVOKED.
//
// inspect never prints a key, in its output or in its errors. Prefer
// COOKIESESSION_KEYS or -keys-file to -keys: a command line is visible to
// the machine's other users.
//
// # size
//
// size reads a JSON payload from a file or standard input and prints what
// a session holding it costs: sealed bytes, the cookies and the bytes of
// each under the default budgets (4000 bytes a cookie, 10 cookies, 6144
// bytes in all) or the application's (-cookie-size, -max-chunks,
// -total-size, -max-decoded, as for inspect), with and without
// compression, the length of the Cookie header line the browser sends
// back, whether it fits, and the same payload through
// gorilla/securecookie (JSON serializer, AES-256) for comparison. -json
// prints one JSON object. -chart file draws an SVG chart of cookie bytes
// and cookies against session JSON size for generated payloads of growing
// size instead; the repository's docs/size-chart.svg is its output.
//
// # revoke
//
// revoke records a revocation in the application's Redis (the redisstore
// module), for incident response: -subject S ends every session of the
// subject (Session.SetSubject) that exists when it returns, on every
// server once that server has applied it; -provider-session SID those of
// an identity provider's session (Session.SetProviderSession), as a
// back-channel logout does; -id ID ends one session, by the ID inspect
// prints; -all ends every session that exists when it returns, a panic
// button that needs no key rotation. Sessions and revocations are ordered
// by the revocation's generation, which it prints, not by the clock: a
// login on a server that has applied it is not affected. Exactly one is
// given. The revocation is kept until now + -max-lifetime + 1
// minute; -max-lifetime must be the application's redisstore
// Options.MaxLifetime (default 30 days): a smaller value would make this
// write trim revocations the application still needs. It prints what it
// revoked and until when:
//
//	$ cookiesession revoke -redis 10.0.0.5:6379 -subject user-1234
//	revoked every session of subject "user-1234" made before this revocation (generation 4182), on 10.0.0.5:6379; kept until 2026-12-28T16:00:15.092Z
//
// # Redis
//
// revoke and inspect reach Redis with -redis host:port (any node of a
// Cluster), -redis-user (an ACL user), -redis-tls and -redis-timeout
// (2s: connecting and each command). The password is read from the
// COOKIESESSION_REDIS_PASSWORD environment variable only, never from a
// flag, since a command line is visible to the machine's other users;
// nothing printed contains it.
//
// # Input
//
// Every input, a Cookie header, a cookie value, a key list, a JSON
// payload, may come with one level of quotes around it, single or double,
// as a shell, a copied log line or an env file leaves them: they are
// removed. Quotes that remain are named in the error.
//
// # Exit status
//
//	0  success
//	1  a negative answer: inspect found no session cookie, or one that
//	   does not open (tampered, sealed with another key, expired without
//	   -allow-expired, over a limit, ambiguous, its stored value gone or
//	   changed); size found that the payload does not fit the budgets
//	   (judged with compression when -compress is given); revoke could
//	   not have Redis acknowledge the revocation (unreachable, login
//	   refused, timeout): it may not be recorded, and repeating the
//	   command is safe
//	2  the command could not run as asked: unknown command, bad flags or
//	   arguments, missing or malformed keys, unreadable or non-JSON input
//
// Errors go to standard error, one line each.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/inspect"
)

// Exit statuses, documented in the package comment and the usage text.
const (
	exitOK    = 0
	exitNo    = 1 // a negative answer: the cookie does not open, the payload does not fit
	exitUsage = 2 // the command could not run as asked
)

const usageText = `usage: cookiesession <command> [flags] [arguments]

Commands:
  keygen   print new random keys for COOKIESESSION_KEYS
  inspect  open a session cookie and print the session and its metadata
  size     print what a JSON session payload costs in cookies
  revoke   revoke sessions (a subject, a provider session, a session ID, or all) on Redis
  help     print the usage of a command

Run 'cookiesession <command> -h' for a command's flags.

Exit status: 0 success; 1 a negative answer (the cookie does not open,
the payload does not fit, Redis did not acknowledge a revocation); 2 the
command could not run as asked (bad flags or arguments, missing or
malformed keys, unreadable input).
`

// command is one subcommand: its name and body, which returns the exit
// status.
type command struct {
	name string
	run  func(env *env, args []string) int
}

var commands = []command{
	{"keygen", runKeygen},
	{"inspect", runInspect},
	{"size", runSize},
	{"revoke", runRevoke},
}

// env is what a command reads and writes besides its arguments.
type env struct {
	stdin          io.Reader
	stdinIsTTY     bool
	stdout, stderr io.Writer
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	if fi, err := os.Stdin.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		e.stdinIsTTY = true
	}
	os.Exit(run(e, os.Args[1:]))
}

// run dispatches to the command named by args[0] and returns the exit
// status.
func run(e *env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usageText)
		return exitUsage
	}
	name, rest := args[0], args[1:]
	switch name {
	case "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usageText)
		return exitOK
	case "help":
		if len(rest) == 0 {
			fmt.Fprint(e.stdout, usageText)
			return exitOK
		}
		name, rest = rest[0], []string{"-h"}
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(e, rest)
		}
	}
	fmt.Fprintf(e.stderr, "cookiesession: unknown command %q; run 'cookiesession -h' for usage\n", name)
	return exitUsage
}

// newFlags returns a flag set for the command name whose -h prints usage
// (a synopsis and a description) and the flags.
func newFlags(name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("cookiesession "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprint(w, usage)
		fmt.Fprintln(w, "\nFlags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs, flags and arguments in any order (a
// Cookie header never starts with "-"; after "--" everything is an
// argument). It returns the arguments, and -1 to go on or the exit status:
// 0 after printing usage for -h, 2 after a flag error.
func parseFlags(e *env, fs *flag.FlagSet, args []string) ([]string, int) {
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(e.stdout)
			fs.Usage()
			return nil, exitOK
		}
		if err != nil {
			// The flag package quotes the offending value; no flag that
			// carries a key is parsed by it (they are plain strings), so no
			// key can appear here.
			return nil, usageErr(e, fs.Name(), "%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, -1
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(positional, rest...), -1
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

// limitFlags are the flags that give an application's size limits, the
// same for every command that opens or seals a session (inspect, size).
type limitFlags struct {
	cookieSize, maxChunks, totalSize, maxDecoded *int
}

// addLimitFlags defines -cookie-size, -max-chunks, -total-size and
// -max-decoded on fs.
func addLimitFlags(fs *flag.FlagSet) limitFlags {
	return limitFlags{
		cookieSize: fs.Int("cookie-size", 0, fmt.Sprintf("the application's Options.Limits.CookieSize (0: %d)", inspect.DefaultCookieSize)),
		maxChunks:  fs.Int("max-chunks", 0, fmt.Sprintf("the application's Options.Limits.MaxChunks (0: %d)", inspect.DefaultMaxChunks)),
		totalSize:  fs.Int("total-size", 0, fmt.Sprintf("the application's Options.Limits.TotalSize (0: %d)", inspect.DefaultTotalSize)),
		maxDecoded: fs.Int("max-decoded", 0, "the application's Options.MaxDecodedSize (0: 65536)"),
	}
}

// limits returns the Limits the flags give, zero meaning the default as
// in Options.
func (f limitFlags) limits() cookiesession.Limits {
	return cookiesession.Limits{CookieSize: *f.cookieSize, MaxChunks: *f.maxChunks, TotalSize: *f.totalSize}
}

// budgets returns the limits the flags give with the defaults filled in,
// for printing.
func (f limitFlags) budgets() budgets {
	b := budgets{*f.cookieSize, *f.maxChunks, *f.totalSize}
	if b.CookieSize == 0 {
		b.CookieSize = inspect.DefaultCookieSize
	}
	if b.MaxChunks == 0 {
		b.MaxChunks = inspect.DefaultMaxChunks
	}
	if b.TotalSize == 0 {
		b.TotalSize = inspect.DefaultTotalSize
	}
	return b
}

// unquote removes spaces and then one level of matching quotes, single or
// double, around s, as a shell, a copied log line or an env file leaves
// them around a Cookie header, a cookie value, a key list or a JSON
// document. It reports whether it removed quotes. Every input of the
// commands goes through it, so that "Cookie: a=b" in quotes reads as the
// header it is rather than as a cookie named `"Cookie: a`.
func unquote(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if len(s) >= 2 && (s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		return strings.TrimSpace(s[1 : len(s)-1]), true
	}
	return s, false
}

// usageErr prints a one-line error and the hint to run -h, and returns
// exitUsage.
func usageErr(e *env, cmd, format string, args ...any) int {
	fmt.Fprintf(e.stderr, "%s: %s; run '%s -h' for usage\n", cmd, fmt.Sprintf(format, args...), cmd)
	return exitUsage
}

// fail prints a one-line error and returns code.
func fail(e *env, code int, cmd, format string, args ...any) int {
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ")
	fmt.Fprintf(e.stderr, "%s: %s\n", cmd, msg)
	return code
}

// msg returns err's message without the library's "cookiesession: "
// prefix, for a message that already names the command.
func msg(err error) string {
	return strings.ReplaceAll(err.Error(), "cookiesession: ", "")
}

// maxInput bounds what the commands read from a file or standard input.
const maxInput = 8 << 20

// readInput reads all of r, up to maxInput bytes.
func readInput(r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxInput {
		return nil, fmt.Errorf("input is over %d MiB", maxInput>>20)
	}
	return b, nil
}
