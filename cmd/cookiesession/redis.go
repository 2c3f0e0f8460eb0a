package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/cookiesession/cookiesession/redisstore"
)

// passwordEnv holds the Redis password: never a flag, whose value other
// users of the machine see in the process list.
const passwordEnv = "COOKIESESSION_REDIS_PASSWORD"

// redisFlags are the flags that reach the application's Redis (revoke,
// inspect).
type redisFlags struct {
	addr, user, prefix *string
	tls                *bool
	timeout            *time.Duration
}

// addRedisFlags defines -redis, -redis-user, -redis-tls, -redis-prefix
// and -redis-timeout on fs.
func addRedisFlags(fs *flag.FlagSet, addrUsage string) redisFlags {
	return redisFlags{
		addr:    fs.String("redis", "", addrUsage),
		user:    fs.String("redis-user", "", "the Redis ACL user (default: none; the password comes from "+passwordEnv+")"),
		tls:     fs.Bool("redis-tls", false, "connect to Redis with TLS, checking its certificate against the system's roots"),
		prefix:  fs.String("redis-prefix", redisstore.DefaultKeyPrefix, "the application's redisstore Options.KeyPrefix"),
		timeout: fs.Duration("redis-timeout", redisstore.DefaultTimeout, "bound on connecting and on each command"),
	}
}

// open connects to the address given, with the password from the
// environment, and returns a Store whose revocation state is loaded.
// maxLifetime is the Store's Options.MaxLifetime (0: the default). Its
// errors never contain the password.
func (f redisFlags) open(maxLifetime time.Duration) (*redisstore.Store, error) {
	o := redisstore.Options{
		Addr:        *f.addr,
		Username:    *f.user,
		Password:    os.Getenv(passwordEnv),
		KeyPrefix:   *f.prefix,
		MaxLifetime: maxLifetime,
		Timeout:     *f.timeout,
		CacheBytes:  -1, // one command for one read: nothing to cache
	}
	if *f.tls {
		host, _, err := net.SplitHostPort(*f.addr)
		if err != nil {
			return nil, fmt.Errorf("-redis %q: %w", *f.addr, err)
		}
		o.TLS = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	s, err := redisstore.New(o)
	if err != nil {
		return nil, fmt.Errorf("%s", redact(msg(err), o.Password))
	}
	return s, nil
}

// redact removes secret from s, in case a library repeats it.
func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[password]")
}
