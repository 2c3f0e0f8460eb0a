package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/cookiesession/cookiesession/store"
	"github.com/redis/rueidis"
)

// Put stores value under key until expires (SET with PXAT: Redis drops it
// at the session's deadline), replacing any value. It fails when key is
// empty or longer than 1024 bytes, when expires is not in the future, or
// when Redis does not acknowledge within Options.Timeout.
func (s *Store) Put(ctx context.Context, key string, value []byte, expires time.Time) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if s.isClosed() {
		return errClosed
	}
	if !expires.After(s.now()) {
		return fmt.Errorf("cookiesession: redisstore: overflow value expires at %v, not in the future", expires.UTC())
	}
	cmd := s.client.B().Set().Key(s.ovPrefix + key).Value(rueidis.BinaryString(value)).Pxat(expires).Build()
	if err := s.call(ctx, func(ctx context.Context) error { return s.client.Do(ctx, cmd).Error() }); err != nil {
		return fmt.Errorf("cookiesession: redisstore: put overflow value: %w", err)
	}
	return nil
}

// Get returns the value stored under key: from the local cache when this
// Store read it before and it was neither deleted nor expired since (the
// server tells the cache), otherwise with one round trip. A missing key
// fails with an error matching [store.ErrOverflowMissing]; a
// Redis that does not answer within Options.Timeout, with another error.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, errClosed
	}
	var v []byte
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		if s.cache {
			// The server's expiry (PTTL) bounds the cached copy; the
			// TTL given here only caps it. The caller gets its own
			// copy, never the cache's bytes.
			var str string
			str, err = s.client.DoCache(ctx, s.client.B().Get().Key(s.ovPrefix+key).Cache(), s.maxLifetime).ToString()
			if err == nil {
				v = []byte(str)
			}
		}
		if !s.cache || rueidis.IsRedisNil(err) {
			// A miss is never taken from the cache: the invalidation
			// of a cached miss by another server's Put travels apart
			// from that Put's acknowledgement, so it may not have
			// arrived yet.
			v, err = s.client.Do(ctx, s.client.B().Get().Key(s.ovPrefix+key).Build()).AsBytes()
		}
		return err
	})
	if rueidis.IsRedisNil(err) {
		return nil, store.ErrOverflowMissing
	}
	if err != nil {
		return nil, fmt.Errorf("cookiesession: redisstore: get overflow value: %w", err)
	}
	return v, nil
}

// Delete removes the value under key; a missing key is not an error. It
// fails when Redis does not acknowledge within Options.Timeout.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if s.isClosed() {
		return errClosed
	}
	cmd := s.client.B().Del().Key(s.ovPrefix + key).Build()
	if err := s.call(ctx, func(ctx context.Context) error { return s.client.Do(ctx, cmd).Error() }); err != nil {
		return fmt.Errorf("cookiesession: redisstore: delete overflow value: %w", err)
	}
	return nil
}

// Expire makes the value under key expire at at, unless it expires
// sooner (PEXPIREAT … LT): the Manager calls it for a value a write
// replaced, which requests still in flight may read for a short while
// (see store.OverflowExpirer). A missing key is not an error. It
// fails when Redis does not acknowledge within Options.Timeout.
func (s *Store) Expire(ctx context.Context, key string, at time.Time) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if s.isClosed() {
		return errClosed
	}
	cmd := s.client.B().Pexpireat().Key(s.ovPrefix + key).MillisecondsTimestamp(at.UnixMilli()).Lt().Build()
	if err := s.call(ctx, func(ctx context.Context) error { return s.client.Do(ctx, cmd).Error() }); err != nil {
		return fmt.Errorf("cookiesession: redisstore: expire overflow value: %w", err)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("cookiesession: redisstore: overflow key of %d bytes", len(key))
	}
	return nil
}
