// Package cookiesession keeps a web application's session entirely in
// cookies: the session is serialized (JSON by default), sealed with
// XChaCha20-Poly1305 under a key only the servers hold, and written into
// HttpOnly cookies, split across several when it outgrows one. Servers
// share nothing but the keys.
//
// # Sessions
//
// A [Manager] reads and writes one typed session. Wrap the handler with
// [Manager.Handler] and read the session with [Manager.Get]:
//
//	type Visit struct{ Count int }
//
//	keys, err := keyring.FromEnv() // COOKIESESSION_KEYS
//	m, err := cookiesession.New[Visit](cookiesession.Options{Keys: keys})
//	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
//		s := m.Get(r)
//		s.Data.Count++
//		fmt.Fprintf(w, "visit %d", s.Data.Count)
//	})
//	http.ListenAndServe(addr, m.Handler(mux))
//
// The session is read when a handler first calls Get, and written, with
// the response header (the body is never buffered), when it changed, when
// asked ([Session.Touch], [Session.Regenerate], [Session.SetLifetime]), to
// push out an idle deadline, or to re-seal it with the first key.
// [Session.Err] says why a session is new: a first visit ([ErrNoCookie]),
// or the refusal of the cookies sent ([ErrExpired], [ErrRevoked], …).
// [Manager.View] reads a copy and never writes; [Manager.Load] and
// [Manager.Save] work without the middleware; nil [Session.Data], or
// [Session.Destroy], expires every cookie. Of the [Options], only Keys is
// required. A session over the cookie [Limits] is an error at save time
// ([ErrTooLarge]), and the browser keeps its cookies, unless
// [Options.Overflow] takes it.
//
// # Keys
//
// A key is a secret of at least 32 random bytes (keyring.Generate, or the
// cookiesession command's keygen), kept as base64url text (keyring.Parse,
// keyring.FromEnv); a key that is visibly not random (a repeated pattern,
// or printable text such as a passphrase) is refused. Keys[0] seals; every
// key opens, and a session opened with another key is re-sealed with
// Keys[0]. [Manager.SetKeys] and keyring.WatchFile change the ring without
// a restart; rotating across servers: SECURITY.md, "Key rotation".
//
// # Security
//
// Protected: the session's confidentiality, integrity, binding to the
// cookie name and expiry, and the server's work on hostile input. Not
// without a [store.Revoker]: replay of a copied cookie within its lifetime. Not
// at all: rollback to an older cookie, the session's length, cross-site
// request forgery (use [net/http.CrossOriginProtection], and
// [Session.Regenerate] at login). SECURITY.md is the threat model.
//
// # Revocation
//
// With [Options.Revoker] (the redisstore module has one), [Session.Destroy]
// revokes the session everywhere, [Manager.RevokeSubject] ends every
// session of a subject ([Session.SetSubject]),
// [Manager.RevokeProviderSession] those of an identity provider's session
// ([Session.SetProviderSession]; the oidclogout module serves the OpenID
// Connect Back-Channel Logout endpoint that calls it), and
// [Manager.RevokeAll] ends all of them. These are exact, whatever the
// servers' clocks: the sessions that exist when the call returns end, on
// each server once it has applied the revocation, and a login after it
// opens, because revocations and sessions are ordered by the Revoker's
// generations, not by time (see [store.Revocations]). With a Revoker,
// [Session.Regenerate], and a change of subject or provider session,
// revoke the ID the browser held.
//
// A logout the Revoker cannot record (it is down) still fails the save
// with its error, and is not lost: this server refuses the session's
// copies at once and retries the revocation in the background until the
// Revoker records it or the session's deadline passes (events "revoke"
// "pending", then "id" or "expired"); a crash of this server before then
// loses it (see SECURITY.md). All the store calls of one request (reading
// or storing an overflowed session, recording a logout, deleting a
// replaced value) share one deadline, the stores' timeout after the first
// of them (see [store.Timeout]): a store that hangs delays a request by at
// most that long in total.
//
// # WebSockets
//
// [Manager.Watch] gives a socket a context that ends when its session is
// revoked or expires. A change made on the socket reaches the cookies
// through [Manager.CommitToken] and [Manager.CommitHandler], which say
// which tokens are refused; the page posts them with [CommitScript].
//
// # Errors
//
// Bad input from a client never fails the request: the handler gets a new
// session, [Options.OnError] an error matching [ErrInvalid], [ErrExpired],
// [ErrTooLarge], [ErrAmbiguous], [ErrRevoked], [ErrUndecodable] or
// [store.ErrOverflowMissing], and the response expires the cookies. A
// store that is down is [store.ErrRevocationUnavailable] or
// [store.ErrOverflowUnavailable], and the cookies stay. [Session.Err]
// gives the handler the same error. A key id not in the ring is
// [ErrUnknownKey], which still matches ErrInvalid: a rotation mistake, told
// from tampering. Misuse by the application is an error from [New] or
// Save. [Reason] names each condition for logs; [Options.OnEvent] counts
// reads, writes and clears. What would leave sessions silently broken
// (Secure cookies on plain HTTP, two Managers on one cookie name:
// [ErrNameConflict]) is logged once, at Warn on [Options.Logger], with
// the fix.
//
// # Wire format
//
// A [Codec] seals single values; a [CookieCodec] a session's cookies, for
// adapters. What they write, the envelope, chunking, overflow references
// and the compatibility promise are specified in docs/format.md, beside
// the test vectors in testdata/vectors.
//
// # Testing
//
// Package cookiesessiontest mints the cookies of a session for a handler
// test, reads the session a recorded response left in the browser, and
// gives a clock for [SealOptions].Now.
package cookiesession
