package redisstore

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// Defaults of [Options].
const (
	// DefaultKeyPrefix starts every key the Store writes.
	DefaultKeyPrefix = "cookiesession:"

	// DefaultMaxLifetime is the longest session lifetime the Store
	// expects: the core's default Options.MaxAge, 30 days.
	DefaultMaxLifetime = 30 * 24 * time.Hour

	// DefaultStaleness is how long a Store answers from its last known
	// revocation state while Redis cannot be read: long enough to ride
	// out a restart or a Cluster failover (15 s of node timeout plus an
	// election), short enough that a server cut off from Redis misses a
	// revocation made elsewhere for at most this long.
	DefaultStaleness = 30 * time.Second

	// DefaultTimeout bounds every call the Store makes on behalf of a
	// caller (Revoke*, Put, Get, Delete, Expire) and each connection
	// attempt, and all the calls of one request together.
	DefaultTimeout = 2 * time.Second

	// DefaultCacheBytes is the size of the local cache of overflow
	// values, per connection to Redis.
	DefaultCacheBytes = 8 << 20

	// maxKeyLen bounds an overflow key, a session ID and a subject.
	maxKeyLen = 1024
)

// Options configures a [Store]. The zero value of each field selects its
// default.
type Options struct {
	// Addr is the address (host:port) of the Redis or Valkey server, or
	// of any node of a Cluster (the client discovers the others). Used
	// by [New] only; required there.
	Addr string

	// Username and Password authenticate to the server (ACL user, or
	// requirepass with an empty Username). Default: none. Used by [New]
	// only.
	Username, Password string

	// TLS, when set, connects with TLS. Default: plain TCP, which is
	// fit only for a trusted network. Used by [New] only.
	TLS *tls.Config

	// KeyPrefix starts every key the Store writes: the revocation stream
	// is KeyPrefix+"{rev}", the revocation snapshot KeyPrefix+"{rev}:seq",
	// ":scopes", ":ids" and ":exp" (one hash tag, so one slot of a
	// Cluster), an overflow value KeyPrefix+"ov:"+key and a claimed
	// one-time key (Store.Claim) KeyPrefix+"once:"+key. Default
	// [DefaultKeyPrefix].
	KeyPrefix string

	// MaxLifetime is the longest lifetime of a session: at least the
	// Manager's Options.MaxLifetime (which defaults to its MaxAge). A
	// revocation whose until lies further than MaxLifetime plus 10
	// minutes (room for the Manager's ClockSkew) in the future is refused
	// with an error, and an until read from Redis is capped there;
	// stream entries older than MaxLifetime plus an hour are trimmed
	// (the snapshot keeps each revocation until its until). Default
	// [DefaultMaxLifetime] (30 days, the core's default MaxAge).
	MaxLifetime time.Duration

	// Staleness is how long Revocations keeps answering from the last
	// known state after the Store last heard from Redis. Past it,
	// Revocations fails with [store.ErrRevocationUnavailable]
	// (fail closed: every session is refused until Redis is back),
	// unless InsecureFailOpen is set. Default [DefaultStaleness] (30 s).
	Staleness time.Duration

	// InsecureFailOpen makes Revocations keep answering from the last
	// known state however old it is, so an outage of Redis never refuses
	// a session, at the price of accepting sessions revoked during the
	// outage (or on a server cut off from Redis). Default false (fail
	// closed).
	InsecureFailOpen bool

	// Timeout bounds each call made for a caller and each connection
	// attempt; a call that takes longer fails with an error wrapping
	// [context.DeadlineExceeded]. Through [Store.Timeout] it also bounds
	// the total a Manager's request waits on the Store, however many
	// calls it makes (see the package doc). Default [DefaultTimeout]
	// (2 s).
	Timeout time.Duration

	// CacheBytes is the size of the local cache of overflow values read
	// by Get, per connection to Redis. The cache is kept current by the
	// server (client-side caching with tracking): a Delete on any server
	// evicts the value everywhere. Default [DefaultCacheBytes] (8 MiB);
	// -1 disables the cache, as a server that refuses CLIENT TRACKING or
	// speaks only RESP2 requires. Used by [New] only: a client passed to
	// [NewFromClient] caches according to its own options.
	CacheBytes int

	// Now is the clock. Default [time.Now]. It orders no revocation:
	// it dates an overflow value's expiry, bounds an until, and measures
	// staleness.
	Now func() time.Time

	// Logger receives what the Store reports on its own: a malformed
	// revocation entry read from Redis (refused, at Warn, with the
	// running count), Redis found to have lost revocations (at Warn)
	// and their writing back (at Info). Default [slog.Default].
	Logger *slog.Logger
}

