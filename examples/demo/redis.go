//go:build redis

package main

import "github.com/cookiesession/cookiesession/redisstore"

// openRedis returns the redisstore Store on addr, for revocation and
// overflow shared with other servers, and the function that closes it.
func openRedis(addr string) (sharedStore, func() error, error) {
	st, err := redisstore.New(redisstore.Options{Addr: addr})
	if err != nil {
		return nil, nil, err
	}
	return st, st.Close, nil
}

// redisBuiltIn reports whether this build has the Redis client.
const redisBuiltIn = true
