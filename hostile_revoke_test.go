package cookiesession

import (
	"context"
	"testing"
	"time"

	"github.com/cookiesession/cookiesession/internal/memrevoker"
	"github.com/cookiesession/cookiesession/store"
)

// memRevoker is the in-memory reference Revoker (cookiesessiontest
// exports it): the core's rule under test, with the redisstore module's
// Store standing for it in the fleet tests there. Its entries never
// expire: the tests' Managers run on a fake clock.
type memRevoker = memrevoker.Revoker

func newMemRevoker() *memRevoker { return memrevoker.New(nil) }

// withRevoker gives a case's Manager a fresh memRevoker.
func withRevoker(o *Options) { o.Revoker = newMemRevoker() }

// revoker returns the memRevoker of e's Manager.
func (e *hEnv) revoker() *memRevoker { return e.opts.Revoker.(*memRevoker) }

// loginAs logs in with a subject and returns the session's cookie line.
func (e *hEnv) loginAs(subject string) string {
	e.t.Helper()
	res := e.do("/login?subject=" + subject)
	if errs := e.takeErrs(); len(errs) > 0 {
		e.t.Fatalf("login reported %v", errs)
	}
	return e.line(pieces(res.cookies, e.m.Name()))
}

// revocationCases are the attacks on revocation: a copied cookie replayed
// after logout, after "log out everywhere" or after RevokeAll, and a store
// that cannot answer. The subject is sealed apart from the data.
func revocationCases() []hostileCase {
	ctx := context.Background()
	return []hostileCase{
		{
			name: "revocation/copy-replayed-after-destroy", opts: withRevoker, want: ErrRevoked, fresh: true,
			setup: func(e *hEnv) []string {
				copied := e.loginAs("alice")
				e.do("/logout", copied)
				return []string{copied}
			},
		},
		{
			name: "revocation/copy-without-subject-replayed-after-destroy", opts: withRevoker, want: ErrRevoked, fresh: true,
			setup: func(e *hEnv) []string {
				copied := e.line(e.login(10))
				e.do("/logout", copied)
				return []string{copied}
			},
		},
		{
			name: "revocation/subject-revoked-everywhere", opts: withRevoker, want: ErrRevoked, fresh: true,
			setup: func(e *hEnv) []string {
				copied := e.loginAs("alice")
				if err := e.m.RevokeSubject(ctx, "alice"); err != nil {
					e.t.Fatal(err)
				}
				return []string{copied}
			},
		},
		{
			name: "revocation/other-subject-unaffected", opts: withRevoker,
			setup: func(e *hEnv) []string {
				bob := e.loginAs("bob")
				if err := e.m.RevokeSubject(ctx, "alice"); err != nil {
					e.t.Fatal(err)
				}
				return []string{bob}
			},
		},
		{
			name: "revocation/login-after-subject-revocation-opens", opts: withRevoker,
			setup: func(e *hEnv) []string {
				if err := e.m.RevokeSubject(ctx, "alice"); err != nil {
					e.t.Fatal(err)
				}
				return []string{e.loginAs("alice")}
			},
		},
		{
			// A check of creation times against the revoking clock, at
			// any resolution, kills this one: the clock does not move.
			name: "revocation/login-at-the-instant-of-the-revocation-opens", opts: withRevoker,
			setup: func(e *hEnv) []string {
				if err := e.m.RevokeSubject(ctx, "alice"); err != nil {
					e.t.Fatal(err)
				}
				return []string{e.loginAs("alice")}
			},
		},
		{
			name: "revocation/revoke-all", opts: withRevoker, want: ErrRevoked, fresh: true,
			setup: func(e *hEnv) []string {
				copied := e.line(e.login(10))
				if err := e.m.RevokeAll(ctx); err != nil {
					e.t.Fatal(err)
				}
				return []string{copied}
			},
		},
		{
			// Regenerate (a new login) revokes the ID the browser held,
			// though the session had no subject.
			name: "revocation/copy-without-subject-replayed-after-regenerate", opts: withRevoker, want: ErrRevoked, fresh: true,
			setup: func(e *hEnv) []string {
				copied := e.line(e.login(10))
				e.do("/login?blob=10", copied)
				return []string{copied}
			},
		},
		{
			// A session sealed while the clock ran 50 s ahead, revoked
			// once it is back: a creation time after the revoking
			// clock's reading spared it under the rule of times.
			name: "revocation/session-sealed-by-a-clock-ahead", opts: withRevoker, want: ErrRevoked, fresh: true,
			setup: func(e *hEnv) []string {
				e.clock.Add(50 * time.Second)
				copied := e.loginAs("alice")
				e.clock.Add(-50 * time.Second)
				if err := e.m.RevokeSubject(ctx, "alice"); err != nil {
					e.t.Fatal(err)
				}
				return []string{copied}
			},
		},
		{
			name: "revocation/store-unavailable-fails-closed", opts: withRevoker, want: store.ErrRevocationUnavailable, fresh: true,
			setup: func(e *hEnv) []string {
				copied := e.loginAs("alice")
				e.revoker().SetUnavailable(true)
				return []string{copied}
			},
		},
		{
			name: "revocation/checked-before-the-data-is-deserialized", opts: withRevoker, want: ErrRevoked, fresh: true,
			setup: func(e *hEnv) []string {
				copied := e.loginAs("alice")
				e.do("/logout", copied)
				return []string{copied}
			},
			check: func(t *testing.T, e *hEnv, res hResult) {
				if e.revoker().Checks() == 0 {
					t.Error("the Revoker was never asked")
				}
			},
		},
	}
}

// TestHostileWithRevoker runs the whole hostile suite with a Revoker
// configured: every case must come out the same, but the one that
// documents what a Revoker is for.
func TestHostileWithRevoker(t *testing.T) {
	cases := hostileCases()
	changed := 0
	for i, c := range cases {
		if c.name == "integrity/replay-after-logout-is-accepted" {
			cases[i].name = "integrity/replay-after-logout-is-revoked"
			cases[i].want, cases[i].fresh, cases[i].check = ErrRevoked, true, nil
			changed++
		}
	}
	if changed != 1 {
		t.Fatalf("the replay-after-logout case changed %d times", changed)
	}
	runHostile(t, cases, withRevoker)
}
