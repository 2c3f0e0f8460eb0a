package cookiesession

import (
	"math"
	"testing"
	"time"
)

func timeCases() []hostileCase {
	var cases []hostileCase
	add := func(c ...hostileCase) { cases = append(cases, c...) }

	// Time.
	add(
		hostileCase{
			name: "time/absolute-deadline-minus-1ms",
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(24*time.Hour - time.Millisecond)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/absolute-deadline-reached", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(24 * time.Hour)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/idle-deadline-minus-1ms", opts: func(o *Options) { o.IdleTimeout = time.Hour },
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(time.Hour - time.Millisecond)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/idle-deadline-reached", opts: func(o *Options) { o.IdleTimeout = time.Hour }, want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				p := e.login(10)
				e.clock.Add(time.Hour)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/touched-100-times-dies-at-absolute-deadline", opts: func(o *Options) { o.IdleTimeout = time.Hour },
			want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return touchedHundredTimes(e, "/touch") },
		},
		hostileCase{
			name: "time/rolling-100-requests-dies-at-absolute-deadline",
			opts: func(o *Options) { o.IdleTimeout, o.Rolling = time.Hour, true },
			want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return touchedHundredTimes(e, "/") },
		},
		hostileCase{
			name:  "time/skew-issuer-59s-ahead-accepted",
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, 59*time.Second, 0))} },
		},
		hostileCase{
			name: "time/skew-issuer-61s-ahead-rejected", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, 61*time.Second, 0))} },
		},
		hostileCase{
			name: "time/skew-issuer-61s-ahead-with-2m-tolerance", opts: func(o *Options) { o.ClockSkew = 2 * time.Minute },
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, 61*time.Second, 0))} },
		},
		hostileCase{
			name: "time/skew-negative-tolerance-rejects-1s-ahead", opts: func(o *Options) { o.ClockSkew = -1 }, want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, time.Second, 0))} },
		},
		hostileCase{
			name:  "time/skew-issuer-1h-behind-accepted",
			setup: func(e *hEnv) []string { return []string{e.line(loginAt(e, -time.Hour, 0))} },
		},
		hostileCase{
			// A lagging issuer shortens its sessions by its lag: the
			// deadline is sealed from its clock and checked against ours.
			name: "time/skew-issuer-1h-behind-expires-1h-early", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				p := loginAt(e, -time.Hour, 0)
				e.clock.Add(23 * time.Hour)
				return []string{e.line(p)}
			},
		},
		hostileCase{
			name: "time/forged-issued-a-year-ahead", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				now := e.clock.Now()
				return []string{e.line(e.forge(forgery{issued: now.AddDate(1, 0, 0), expires: now.AddDate(1, 0, 1)}))}
			},
		},
		hostileCase{
			name: "time/forged-expiry-before-issue", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				now := e.clock.Now()
				return []string{e.line(e.forge(forgery{issued: now.Add(30 * time.Second), expires: now.Add(10 * time.Second)}))}
			},
		},
		hostileCase{
			name: "time/forged-expiry-at-end-of-time-created-31-days-ago", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				now := e.clock.Now()
				return []string{e.line(e.forge(forgery{expires: time.UnixMilli(math.MaxInt64), created: now.AddDate(0, 0, -31)}))}
			},
		},
		hostileCase{
			name: "time/forged-negative-lifetime", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.forge(forgery{lifetime: -1}))} },
		},
		hostileCase{
			name: "time/forged-lifetime-overflowing-duration", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string { return []string{e.line(e.forge(forgery{lifetime: math.MaxInt64}))} },
		},
		hostileCase{
			name: "time/forged-issued-before-1970-with-idle-timeout", opts: func(o *Options) { o.IdleTimeout = time.Hour },
			want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{issued: time.UnixMilli(-1)}))}
			},
		},
		hostileCase{
			name: "time/forged-created-a-year-ahead-escapes-no-deadline", want: ErrExpired, fresh: true,
			setup: func(e *hEnv) []string {
				return []string{e.line(e.forge(forgery{created: e.clock.Now().AddDate(1, 0, 0)}))}
			},
		},
		hostileCase{
			// A negative lifetime ends the session now; it never falls
			// back to the Manager's full MaxAge.
			name: "time/negative-set-max-age-ends-the-session-now", path: "/end", want: ErrExpired,
			setup: validSession(10),
			check: func(t *testing.T, e *hEnv, res hResult) {
				expectSetCookies(t, res, map[string]bool{"session": false})
				if again := e.do("/", e.line(pieces(res.cookies, e.m.Name()))); !again.view.New {
					t.Errorf("the session outlived a negative SetLifetime: %+v", again.view)
				}
			},
		},
	)
	return cases
}
