package cookiesession

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cookiesession/cookiesession/store"
)

// Revocation: a cookie session cannot be taken back once the browser holds
// it, unless the servers share a record of what was revoked. A
// [store.Revoker] is that record (the redisstore module provides one on
// Redis or Valkey); the Manager consults it on every session it opens,
// before the data is deserialized.

// lifetimeCap is the most Options.MaxLifetime can be: browsers keep a
// cookie at most 400 days.
const lifetimeCap = 400 * 24 * time.Hour

// SetSubject names who the session belongs to, typically the user ID at
// login, after [Session.Regenerate]. The subject is sealed in the cookie's
// envelope, apart from Data, so that [Manager.RevokeSubject] ends every
// session of that user that exists when it returns. It is at most 255
// bytes (a longer one fails the save with an error matching
// [ErrTooLarge]); "" removes it. Regenerate and Destroy clear it. The
// session is re-sealed.
//
// A subject other than the session's (from none to one, from one to
// another, or to none) is a change of privilege, so the session gets a
// new identity first, as with Regenerate but keeping Data, its lifetime
// override and its provider session, and unbound from its device (the
// device's credential names the old ID: bind again): a new ID, creation
// time and revocation generation, and, with a [store.Revoker], the ID
// the browser held is revoked when the response is written, so that a
// copy of the cookie taken before stops opening, on every server (tests
// TestSetSubjectRenewsIdentity, TestRevocationAcceptance). The same
// subject again only re-seals. To drop data planted before login, call
// Regenerate first, as at every login.
func (s *Session[T]) SetSubject(subject string) {
	if subject != s.subject {
		s.renewIdentity()
	}
	s.subject = subject
	s.force = true
}

// renewIdentity gives s a new identity for a change of its labels (see
// SetSubject): the ID the browser holds ends (see end), and s gets a new
// one (see newIdentity) bound to no device, since a device binding's
// credential is tied to the old ID (a session kept bound would be refused
// at its next request); everything else is kept.
func (s *Session[T]) renewIdentity() {
	s.end()
	s.newIdentity()
	s.binding = nil
}

// Subject returns the session's subject, or "" when it has none.
func (s *Session[T]) Subject() string { return s.subject }

// SetProviderSession records the identity provider's session the login
// came from, at login, after [Session.Regenerate]: with the oidclogout
// module, the label oidclogout.ProviderSession(iss, sid) of the OpenID
// Connect ID token's issuer and sid claims, which is what its logout
// endpoint revokes. It is sealed in the cookie's envelope beside the
// subject, so that [Manager.RevokeProviderSession] (which the oidclogout
// module calls on a back-channel logout from the provider) ends the
// sessions of that provider session, and only those: the same user's
// sessions on other devices keep theirs. It is at most 255 bytes (a longer
// one fails the save with an error matching [ErrTooLarge]); "" removes it.
// Regenerate and Destroy clear it. The session is re-sealed. A cookie that
// carries one does not open on a server of a version without provider
// sessions.
//
// A provider session other than the session's gives the session a new
// identity first, as [Session.SetSubject] does for a new subject (a new
// ID and revocation generation, the old ID revoked with a Revoker, Data
// and the subject kept, the device binding dropped): a new provider session is a new login at the
// provider (test TestSetSubjectRenewsIdentity). The same one again only
// re-seals.
func (s *Session[T]) SetProviderSession(sid string) {
	if sid != s.provider {
		s.renewIdentity()
	}
	s.provider = sid
	s.force = true
}

// revokes reports whether r revokes s: by its ID, or by a revocation of
// its subject, its provider session or everything whose generation is
// greater than the one s sealed when its ID was made, that is a
// revocation the server that made s had not applied then. No clock takes
// part. A session sealed without a generation (0, every cookie sealed
// before generations existed) is revoked by every revocation of its
// scopes the Revoker holds.
func revokes[T any](r store.Revocations, s *Session[T]) bool {
	return r.ID ||
		s.subject != "" && r.Subject > s.gen ||
		s.provider != "" && r.ProviderSession > s.gen ||
		r.All > s.gen
}

