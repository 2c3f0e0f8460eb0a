//go:build !race

package redisstore

import "time"

// raceSlack is zero without the race detector: see race_test.go.
const raceSlack time.Duration = 0
