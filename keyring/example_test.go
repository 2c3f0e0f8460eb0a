package keyring_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/cookiesession/cookiesession"
	"github.com/cookiesession/cookiesession/keyring"
)

// A Manager whose keys come from a file, reloaded whenever the file changes
// (a Kubernetes Secret volume, a file a secret agent renders). In a server,
// WatchFile runs in its own goroutine until the server's context ends;
// here it stops after the first ring it applies (two reads that agree),
// which it also logs, with the key ids, on the Manager's logger.
func ExampleWatchFile() {
	dir, err := os.MkdirTemp("", "keys")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "keys")
	ring := base64.RawURLEncoding.EncodeToString(keyring.Generate()) + "," + base64.RawURLEncoding.EncodeToString(keyring.Generate())
	if err := os.WriteFile(keyFile, []byte(ring+"\n"), 0o600); err != nil {
		log.Fatal(err)
	}

	b, err := os.ReadFile(keyFile)
	if err != nil {
		log.Fatal(err)
	}
	keys, err := keyring.Parse(string(b))
	if err != nil {
		log.Fatal(err)
	}
	logger := slog.Default()
	m, err := cookiesession.New[struct{ User string }](cookiesession.Options{Keys: keys, Logger: logger})
	if err != nil {
		log.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	keyring.WatchFile(ctx, keyFile, time.Millisecond, func(keys ...[]byte) error {
		defer cancel() // for the example only: stop after the first ring applied
		if err := m.SetKeys(keys...); err != nil {
			return err
		}
		fmt.Println("session keys reloaded:", len(keys))
		return nil
	}, logger)
	// Output: session keys reloaded: 2
}
