package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/rueidis"
)

// Claim marks key as used until until and reports whether this call was
// the first to do so, on any server sharing the Redis: SET
// KeyPrefix+"once:"+key NX PXAT until, one round trip. It is for
// one-time tokens whose replay must be refused across a fleet, such as
// the jti of an OpenID Connect logout token (the oidclogout module's
// Options.Replay). A key is kept until until, then Redis drops it. It
// fails when key is empty or longer than 1024 bytes, when until is not in
// the future, or when Redis does not answer within Options.Timeout; on an
// error the caller cannot tell whether key was claimed and must not treat
// the token as fresh.
func (s *Store) Claim(ctx context.Context, key string, until time.Time) (bool, error) {
	if key == "" || len(key) > maxKeyLen {
		return false, fmt.Errorf("cookiesession: redisstore: claim key of %d bytes", len(key))
	}
	if s.isClosed() {
		return false, errClosed
	}
	if !until.After(s.now()) {
		return false, fmt.Errorf("cookiesession: redisstore: claim until %v, not in the future", until.UTC())
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	cmd := s.client.B().Set().Key(s.oncePrefix + key).Value("1").Nx().Pxat(until).Build()
	err := s.client.Do(ctx, cmd).Error()
	switch {
	case err == nil:
		return true, nil
	case rueidis.IsRedisNil(err):
		return false, nil // SET NX found the key: claimed before
	}
	return false, fmt.Errorf("cookiesession: redisstore: claim: %w", err)
}

// Release forgets a key claimed with [Store.Claim], so that it can be
// claimed again (a one-time token whose use failed and will be retried).
// A missing key is not an error. It fails when Redis does not answer
// within Options.Timeout.
func (s *Store) Release(ctx context.Context, key string) error {
	if key == "" || len(key) > maxKeyLen {
		return fmt.Errorf("cookiesession: redisstore: claim key of %d bytes", len(key))
	}
	if s.isClosed() {
		return errClosed
	}
	ctx, cancel := s.withTimeout(ctx)
	defer cancel()
	if err := s.client.Do(ctx, s.client.B().Del().Key(s.oncePrefix+key).Build()).Error(); err != nil {
		return fmt.Errorf("cookiesession: redisstore: release: %w", err)
	}
	return nil
}