// checkRevoked is the revocation rule of opening a session: nil without a
// Revoker or when nothing revokes s.
func (m *Manager[T]) checkRevoked(ctx context.Context, s *Session[T]) error {
	rv := m.opts.Revoker
	if rv == nil {
		return nil
	}
	if m.unrecorded.denies(s.id, m.opts.Now()) {
		return ErrRevoked // a logout the Revoker has not recorded yet
	}
	r, err := rv.Revocations(ctx, s.ID(), s.subject, s.provider)
	if err != nil {
		return fmt.Errorf("%w: %w", store.ErrRevocationUnavailable, err)
	}
	if revokes(r, s) {
		return ErrRevoked
	}
	return nil
}

// revokeEnded revokes the sessions s replaced (Destroy, Regenerate of a
// session with a subject) and, when s is being cleared, s itself. It runs
// when the response clears or replaces the cookies, with the request's
// context values but not its cancellation (a client that hangs up does not
// undo its logout), within the request's store budget. A revocation the
// Revoker fails to record is refused on this server at once and retried
// in the background (see holdRevocation); the error still says it failed.
func (m *Manager[T]) revokeEnded(s *Session[T], clearing bool) error {
	if clearing && s.onWire && !s.isNew {
		s.end()
	}
	ended := s.ended
	s.ended = nil
	rv := m.opts.Revoker
	if rv == nil || len(ended) == 0 {
		return nil
	}
	ctx, cancel := storeContext(s.context(), m.storeTimeout)
	defer cancel()
	var errs []error
	for _, e := range ended {
		if err := rv.RevokeID(ctx, idText(e.id), e.until); err != nil {
			errs = append(errs, m.holdRevocation(e.id, e.until, err))
			continue
		}
		m.emitRevoke("id", nil)
	}
	return errors.Join(errs...)
}

// RevokeSubject ends every session of subject (see [Session.SetSubject])
// that exists when it returns, on every server sharing the
// [Options.Revoker], as soon as that server has applied the revocation,
// whatever the servers' clocks say; a session made (or given the subject)
// on a server that had applied it, such as a new login after it returned
// here, is not affected (see [store.Revocations]: revocations are ordered
// by generation, not by time). It fails without a Revoker (a
// configuration error), and with the Revoker's error when the revocation
// could not be recorded.
func (m *Manager[T]) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" && m.opts.Revoker != nil {
		return errors.New("cookiesession: RevokeSubject with an empty subject")
	}
	return m.revokeScope(ctx, "subject", func(ctx context.Context, rv store.Revoker, until time.Time) error {
		return rv.RevokeSubject(ctx, subject, until)
	})
}

// RevokeProviderSession ends every session carrying the identity
// provider's session label sid (see [Session.SetProviderSession]) that
// exists when it returns, on every server sharing the [Options.Revoker]: what an
// OpenID Connect back-channel logout asks for (the oidclogout module
// serves that endpoint and calls this). Sessions of the same subject with
// another provider session are not affected. It keeps the revocation as
// long as [Manager.RevokeSubject] does, and has the same exactness: the
// sessions that exist when it returns end, those made afterwards on a
// server that had applied it do not. It fails without a Revoker (a
// configuration error), with an empty sid or one over 255 bytes (no
// session can carry it), and with the Revoker's error when the
// revocation could not be recorded.
func (m *Manager[T]) RevokeProviderSession(ctx context.Context, sid string) error {
	if (sid == "" || len(sid) > maxSubjectLen) && m.opts.Revoker != nil {
		return fmt.Errorf("cookiesession: RevokeProviderSession with a session ID of %d bytes (1 to %d)", len(sid), maxSubjectLen)
	}
	return m.revokeScope(ctx, "provider", func(ctx context.Context, rv store.Revoker, until time.Time) error {
		return rv.RevokeProviderSession(ctx, sid, until)
	})
}

