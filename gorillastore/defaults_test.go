package gorillastore

import (
	"testing"

	"github.com/cookiesession/cookiesession/internal/defaults"
)

// The Store's zero Lifetime is the core's default MaxAge, written in both
// modules so that neither imports the other's internal packages.
func TestDefaultLifetimeIsTheCores(t *testing.T) {
	if defaultLifetime != defaults.MaxAge {
		t.Fatalf("gorillastore's default lifetime is %v, the core's MaxAge %v", defaultLifetime, defaults.MaxAge)
	}
}
