// Package store is what a store implements for cookiesession, as
// database/sql/driver is what a database driver implements for
// database/sql: the contracts of [Revoker] (a shared record of revoked
// sessions) and [Overflow] (a place for sessions too large for their
// cookies), and the errors that cross them. An application passes a store
// to cookiesession.Options (Revoker, Overflow) and imports this package
// only to match a store's failures with errors.Is against the errors here.
// The redisstore module implements both contracts on Redis or Valkey.
//
// The package imports only the standard library.
package store

import (
	"context"
	"errors"
	"time"
)

// Revocation: a cookie session cannot be taken back once the browser holds
// it, unless the servers share a record of what was revoked. A [Revoker]
// is that record; the Manager consults it on every session it opens,
// before the data is deserialized.

// Revocations is what a [Revoker] holds that concerns one session.
//
// Revocations by scope (a subject, an identity-provider session,
// everything) are ordered by generation, not by time: the Revoker numbers
// every revocation it records with a generation greater than any before
// it (one sequence shared by all scopes), and a session seals, when its ID
// is made, the generation in force on the server that made it
// ([Revoker.Generation]). A revocation of one of the session's scopes
// revokes it when its generation is greater than the sealed one: the
// session was made before that server had applied the revocation. No
// clock takes part.
type Revocations struct {
	// ID reports that the session's ID was revoked.
	ID bool

	// Subject is the generation of the latest revocation of the
	// session's subject that this Revoker has applied: the sessions of
	// the subject sealed with a smaller generation are revoked. Zero:
	// none.
	Subject uint64

	// All is the generation of the latest revocation of everything
	// (Manager.RevokeAll) applied here: every session sealed with a
	// smaller generation is revoked. Zero: none.
	All uint64

	// ProviderSession is the generation of the latest revocation of the
	// session's identity-provider session (Manager.RevokeProviderSession,
	// an OpenID Connect back-channel logout) applied here. Zero: none.
	ProviderSession uint64
}

// Revoker is a record of revoked sessions shared by every server of an
// application. Implementations must be safe for concurrent use.
//
// Revocations and Generation are called for every session the Manager
// opens or makes, so they must answer from local state, without a network
// round trip, in the normal case; Revocations returns an error only when
// its state can no longer be trusted and its policy is to fail closed (the
// session is then refused with [ErrRevocationUnavailable]).
//
// The Revoke methods record a revocation durably before returning nil.
// Each revocation by scope gets the next generation of the Revoker's
// sequence; a Revoker applies revocations in the order of their
// generations, and Generation returns the generation of the last one it
// has applied in that order, so that a session made before a revocation
// was applied here seals a smaller generation than it. A revocation
// recorded on one server must reach the others promptly, and a Revoke
// method by scope returns once this server has applied it (in order, when that
// happens within the call's time; otherwise its Revocations already
// report it, so the sessions it revokes are refused here, but sessions
// made here until it is applied in order are refused once it is: fail
// safe). Entries may be dropped after their until time: no session they
// concern can open after it. Generations never decrease, even when the
// shared state is lost and rebuilt, as long as some server that applied
// them is running to write them back. A loss that no running server
// remembers loses the revocations it held; a Revoker whose new sequence
// starts above every generation sealed before it (redisstore starts one
// at Redis's clock in milliseconds, and documents the bound) keeps the
// revocations made after such a loss effective against the sessions made
// before it, while one that starts again from 0 (an in-memory Revoker in
// a new process) spares those sessions until its sequence passes what
// they sealed.
type Revoker interface {
	// Revocations returns the revocations that concern a session with
	// this ID, subject and identity-provider session ID (each "" when the
	// session has none).
	Revocations(ctx context.Context, id, subject, providerSession string) (Revocations, error)

	// Generation returns the generation in force here: the generation of
	// the last revocation applied in order, 0 before the first. A new
	// session seals it.
	Generation() uint64

	// RevokeID revokes the session with this ID, until its deadline. An
	// ID revocation concerns one session only, so it needs no order: it
	// is applied here at once, without waiting for the ones before it.
	RevokeID(ctx context.Context, id string, until time.Time) error

	// RevokeSubject revokes every session of subject that sealed a
	// generation smaller than this revocation's; until is the last
	// deadline such a session can have.
	RevokeSubject(ctx context.Context, subject string, until time.Time) error

	// RevokeAll revokes every session that sealed a generation smaller
	// than this revocation's; until is the last deadline such a session
	// can have.
	RevokeAll(ctx context.Context, until time.Time) error

	// RevokeProviderSession revokes every session carrying the identity
	// provider's session ID sid that sealed a generation smaller than
	// this revocation's; until is the last deadline such a session can
	// have. It is kept apart from subjects: a subject and a provider
	// session with the same text are different labels.
	RevokeProviderSession(ctx context.Context, sid string, until time.Time) error
}

