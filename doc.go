// Package cookiesession keeps a web application's session entirely in
// cookies: the session is serialized (JSON by default), sealed with
// XChaCha20-Poly1305 under a key only the server holds, and written into
// HttpOnly cookies, split across several when it is larger than one cookie
// can carry. There is no server-side store: servers share nothing but the
// keys.
//
// # Sessions
//
// A [Manager] reads and writes one typed session. Wrap the handler with
// [Manager.Handler] and read the session with [Manager.Get]:
//
//	type Visit struct{ Count int }
//
//	keys, err := cookiesession.KeysFromEnv() // COOKIESESSION_KEYS
//	m, err := cookiesession.New[Visit](cookiesession.Options{Keys: keys})
//	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
//		s := m.Get(r)
//		s.Data.Count++
//		fmt.Fprintf(w, "visit %d", s.Data.Count)
//	})
//	http.ListenAndServe(addr, m.Handler(mux))
//
// The session is read only when a handler calls Get, and written only when
// it changed (its serialized form differs), when it asks to be
// ([Session.Touch], [Session.Regenerate], [Session.SetMaxAge]), when an idle
// deadline needs pushing out, or when it was sealed with an older key. The
// cookies are set exactly when the response header goes out (the first
// WriteHeader, Write, ReadFrom or Flush, or the end of the handler); the body
// is never buffered, and Flush, Hijack and [net/http.ResponseController] keep
// working. A change made after the header went out cannot reach the browser:
// it is reported to [Options.OnError] as [ErrHeaderWritten].
//
// A handler that only reads the session can call [Manager.View], which
// returns a copy of the data and never serializes it again at the end of
// the request to look for a change.
//
// Assigning nil to [Session.Data], or calling [Session.Destroy], expires
// every cookie of the session. [Manager.Load] and [Manager.Save] read and
// write a session without the middleware (a WebSocket upgrade, a redirect).
//
// # Cookies and chunks
//
// A sealed session that fits one cookie is stored under [Options.Name]. A
// larger one is split across Name, Name.1, Name.2, …, each cookie's name and
// value within [Limits.CookieSize] (4000 bytes by default, under the 4096
// that browsers accept). The number of chunks is sealed with the value, so
// leftovers of an older, longer session are ignored, and a missing, swapped
// or foreign chunk fails authentication. Every write expires the cookies of
// the session that the request carried and the response does not re-issue.
// The whole session is bounded by [Limits.TotalSize] (6144 bytes by
// default, so the Cookie header line stays under the 8 KiB that nginx and
// Apache accept): a session over it is an error at save time, naming the
// sizes ([SizeError], matching [ErrTooLarge]), and no cookie is written, so
// the browser keeps its previous, valid cookies.
//
// When a request carries several cookies under the session's name (a
// sibling subdomain can plant one), the one that authenticates is used; if
// several do, or if there are more distinct candidates than the search
// bound (8 combinations, 9 distinct values per cookie name) so that the
// search was cut short, the session is treated as absent and
// [ErrAmbiguous] reported.
//
// # Keys
//
// Each key is a secret of at least 32 random bytes ([GenerateKey], or the
// cookiesession command's keygen), kept in configuration as base64url text
// ([FormatKey], [ParseKeys]); [KeysFromEnv] reads a comma-separated list
// from COOKIESESSION_KEYS. Options.Keys[0] seals; every key opens, and a
// session opened with another key is re-sealed with Keys[0] on its next
// response. A running Manager takes a new ring with [Manager.SetKeys], and
// [WatchKeyFile] reloads it whenever a key file changes, so rotating needs
// no restart; the steps of a rotation across servers, and what they
// guarantee, are in SECURITY.md, section "Key rotation".
//
// # Security
//
// Protected: the session's confidentiality and integrity, its binding to
// the cookie name, its expiry (enforced by the server from sealed times)
// and the server's work on hostile input. Not protected without a
// [Revoker]: replay of a copied cookie within its lifetime. Not protected
// at all: rollback by the user to an older cookie of their own, the last
// of concurrent responses winning, the session's length, and cookies
// sealed under a stolen key. The session is no defence against cross-site
// request forgery: wrap the handler with [net/http.CrossOriginProtection],
// and call [Session.Regenerate] at login.
//
// SECURITY.md, in the module's root, is the threat model: each of these
// claims with the test that checks it, the recommended settings, the
// cryptographic choices and their limits, key rotation, and how to report
// a vulnerability.
//
// # Revocation
//
// With [Options.Revoker] (the redisstore module provides one on Redis or
// Valkey), a session can be taken back before its deadline, on every
// server that shares the Revoker:
//
//   - logout: [Session.Destroy] or Data = nil revokes the session's ID, so
//     a copy of its cookies taken earlier stops opening;
//   - "log out everywhere": [Manager.RevokeSubject] revokes every session
//     of a subject (named at login with [Session.SetSubject]) created
//     before the call, and none created after it;
//   - everything: [Manager.RevokeAll] revokes every session created before
//     the call, without a key rotation.
//
// A revoked session reads as a new one and [ErrRevoked] goes to
// [Options.OnError]. The check runs on every session opened, after the
// time checks and before the data is deserialized; the Revoker answers
// from memory, so it costs no network round trip. Creation times and
// revocation times compare in milliseconds: a session created in the
// millisecond of a revocation is not revoked by it. A Revoker that cannot
// vouch for its state refuses sessions with [ErrRevocationUnavailable]
// (its policy says when). [Manager.Watch] gives a long-lived connection a
// context that ends when its session is revoked or expires.
//
// # WebSockets
//
// A WebSocket starts as an HTTP request, so its handler reads the session
// like any other: [Manager.Get] inside [Manager.Handler] (the middleware's
// writer lets the WebSocket library hijack the connection, directly or
// through http.ResponseController) or [Manager.Load] on the upgrade
// request. Once the connection is upgraded no response header is left to
// carry a cookie, so a change made on the socket travels in two steps:
//
//  1. The server calls [Manager.CommitToken] with the changed session and
//     sends the token over the socket.
//  2. The page posts it to [Manager.CommitHandler] (the helper that
//     [CommitScript] serves does this), which checks it and sets the
//     session's cookies exactly as the middleware would.
//
// A commit token is sealed like a cookie but under a key derived for the
// purpose "commit", so a token never opens as a session cookie and a
// session cookie never opens as a token. It carries the session's ID,
// creation time, lifetime and data, its own seal time (which becomes the
// seal time of the cookie it is committed into), and the states of the
// session it may replace, each named by its seal time and a SHA-256
// digest of its content. Successive tokens from one socket form a chain,
// which starts from the cookie the socket read: a token may replace that
// state, or the state one of the 8 tokens before it in the chain carries.
// The handler accepts a token only if the browser's current session
// cookie has the same session ID and is exactly one of those states. So
// replaying a token, or committing an older one after a newer, fails; and
// any other writer since the chain started (a change over HTTP, or a
// token of another socket's chain, from another tab) makes every token of
// the chain fail (409), the first and the ones chained after it, instead
// of silently overwriting that change. The socket's copy of the session
// is then stale, and the page should reopen the socket, whose upgrade
// request reads the current cookies. A token that was never committed
// does not block the next ones (up to 7 in a row after the chain's last
// commit).
//
// Seal times only move forward along a session: every write seals after
// the cookie it replaces, by at least a millisecond, whatever the clock
// says. So the ordering holds across servers whose clocks differ; only a
// token's age is measured on a clock. As with any cookie session, two
// requests in flight at once that both change the session end with the
// last response's cookie.
//
// # Wire format
//
// A cookie value (after joining chunks) is the unpadded base64url encoding
// (RFC 4648 §5, strict: no padding, no other alphabet, no stray bits) of
//
//	version (1 byte, 1) ‖ key id (4 bytes) ‖ flags (1 byte) ‖ chunks (1 byte)
//	‖ nonce (24 bytes)
//	‖ XChaCha20-Poly1305( issued (8) ‖ expires (8) ‖ payload ) with its 16-byte tag
//
// The key id is the first 4 bytes of HKDF-SHA256(secret, info "cookiesession
// key id"); it picks the key, so opening never tries every key. The AEAD key
// is 32 bytes of HKDF-SHA256(secret, info "cookiesession v1 purpose " +
// purpose), the purpose being "cookie" for sessions, so one secret serves
// several purposes without reuse. The nonce is random. The associated data
// is the 7-byte header followed by the cookie name, so a value moved to
// another cookie, or relabelled with another version, key, flag or chunk
// count, does not open. issued and expires are Unix milliseconds, big
// endian; an expired value is [ErrExpired]. Flag bit 0 marks a payload
// deflated (RFC 1951) before sealing; other bits must be zero. The fixed
// overhead is [Overhead] = 63 bytes before base64.
//
// A [Manager]'s payload is the session envelope — the 16-byte session ID,
// its creation time (Unix milliseconds) and its lifetime override
// (milliseconds, 0 for the Manager's MaxAge), 8 bytes each, big endian —
// followed by the serialized data. When bit 63 of the lifetime field is
// set, the session's subject ([Session.SetSubject]) follows the lifetime:
// one length byte (1 to 255) and the subject's bytes. Sessions without a
// subject are written exactly as before; a release without subjects reads
// the bit as a negative lifetime and refuses the session as expired. When
// bit 62 is set, the session's device binding ([Session.Bind]) follows
// (after the subject, if any): two length bytes (1 to 1024, big endian)
// and the binding's bytes; a release without bindings reads the bit as a
// lifetime past any it accepts and refuses the session as expired. A
// [Codec]'s payload (Encode, Decode) is the serialized value alone.
//
// A commit token is a value of the same format, in one chunk, sealed for
// the cookie's name under the purpose "commit". Its payload is a count n
// (1 byte, 1 to 9), n state marks of 32 bytes, then the session's payload
// as above. A mark is SHA-256(issued (8 bytes, Unix milliseconds, big
// endian) ‖ session payload) of a state the token may replace: the
// chain's origin first, then the latest states of the chain, oldest first.
// Tokens live seconds and their layout carries no promise across releases:
// the commit handler answers 409 to a token of the earlier layout (an
// 8-byte base time, then the session's payload), and the page reopens its
// socket.
//
// Compatibility promise: values sealed in format version 1 will open in
// every later release of this module, given the key and the cookie name.
// A future format gets a new version byte; version 1 stays readable for at
// least one major version after that.
//
// # Errors
//
// Bad input from a client — a tampered, truncated, oversized, expired,
// revoked or foreign cookie — never fails the request: the handler gets a
// new, empty session, [Options.OnError] gets an error matching
// [ErrInvalid], [ErrExpired], [ErrTooLarge], [ErrAmbiguous], [ErrRevoked],
// [ErrUndecodable] or [ErrOverflowMissing], and the response expires the
// cookies once so that the browser stops sending them. A store that is down
// is [ErrRevocationUnavailable] or [ErrOverflowUnavailable], and the
// cookies stay. Authentication failures are one opaque [ErrInvalid].
// Misuse by the application — a bad [Options], a session too large to
// store, a change after the header went out — is an error from [New], from
// Save, or to OnError. [Reason] names each condition for logs and metrics;
// by default OnError writes a [log/slog] record whose level tells the
// client's doing (Debug, Info) from the server's (Warn, Error), and
// [Options.OnEvent] counts reads, writes, clears and revocations. No error
// contains a cookie value, a plaintext or a key.
package cookiesession