// RevokeAll ends every session that exists when it returns, on every
// server sharing the [Options.Revoker], with the exactness of
// [Manager.RevokeSubject]: a panic button that needs no key rotation.
// Sessions made afterwards on a server that had applied it are not
// affected. It fails
// without a Revoker (a configuration error), and with the Revoker's error
// when the revocation could not be recorded.
func (m *Manager[T]) RevokeAll(ctx context.Context) error {
	return m.revokeScope(ctx, "all", func(ctx context.Context, rv store.Revoker, until time.Time) error {
		return rv.RevokeAll(ctx, until)
	})
}

// revokeScope is the rule of every revocation by scope (a subject, a
// provider session, everything): it needs a Revoker, shares the store
// budget of the request ctx belongs to (when called inside the
// middleware), keeps the revocation for as long as a session it revokes
// can live (revokedUntil), and reports the outcome as kind.
func (m *Manager[T]) revokeScope(ctx context.Context, kind string, revoke func(ctx context.Context, rv store.Revoker, until time.Time) error) error {
	if m.opts.Revoker == nil {
		return errNoRevoker
	}
	ctx, cancel := requestBound(ctx)
	defer cancel()
	err := revoke(ctx, m.opts.Revoker, m.revokedUntil(m.opts.Now()))
	m.emitRevoke(kind, err)
	return err
}

// revokedUntil is the last deadline a session that exists now can have,
// on any server whose clock runs up to ClockSkew ahead: how long a
// revocation of a subject or of everything must be kept. The clock bounds
// only how long the entry is kept; which sessions it revokes is decided by
// generations.
func (m *Manager[T]) revokedUntil(now time.Time) time.Time {
	return now.Add(m.opts.MaxLifetime + max(m.cc.codec.skew, 0))
}

// watchPoll is how often Watch re-checks a Revoker that cannot notify.
const watchPoll = time.Second

// Watch returns a context for a long-lived connection of the session s
// (a WebSocket or server-sent events): it is canceled, with
// [context.Cause] ErrRevoked or ErrExpired, as soon as s is revoked (on any
// server sharing the Revoker) or reaches the deadline it had when Watch was
// called, and when ctx ends. Close the connection when it is done. The
// returned cancel releases the watch; call it when the connection ends.
// Without a Revoker, only the deadline and ctx end it. A Revoker that
// implements [store.RevocationNotifier] is followed at once; any other is
// checked every second.
func (m *Manager[T]) Watch(ctx context.Context, s *Session[T]) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	snap := &Session[T]{m: m, id: s.id, subject: s.subject, provider: s.provider, gen: s.gen, created: s.created}
	deadline := s.expiresAt()
	if s.Data == nil {
		deadline = m.opts.Now() // a destroyed session has nothing to watch
	}
	go func() {
		timer := time.NewTimer(max(deadline.Sub(m.opts.Now()), 0))
		defer timer.Stop()
		notifier, _ := m.opts.Revoker.(store.RevocationNotifier)
		var poll <-chan time.Time
		if notifier == nil && m.opts.Revoker != nil {
			t := time.NewTicker(watchPoll)
			defer t.Stop()
			poll = t.C
		}
		for {
			// Take the channel before checking, so that no change between
			// the check and the wait is missed.
			var changed <-chan struct{}
			if notifier != nil {
				changed = notifier.Changed()
			}
			if err := m.checkRevoked(ctx, snap); err != nil {
				cancel(err)
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
				cancel(ErrExpired)
				return
			case <-changed:
			case <-poll:
			}
		}
	}()
	return ctx, func() { cancel(context.Canceled) }
}

// emitRevoke reports a revocation of kind, or its failure, to OnEvent.
func (m *Manager[T]) emitRevoke(kind string, err error) {
	if err != nil {
		kind = "error"
	}
	m.emit("revoke", kind, 0, 0)
}