// RevocationNotifier is implemented by a [Revoker] that can say when its
// state changed, so that long-lived connections (WebSockets, server-sent
// events) learn of a revocation at once instead of at their next check.
type RevocationNotifier interface {
	// Changed returns a channel that is closed at the next change of the
	// revocation state (or of its availability). Each call after a change
	// returns a new channel.
	Changed() <-chan struct{}
}

// Overflow is a store for sessions too large for their cookies. The
// Manager puts there only values sealed under a key that lives in the
// cookie, so the store never holds anything it could read. Implementations
// must be safe for concurrent use.
type Overflow interface {
	// Put stores value under key until expires, replacing any value.
	Put(ctx context.Context, key string, value []byte, expires time.Time) error

	// Get returns the value stored under key, or an error matching
	// [ErrOverflowMissing] when there is none (expired or deleted).
	Get(ctx context.Context, key string) ([]byte, error)

	// Delete removes the value under key; a missing key is not an error.
	Delete(ctx context.Context, key string) error
}

// OverflowExpirer is implemented by an [Overflow] store that can shorten
// the life of a value (the redisstore module's Store does). The Manager
// then lets a value that a write replaced (a new overflowed write, or a
// session shrunk back into its cookies) expire a minute later instead of
// deleting it at once, so that requests of the same browser already in
// flight with the cookies that referred to it (another tab, parallel
// fetches) still open it rather than losing the session. Without it,
// replaced values are deleted at once. A session that ends (Destroy, Data
// = nil) deletes its value at once either way.
type OverflowExpirer interface {
	// Expire makes the value under key expire at at, unless it expires
	// sooner; a missing key is not an error.
	Expire(ctx context.Context, key string, at time.Time) error
}

// Timeout is implemented by a [Revoker] or an [Overflow] store that
// bounds each of its calls by a timeout (the redisstore module's Store
// does: its Options.Timeout). The Manager then bounds the total time a
// request waits on its stores by that timeout (the larger of the two when
// the Revoker and the Overflow store differ): the store calls of one
// request (reading or storing an overflowed session, deleting or
// expiring a replaced one, recording a logout) share one deadline, that
// long after the first of them. A store that does not implement it gets
// 2 seconds.
type Timeout interface {
	// Timeout returns the store's bound on one call; zero or negative
	// means the default.
	Timeout() time.Duration
}

// The errors that cross the contracts. A store returns ErrOverflowMissing
// (or an error matching it) from Overflow.Get; the Manager wraps any other
// failure of a store in ErrRevocationUnavailable or ErrOverflowUnavailable
// and reports it to Options.OnError, where an application can match them
// with [errors.Is].
var (
	// ErrRevocationUnavailable reports a session that could not be
	// checked against the [Revoker] (its store is unreachable and its
	// policy says to fail closed). The request goes on with a new
	// session; the cookie is left as it is, so the session opens again
	// once the store is back.
	ErrRevocationUnavailable = errors.New("cookiesession: revocation state unavailable")

	// ErrOverflowMissing reports a session whose cookie refers to a value
	// the [Overflow] store no longer holds.
	ErrOverflowMissing = errors.New("cookiesession: overflowed session not in the store")

	// ErrOverflowUnavailable reports a session in the [Overflow] store
	// that could not be read (the store is down or timed out), or a save
	// that could not reach it. Reading, the request goes on with a new
	// session and the cookie stays, so the session opens again once the
	// store is back; saving, the previous cookies stay.
	ErrOverflowUnavailable = errors.New("cookiesession: overflow store unavailable")
)
