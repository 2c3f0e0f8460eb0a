//go:build !redis

package main

import "fmt"

// openRedis fails: this build leaves the Redis client out (see the
// package doc), and says how to build it in.
func openRedis(addr string) (sharedStore, func() error, error) {
	return nil, nil, fmt.Errorf("-redis: this build of the demo has no Redis client; build it in with the redis tag: go run -tags redis ./examples/demo -redis %s", addr)
}

// redisBuiltIn reports whether this build has the Redis client.
const redisBuiltIn = false
