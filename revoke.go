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
// session of that user created before it. It is at most 255 bytes (a
// longer one fails the save with an error matching [ErrTooLarge]); ""
// removes it. Regenerate and Destroy clear it. The session is re-sealed.
func (s *Session[T]) SetSubject(subject string) {
	s.subject = subject
	s.force = true
}

// Subject returns the session's subject, or "" when it has none.
func (s *Session[T]) Subject() string { return s.subject }

// SetProviderSession records the identity provider's session the login
// came from: the sid claim of the OpenID Connect ID token, at login, after
// [Session.Regenerate]. It is sealed in the cookie's envelope beside the
// subject, so that [Manager.RevokeProviderSession] (which the oidclogout
// module calls on a back-channel logout from the provider) ends the
// sessions of that provider session, and only those: the same user's
// sessions on other devices keep theirs. It is at most 255 bytes (a longer
// one fails the save with an error matching [ErrTooLarge]); "" removes it.
// Regenerate and Destroy clear it. The session is re-sealed. A cookie that
// carries one does not open on a server of a version without provider
// sessions.
func (s *Session[T]) SetProviderSession(sid string) {
	s.provider = sid
	s.force = true
}

// ProviderSession returns the identity provider's session ID set by
// [Session.SetProviderSession], or "" when the session has none.
func (s *Session[T]) ProviderSession() string { return s.provider }

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
// created before now, on every server sharing the [Options.Revoker];
// sessions created afterwards (a new login) are not affected. It fails
// without a Revoker (a configuration error), and with the Revoker's error when
// the revocation could not be recorded.
func (m *Manager[T]) RevokeSubject(ctx context.Context, subject string) error {
	if subject == "" && m.opts.Revoker != nil {
		return errors.New("cookiesession: RevokeSubject with an empty subject")
	}
	return m.revokeScope(ctx, "subject", func(ctx context.Context, rv store.Revoker, until time.Time) error {
		return rv.RevokeSubject(ctx, subject, until)
	})
}

// RevokeProviderSession ends every session carrying the identity
// provider's session ID sid (see [Session.SetProviderSession]) created
// before now, on every server sharing the [Options.Revoker]: what an
// OpenID Connect back-channel logout asks for (the oidclogout module
// serves that endpoint and calls this). Sessions of the same subject with
// another provider session, and sessions created afterwards, are not
// affected. It keeps the revocation as long as [Manager.RevokeSubject]
// does, and has the same exactness: a comparison of the sealed creation
// time with this server's clock. It fails without a Revoker (a
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

// RevokeAll ends every session created before now, on every server
// sharing the [Options.Revoker]: a panic button that needs no key
// rotation. Sessions created afterwards are not affected. It fails
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
// middleware), revokes the sessions created before now for as long as one
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

// revokedUntil is the last deadline a session created before now can
// have, on any server whose clock runs up to ClockSkew ahead: how long a
// revocation of a subject or of everything must be kept.
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
	deadline := s.ExpiresAt()
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
