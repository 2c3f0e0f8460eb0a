package cookiesession

import "errors"

// The errors of the package, all in this file. Match them with
// [errors.Is]; the concrete error may carry more detail (see [SizeError])
// but never a cookie value, a plaintext or a key. The errors a store
// returns, or that report a store's failure, are in package store
// ([store.ErrRevocationUnavailable], [store.ErrOverflowMissing],
// [store.ErrOverflowUnavailable]).
var (
	// ErrInvalid reports a value that does not parse or does not
	// authenticate: tampered, truncated, foreign, sealed under a key that
	// is not in the ring ([ErrUnknownKey], which matches it), or bound to
	// another cookie name. It is deliberately opaque: it never says which
	// byte or step failed.
	ErrInvalid = errors.New("cookiesession: invalid or tampered value")

	// ErrUnknownKey reports a well-formed value whose header names a key
	// id that no key of the ring has: typically a cookie sealed with a key
	// since removed from the ring (a rotation step skipped), or by a server
	// with other keys. It matches [ErrInvalid] with [errors.Is]; match
	// ErrUnknownKey first to tell a rotation mistake from tampering. Only
	// the cleartext key id decides it, before any decryption, so it tells
	// nothing the header does not already say: a value whose key id is in
	// the ring but that fails in any later step is ErrInvalid, whatever
	// failed.
	ErrUnknownKey error = &alsoError{"cookiesession: value sealed with a key that is not in the ring (removed from it, or another server's)", ErrInvalid}

	// ErrExpired reports an authentic value whose sealed expiry has passed
	// (or whose issue time lies further in the future than the permitted
	// clock skew).
	ErrExpired = errors.New("cookiesession: value expired")

	// ErrTooLarge reports a value over a size limit: at Encode or save
	// time (the session does not fit the cookie budget) or at Decode time
	// (an oversized cookie, or a compressed value that inflates past the
	// cap). The concrete error is a *[SizeError] naming the sizes.
	ErrTooLarge = errors.New("cookiesession: value too large")

	// ErrAmbiguous reports a request carrying more than one authentic
	// session under the same cookie name (for example one planted by a
	// sibling subdomain, or one set for another Path), or more candidate
	// cookies under the name than the search tries (more than 8
	// combinations, or more than 9 distinct values of one cookie;
	// identical copies count once), so that the real session might be
	// among those not tried. The session is treated as absent, and nothing
	// is written unless the handler changes the new session.
	ErrAmbiguous = errors.New("cookiesession: several authentic sessions under one cookie name")

	// ErrNoCookie reports a request without any cookie of the session (a
	// new visitor, not an attack), from [CookieCodec.Read]. [Manager.Load]
	// and the middleware do not report it: a new session is not an error.
	ErrNoCookie = errors.New("cookiesession: no session cookie")

	// ErrNotCommittable reports [Manager.CommitToken] on a session the
	// browser does not hold as a cookie: a new, regenerated or destroyed
	// session, or one of another Manager. The commit handler only accepts a
	// token for the session ID the browser's cookie already carries, so such a
	// change must be saved over HTTP instead.
	ErrNotCommittable = errors.New("cookiesession: session is not in the browser's cookies (new, regenerated, destroyed or of another Manager); save it over HTTP")

	// ErrHeaderWritten reports a session changed after the response header
	// went out (the handler wrote, flushed or hijacked first). The change
	// cannot reach the browser and was not saved. [Manager.Handler] says
	// which late changes it reports on every request and which on some.
	ErrHeaderWritten = errors.New("cookiesession: session changed after the response header was written; the change was not saved")

	// ErrNoMiddleware reports [Manager.Get] on a request that did not pass
	// through [Manager.Handler]: the session is read, but nothing will
	// save it unless the handler calls [Manager.Save].
	ErrNoMiddleware = errors.New("cookiesession: Get on a request outside the Manager's Handler; call Manager.Save to save")

	// ErrUndecodable reports a session that opened (it is authentic) but
	// whose data does not deserialize into the session type: typically cookies
	// sealed before a deploy that changed the type. It also matches
	// [ErrInvalid]; match ErrUndecodable first to tell it from tampering, and
	// see [Options.Migrate] to read such sessions instead of dropping them.
	ErrUndecodable = errors.New("cookiesession: session data does not deserialize into the session type")

	// ErrRevoked reports an authentic session that was revoked: its ID
	// (logout), its subject ([Manager.RevokeSubject]), its identity
	// provider's session ([Manager.RevokeProviderSession]) or everything
	// ([Manager.RevokeAll]) by a revocation made after the session was.
	// The request goes on with a new session.
	ErrRevoked = errors.New("cookiesession: session revoked")

	// ErrNameConflict reports a Manager used on a request that another
	// Manager with the same cookie name (and a Path that overlaps its own,
	// so that the browser sends both Managers' cookies under the one name)
	// already serves: one Manager's Handler nested in another's, or Get or
	// Load of one inside the other's Handler. The first Manager (the
	// outer Handler) keeps the cookies; the other one neither reads them
	// (which would decode one Manager's data as the other's type, or
	// expire it as foreign) nor writes them: its
	// Get and Load give a new session whose Err is ErrNameConflict, and
	// saving that session fails with ErrNameConflict, leaving the first
	// Manager's cookies as they are. Give each Manager its own
	// Options.Name.
	ErrNameConflict = errors.New("cookiesession: another Manager serves the same cookie name on this request; this one neither reads nor writes the cookies: give each Manager its own Options.Name")

	// errNoRevoker reports [Manager.RevokeSubject], [Manager.RevokeAll]
	// or [Manager.RevokeProviderSession] on a Manager without
	// [Options.Revoker]: a configuration error, which
	// no application branches on.
	errNoRevoker = errors.New("cookiesession: no Revoker configured (Options.Revoker)")
)

// alsoError is a sentinel that also matches a broader one.
type alsoError struct {
	msg  string
	also error
}

func (e *alsoError) Error() string        { return e.msg }
func (e *alsoError) Is(target error) bool { return target == e.also }
