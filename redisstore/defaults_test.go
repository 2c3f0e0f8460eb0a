package redisstore

import (
	"testing"

	"github.com/cookiesession/cookiesession/internal/defaults"
)

// DefaultMaxLifetime is the core's default MaxAge, written in both modules
// so that the published redisstore imports no internal package of the core.
func TestDefaultMaxLifetimeIsTheCores(t *testing.T) {
	if DefaultMaxLifetime != defaults.MaxAge {
		t.Fatalf("DefaultMaxLifetime is %v, the core's MaxAge %v", DefaultMaxLifetime, defaults.MaxAge)
	}
}