// Store keeps the revocation state of an application in Redis (or Valkey,
// standalone or Cluster) and a copy of it in memory, and stores overflowed
// sessions. It implements [store.Revoker],
// [store.RevocationNotifier] and [store.Overflow]; one
// Store can serve as both Options.Revoker and Options.Overflow. Build it
// with [New] or [NewFromClient]; it is safe for concurrent use.
type Store struct {
	client      rueidis.Client
	ownsClient  bool
	now         func() time.Time
	stream      string
	ovPrefix    string
	oncePrefix  string
	maxLifetime time.Duration
	staleness   time.Duration
	failOpen    bool
	timeout     time.Duration
	cache       bool

	keys   []string // the revocation keys, in the scripts' order (see scripts.go)
	logger *slog.Logger

	mu        sync.RWMutex
	ids       map[string]int64    // session ID → until (Unix ns)
	subjects  map[string]scopeRev // subject → latest revocation
	sids      map[string]scopeRev // provider session ID → latest revocation
	all       scopeRev            // latest RevokeAll
	applied   uint64              // the last generation applied in order: Generation
	epoch     string              // the identity of the sequence applied is of ("" before the first load)
	appliedCh chan struct{}       // closed when applied advances
	lastID    string              // the stream ID after which the follower reads
	lost      bool                // Redis lost state held here, not yet written back
	lastOK    time.Time           // the follower's last successful read
	lastErr   error               // the follower's last failure
	stale     bool                // availability as last notified
	changed   chan struct{}

	kick      chan struct{} // interrupts the follower's blocked read
	kicked    atomic.Bool   // the follower is to check the sequence
	refused   atomic.Uint64 // malformed entries refused
	lastSweep time.Time
	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// Indexes of Store.keys.
const (
	keySeq = iota
	keyScopes
	keyIDs
	keyExp
	keyStream
	keyEpoch
)

// New connects to opts.Addr and returns a Store whose revocation state is
// loaded from Redis's snapshot (one read per thousand revoked IDs). It
// fails when the options are invalid or Redis cannot be reached, or one of
// those reads not answered, within opts.Timeout. Close releases the
// connection.
func New(opts Options) (*Store, error) {
	if opts.Addr == "" {
		return nil, errors.New("cookiesession: redisstore: Options.Addr is empty")
	}
	if _, _, err := net.SplitHostPort(opts.Addr); err != nil {
		return nil, fmt.Errorf("cookiesession: redisstore: Options.Addr: %w", err)
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	co := rueidis.ClientOption{
		InitAddress:      []string{opts.Addr},
		Username:         opts.Username,
		Password:         opts.Password,
		TLSConfig:        opts.TLS,
		Dialer:           net.Dialer{Timeout: opts.Timeout},
		ConnWriteTimeout: opts.Timeout,
		DisableCache:     opts.CacheBytes < 0,
	}
	if opts.CacheBytes > 0 {
		co.CacheSizeEachConn = opts.CacheBytes
	}
	client, err := rueidis.NewClient(co)
	if err != nil {
		return nil, fmt.Errorf("cookiesession: redisstore: connect to %s: %w", opts.Addr, err)
	}
	s, err := newStore(client, true, opts)
	if err != nil {
		client.Close()
		return nil, err
	}
	return s, nil
}

// NewFromClient returns a Store on an existing rueidis client (for
// Sentinel, several seed addresses or any other client option), loaded
// from Redis like [New]. opts.Addr, Username, Password, TLS and CacheBytes
// are ignored. Close stops the Store but leaves the client open: it stays
// the caller's.
func NewFromClient(client rueidis.Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("cookiesession: redisstore: nil client")
	}
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	return newStore(client, false, opts)
}

func (o *Options) defaults() error {
	if o.KeyPrefix == "" {
		o.KeyPrefix = DefaultKeyPrefix
	}
	if o.MaxLifetime == 0 {
		o.MaxLifetime = DefaultMaxLifetime
	}
	if o.Staleness == 0 {
		o.Staleness = DefaultStaleness
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.CacheBytes == 0 {
		o.CacheBytes = DefaultCacheBytes
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.MaxLifetime < 0:
		return fmt.Errorf("cookiesession: redisstore: Options.MaxLifetime %v is negative", o.MaxLifetime)
	case o.Staleness < 0:
		return fmt.Errorf("cookiesession: redisstore: Options.Staleness %v is negative", o.Staleness)
	case o.Timeout < 0:
		return fmt.Errorf("cookiesession: redisstore: Options.Timeout %v is negative", o.Timeout)
	case o.CacheBytes < -1:
		return fmt.Errorf("cookiesession: redisstore: Options.CacheBytes %d is below -1", o.CacheBytes)
	}
	return nil
}

func newStore(client rueidis.Client, owns bool, opts Options) (*Store, error) {
	stream := opts.KeyPrefix + "{rev}"
	s := &Store{
		keys:        []string{stream + ":seq", stream + ":scopes", stream + ":ids", stream + ":exp", stream, stream + ":epoch"},
		logger:      opts.Logger,
		client:      client,
		ownsClient:  owns,
		now:         opts.Now,
		stream:      stream,
		ovPrefix:    opts.KeyPrefix + "ov:",
		oncePrefix:  opts.KeyPrefix + "once:",
		maxLifetime: opts.MaxLifetime,
		staleness:   opts.Staleness,
		failOpen:    opts.InsecureFailOpen,
		timeout:     opts.Timeout,
		cache:       opts.CacheBytes >= 0,
		ids:         make(map[string]int64),
		subjects:    make(map[string]scopeRev),
		sids:        make(map[string]scopeRev),
		appliedCh:   make(chan struct{}),
		changed:     make(chan struct{}),
		lastID:      "0-0",
		kick:        make(chan struct{}, 1),
		done:        make(chan struct{}),
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	// The initial load, from the snapshot (after carrying into it what
	// releases before generations recorded), before answering anything;
	// the follower goes on from the stream entry the snapshot ends at.
	_, err := s.carryLegacy(ctx)
	if err == nil {
		err = s.rebuild(ctx)
	}
	if err != nil {
		stop()
		return nil, fmt.Errorf("cookiesession: redisstore: load revocations: %w", err)
	}
	s.lastOK = s.now()
	s.lastSweep = s.lastOK
	go s.follow(ctx)
	return s, nil
}

// Close stops following the revocation stream and, for a Store made by
// [New], closes the connection. Revocations then fails (closed) once the
// staleness bound passes; the other methods fail at once. Close is
// idempotent and returns nil.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stop()
		if s.ownsClient {
			// stop has interrupted the follower's blocked read
			// (see interruptible); a caller's client is left open.
			s.client.Close()
		}
		<-s.done
	})
	return nil
}

// withTimeout bounds a caller's command by the Store's timeout.
func (s *Store) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, s.timeout)
}

// Timeout returns Options.Timeout. It makes the Store a
// store.Timeout (of the core's store package): the Manager bounds the total time one
// request waits on the Store by it, however many commands the request
// sends.
func (s *Store) Timeout() time.Duration { return s.timeout }

// call runs f, the commands of one call made for a caller, bounded by ctx
// and the Store's Timeout, and returns its error, or the context's at the
// deadline. f runs on a goroutine of its own, so that the caller has its
// answer at the deadline even where the client keeps a command waiting
// without looking at its context: behind another caller that is dialing a
// new connection (rueidis's mux queues later callers on that dial), or for
// a slot in a full pipeline (rueidis's ring queue). f then ends on its own,
// within the connection's own bounds (the dial and write timeouts, which
// New sets to Timeout, and the client's background PING).
func (s *Store) call(ctx context.Context, f func(ctx context.Context) error) error {
	ctx, cancel := s.withTimeout(ctx)
	done := make(chan error, 1)
	go func() {
		defer cancel()
		done <- f(ctx)
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		select {
		case err := <-done: // finished at the same instant
			return err
		default:
			return ctx.Err()
		}
	}
}
