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
// The whole revocation state (revoked session IDs, the latest revocation
// of each subject, the latest revocation of everything) lives in one Redis
// stream, KeyPrefix+"{rev}" (the hash tag keeps it in one slot of a
// Cluster). Every Store holds a copy in memory, read at start and kept
// current by a goroutine that follows the stream with XREAD BLOCK. So
// [Store.Revocations], called for every session a Manager opens, answers
// from memory: a map lookup, no command. A Revoke method appends an entry
// with XADD and applies it locally before returning; the other servers
// see it as soon as Redis hands it to their blocked XREAD (on loopback,
// typically under a millisecond; see the benchmarks). [Store.Changed]
// tells long-lived connections of every change.
//
// The stream does not grow without bound: each XADD trims the entries
// older than Options.MaxLifetime plus an hour (MINID). An entry is needed
// only until its until time, which is never more than MaxLifetime plus
// 10 minutes away, so trimming drops nothing a session could still need
// while the clocks of the servers and of Redis agree within 50 minutes; a
// revocation whose until lies further away is refused. The Manager keeps
// a revocation of a subject or of everything until now plus its
// Options.MaxLifetime plus its ClockSkew (1 minute by default), so the
// Store's MaxLifetime must be at least the Manager's Options.MaxLifetime,
// which defaults to the Manager's MaxAge (the Store's default, 30 days, is
// the core's default MaxAge); a shorter one makes RevokeSubject and
// RevokeAll fail with an error. Memory and the stream both hold one entry
// per revocation made within MaxLifetime: about 100 bytes each, so a
// million logouts a month cost about 100 MB on every server.
//
// Stored revocations name session IDs and subjects as the Manager gives
// them; choose subjects (a user's number rather than an address) with
// that in mind.
//
// # Persistence
//
// A Revoke method returns nil once Redis acknowledged the XADD. That
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
// master acknowledged but had not yet replicated. The tests kill and
// restart Redis in the middle of a run of revocations under this
// configuration and check that none acknowledged is lost.
//
// appendfsync always makes every write wait for the disk: a revocation
// costs a fraction of a millisecond on a fast disk, an overflow Put a few
// milliseconds on a slow one. An application that wants faster overflow
// writes (their loss on a crash only sends the affected users back to a
// new session) can run two Stores: a Revoker on a durable Redis and an
// Overflow on another configured for speed.
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
// that grows to a second; it resumes from the last entry it applied
// (entries trimmed meanwhile concerned only sessions past their deadline),
// so a Redis that comes back needs no restart of the application.
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
