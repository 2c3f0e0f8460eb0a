package main

import (
	"fmt"
	"strings"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
)

const keygenUsage = `usage: cookiesession keygen [-n N]

Prints N new random 32-byte keys, base64url without padding, separated by
commas on one line: the form that COOKIESESSION_KEYS holds and that
keyring.Parse and keyring.FromEnv read. The first key
seals and every key opens, so N > 1 makes a ring, and a new key goes in
front of the old ones to rotate:

  export COOKIESESSION_KEYS=$(cookiesession keygen)
  export COOKIESESSION_KEYS=$(cookiesession keygen),$COOKIESESSION_KEYS

Keep the output secret: anyone holding a key can read and forge sessions.

Exit status: 0 success; 2 bad flags or arguments.
`

// maxRing is the most keys a codec accepts in one ring.
const maxRing = 255

func runKeygen(e *env, args []string) int {
	fs := newFlags("keygen", keygenUsage)
	n := fs.Int("n", 1, "number of keys, 1 to 255")
	args, code := parseFlags(e, fs, args)
	if code >= 0 {
		return code
	}
	switch {
	case len(args) > 0:
		return usageErr(e, fs.Name(), "unexpected argument %q", args[0])
	case *n < 1 || *n > maxRing:
		return usageErr(e, fs.Name(), "-n %d is outside 1..%d", *n, maxRing)
	}
	keys := make([][]byte, *n)
	for {
		for i := range keys {
			keys[i] = keyring.Generate()
		}
		// Two keys of a ring must not share a key id (a 32-bit hash of
		// the key): NewCodec refuses such a ring. Draw again if that
		// ever happens.
		if _, err := cookiesession.NewCodec(keys...); err == nil {
			break
		}
	}
	text := make([]string, len(keys))
	for i, k := range keys {
		text[i] = keyring.Format(k)
	}
	fmt.Fprintln(e.stdout, strings.Join(text, ","))
	return exitOK
}
