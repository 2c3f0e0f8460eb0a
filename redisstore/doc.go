// Package redisstore shares the revocation state of a cookiesession
// application between its servers, and stores sessions too large for their
// cookies, on Redis 7 or Valkey, standalone or Cluster.
//
// One [Store] serves as both Options.Revoker and Options.Overflow of a
// cookiesession Manager:
//
//	store, err := redisstore.New(redisstore.Options{Addr: "127.0.0.1:6379"})
//	if err != nil { … }
//	defer store.Close()
//	m, err := cookiesession.New[Data](cookiesession.Options{
//		Keys:     keys,
//		Revoker:  store,
//		Overflow: store,
//	})
//
// [NewFromClient] builds a Store on a rueidis client configured by the
// application (Sentinel, several seed addresses, other client options).
// The module is separate from the core, so applications that do not use
// Redis carry no Redis dependency.
//
// # Revocation
//
// Revocations are ordered by number, not by time. Each revocation (of a
// session ID, a subject, an identity-provider session, or everything)
// takes the next number of one sequence per KeyPrefix, its generation, in
// a Lua script that, in the same step, merges it into a snapshot of the
// state (the latest revocation of each scope with its generation, the
// revoked IDs, each kept until its until and then pruned) and appends it,
// numbered, to a stream. The sequence does not start at 0: whichever
// script finds it missing (a revocation, a Store starting, the writing
// back below) creates it at Redis's clock in ms and stores that seed as
// its epoch, the sequence's identity; from there each revocation takes
// the next number. All these keys start with KeyPrefix+"{rev}": the hash
// tag keeps them in one slot of a Cluster, so the script runs there too.
//
// Every Store holds a copy of the state in memory, loaded from the
// snapshot at start and kept current by a goroutine that follows the
// stream with XREAD BLOCK and applies the entries in the order of their
// generations. [Store.Generation] is the generation of the last one it
// applied in that order: a new session seals it, and a revocation of one
// of its scopes with a greater generation revokes it. So
// [Store.Revocations] and Generation, called for every session a Manager
// opens or makes, answer from memory: no command. Clocks take no part: a
// session is revoked when the server that made it had not yet applied the
// revocation, whatever the time on either server.
//
// A Revoke method returns once Redis acknowledged the script. The
// revocation is then applied here at once (the sessions it revokes are
// refused on this server); a revocation of a scope also waits, within the
// call's time (its context's deadline or Options.Timeout), until this
// Store's follower has applied it in order, so that a login here right
// after it seals a generation it does not revoke. When that takes longer
// the call returns nil all the same: the revocation is recorded and
// enforced here, and logins made here until it is applied in order are
// refused once it is (fail safe, never a revoked session let in). The
// other servers apply it as soon as Redis hands it to their blocked
// XREAD (on loopback, typically under a millisecond). [Store.Changed]
// tells long-lived connections of every change.
//
// A follower never silently falls behind. A gap in the generations it
// reads (entries trimmed before it read them, or refused as malformed), a
// stream deleted or replaced by one whose entry IDs lie below its position
// (a failover to a master whose clock was behind), or a reset entry, make
// it rebuild from the snapshot: the sequence, the stream's last ID and the
// scopes read at one instant by a read-only script, then the IDs page by
// page, merged into memory without ever lowering it; it resumes after that
// stream ID. It compares the sequence with its own whenever a blocked read
// returns nothing (at least once a second); the server that made a
// revocation numbered below its position checks at once. A sequence below
// what it applied, or gone, or an entry numbered at or below the last one
// applied, or a sequence of another epoch than the one it applied under
// (or of none: Redis lost the sequence and a new one was created, which
// starts at Redis's clock and so usually lies above, looking like a gap),
// means Redis lost state (restarted without persistence, or from an older
// snapshot): the Store then fails closed (Revocations fails with
// store.ErrRevocationUnavailable unless InsecureFailOpen) while it writes
// its state back (the IDs in batches, then the scopes, the sequence raised
// above every generation it sealed); a revocation recorded after the loss
// with a generation some session may already have sealed gets a new one
// above it, and a reset entry makes every follower rebuild. A revocation
// whose script finds the sequence at or below the caller's Generation
// takes the generation above it and starts the same writing back. Each
// hash of the snapshot carries a marker that follows the sequence while
// the hash is whole, so a hash evicted or deleted on its own is noticed
// the same way; a Store that starts then, holding nothing to write back,
// fails closed until a server that holds the revocations has written them
// back.
//
// Entries read from Redis are bounded: an until is capped at now plus
// MaxLifetime plus 10 minutes, and a malformed entry (no generation, an
// unknown kind, a label over 1024 bytes, a bad number, a generation of
// 2^53 or more) is refused, counted and logged at Warn on Options.Logger.
// A sequence that is not a generation (2^53 or more, written by someone
// else than a Store), or an epoch longer than 20 bytes, is never taken:
// the Store keeps its generation and fails closed once stale. The time a
// revocation of a scope is kept past its moment, which RevocationHorizon
// reports, is capped at the longest lifetime a Manager accepts (400 days,
// or MaxLifetime when longer) plus 10 minutes.
//
// Neither the stream nor the snapshot grows without bound. Each revocation
// trims the stream entries older than Options.MaxLifetime plus an hour
// (MINID; a follower that had not read them rebuilds from the snapshot)
// and prunes up to 64 snapshot entries whose until passed more than 10
// minutes ago by Redis's clock (a server whose clock is behind Redis's
// still opens a session until its own clock reaches the deadline, so a
// server that loads the snapshot then must still find the revocation). A
// revocation whose until lies further than MaxLifetime plus 10
// minutes away is refused. The Manager keeps a revocation of a subject or
// of everything until now plus its Options.MaxLifetime plus its ClockSkew
// (1 minute by default), so the Store's MaxLifetime must be at least the
// Manager's Options.MaxLifetime, which defaults to the Manager's MaxAge
// (the Store's default, 30 days, is the core's default MaxAge); a shorter
// one makes RevokeSubject and RevokeAll fail with an error. Memory, the
// snapshot and the stream each hold one entry per revocation made within
// MaxLifetime (a logout, and a login over a session the browser held,
// since Regenerate revokes the old ID): about 100 bytes each, so a
// million logouts a month cost about 100 MB on every server and about
// twice that in Redis (snapshot and stream).
//
// A Redis written by a release before generations holds stream entries
// without one. The first Store that starts on it carries those still
// needed into the snapshot: a revoked ID as it was, a revoked subject,
// provider session or everything as a new revocation of that scope.
// Sessions sealed before generations count as generation 0, so each such
// scope's sessions made before the upgrade end, including those made after
// the old revocation's moment (once, fail safe). During a rolling upgrade
// the two releases do not see each other's revocations: the old one reads
// the new entries' times wrongly and applies nothing, the new one refuses
// the old entries (logged); upgrade every server together, or repeat the
// revocations made during the rollout once it is done.
//
// Stored revocations name session IDs, subjects and provider session IDs
// as the Manager gives them; choose subjects (a user's number rather than
// an address) with that in mind.
//
// [Store.Claim] records a one-time key (SET NX PXAT) shared by every
// server: the oidclogout module refuses a replayed logout token with it.
//
// # Persistence
//
// A Revoke method returns nil once Redis acknowledged the script. That
// revocation survives a crash or restart of Redis only when Redis writes
// every command to disk before answering:
//
//	appendonly yes
//	appendfsync always
//
// With appendfsync everysec (the Redis default for the append-only file)
// a crash can lose the last second of acknowledged revocations; without
// the append-only file, everything since the last snapshot. In a Cluster
// or with replicas, a failover to a replica can also lose what the old
// master acknowledged but had not yet replicated. A revocation lost that
// way that some server had applied is written back by that server (see
// Revocation); one lost before any server applied it is gone. When no
// running server holds the generations either (every server restarted
// with Redis, or a new fleet on an emptied Redis), the revocations Redis
// lost are gone, but the sessions made before the loss are not out of
// reach: the new sequence starts at Redis's clock, above every generation
// they sealed, so a revocation of their scope made after the loss ends
// them. That holds unless the lost sequence averaged more than one
// revocation per millisecond from its creation to the loss (it started
// at Redis's clock too), or the Redis that creates the new sequence has a
// clock behind the old one's by more than the margin that leaves: keep
// Redis's clock synchronised, and after a loss repeat the revocations
// that matter (RevokeSubject, RevokeAll), or rotate the session keys.
// TestTotalLoss restarts Redis without persistence with every Store
// closed and checks that revocations made afterwards refuse the sessions
// sealed before. The tests
// kill and restart Redis in the middle of a run of revocations under this
// configuration and check that none acknowledged is lost, and restart a
// Redis without persistence to check that the servers write back what
// they hold and never let a revoked session in meanwhile.
//
// The revocation keys have no expiry, so a maxmemory-policy of noeviction
// or one of the volatile-* policies never evicts them (overflow values,
// which expire, may go: their sessions start anew); an allkeys-* policy
// can, and the Stores then write back what they hold, as above.
//
// appendfsync always makes every write wait for the disk: a revocation
// costs a fraction of a millisecond on a fast disk, an overflow Put a few
// milliseconds on a slow one. An application that wants faster overflow
// writes (their loss on a crash only sends the affected users back to a
// new session) can run two Stores: a Revoker on a durable Redis and an
// Overflow on another configured for speed.
//
// # Size and permissions
//
// A Manager with a Revoker revokes the old ID at every Regenerate of a
// session the browser held, so every login (an anonymous session
// regenerated) records one ID revocation, kept in Redis and in each
// Store's memory until that session's deadline, and takes one number of
// the sequence: count logins as well as logouts in the memory estimate
// under Revocation. The sequence starts at Redis's clock in ms, so the
// generation in each cookie is a varint of 6 bytes (8 characters of the
// cookie) from 2001 to 2109, however many revocations are made.
//
// The Store runs Lua scripts on the revocation keys: an ACL user needs
// EVALSHA, EVAL, EVALSHA_RO, EVAL_RO, XREAD, XRANGE, GET, EXISTS and
// HSCAN on the keys under KeyPrefix, plus SET, DEL and PEXPIREAT for
// overflow values and Claim.
//
// # Failure
//
// While Redis cannot be read, a Store answers from the state it last read
// for Options.Staleness (30 s by default: a restart or a Cluster failover
// fits in it, and a server cut off from Redis misses a revocation made
// elsewhere for at most that long). Past it, Revocations fails with an
// error wrapping store.ErrRevocationUnavailable, so the Manager
// refuses sessions without deleting their cookies (fail closed), until
// Redis answers again; Options.InsecureFailOpen keeps answering from the
// old state instead. Changed is closed when the state becomes unavailable
// and when it becomes available again. The follower retries with a pause
// that grows to a second; it resumes from the last entry it applied, or
// rebuilds from the snapshot when entries it missed were trimmed meanwhile,
// so a Redis that comes back needs no restart of the application.
// [Store.Close] ends the follower's blocked read at once: it returns
// within milliseconds.
//
// A Redis that hangs delays a request by at most Options.Timeout (2 s by
// default) in total. Every call made for a caller (Revoke*, Put, Get,
// Delete, Expire) ends by its context's deadline or Options.Timeout,
// whichever comes first, and so does each connection attempt. The Store
// is a store.Timeout (of the core's store package), so the Manager gives all the calls of
// one request a single deadline, Options.Timeout after the first: a
// request that reads an overflowed session, stores its new value, logs it
// out and expires the old value waits at most Options.Timeout for all of
// them together, not once per command. The caller gets its answer at the
// deadline even when the client library would keep it waiting longer:
// rueidis queues callers behind one connection that another caller is
// dialing, and waits for a slot in a full pipeline, without looking at
// their contexts; each call therefore runs on a goroutine of its own, which
// the caller leaves at the deadline, and which ends within the
// connection's own bounds (dial and write timeouts, set to Options.Timeout,
// and the client's background PING). Revocations sends no command, so it
// never waits on Redis. A call that timed out may still take effect in
// Redis (a Put or a revocation written just before the answer was lost).
//
// A logout that Redis cannot record (RevokeID failing or timing out) is
// not lost while the server runs: the Manager refuses the session on this
// server at once and retries the revocation in the background until Redis
// takes it or the session's deadline passes (see the core's SECURITY.md,
// which also says what a crash of that server loses).
//
// # Overflow
//
// [Store.Put] stores a sealed session under KeyPrefix+"ov:"+key with SET …
// PXAT, so Redis drops it at the session's deadline; [Store.Get] reads it
// (a missing key matches store.ErrOverflowMissing); [Store.Delete]
// removes it, and [Store.Expire] brings its expiry forward (PEXPIREAT …
// LT): the Manager lets a value that a write replaced live a minute more,
// for requests of the same browser still in flight with the old cookie.
// Keys are spread over the slots of a Cluster: each request touches one
// key, so no command spans slots.
//
// Get keeps recently read values in a client-side cache that the server
// keeps current (RESP3 client tracking): a value deleted or expired on
// Redis leaves the cache of every Store, typically within milliseconds.
// A miss is always confirmed with Redis, never taken from the cache. Write
// each value under a fresh key: a value replaced under the same key may be
// served from another server's cache until its invalidation arrives.
package redisstore
