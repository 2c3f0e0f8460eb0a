package cookiesession

import (
	"context"
	"sync"
	"time"

	"github.com/cookiesession/cookiesession/store"
)

// The stores' time bound: every call a request makes to the Revoker or
// the Overflow store that may wait on the network (reading an overflowed
// session, storing one, deleting or expiring a replaced one, recording a
// logout) shares one deadline, set by the first of them. However many
// calls a request makes, a store that hangs delays it by at most the
// bound in total, not by the bound once per call.

// defaultStoreTimeout is the bound of a store that is not a
// [store.Timeout].
const defaultStoreTimeout = overflowTimeout

// timeoutOf returns the time bound of a store (nil: none).
func timeoutOf(s any) time.Duration {
	if s == nil {
		return 0
	}
	if st, ok := s.(store.Timeout); ok {
		if d := st.Timeout(); d > 0 {
			return d
		}
	}
	return defaultStoreTimeout
}

// storeBudget is one request's allowance of time for its store calls:
// its deadline is set by the first call. The zero value with d set is
// ready.
type storeBudget struct {
	d        time.Duration
	mu       sync.Mutex
	deadline time.Time
}

// budgetKey is the context key under which a request's storeBudget is
// found (the middleware's state answers it without an allocation).
type budgetKey struct{}

// budgetOf returns the budget ctx carries, or nil.
func budgetOf(ctx context.Context) *storeBudget {
	b, _ := ctx.Value(budgetKey{}).(*storeBudget)
	return b
}

// withBudget returns ctx carrying a budget of d, unless it carries one.
func withBudget(ctx context.Context, d time.Duration) context.Context {
	if d <= 0 || budgetOf(ctx) != nil {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, &storeBudget{d: d})
}

// end returns the budget's deadline, starting it now if no store call
// started it yet.
func (b *storeBudget) end() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.deadline.IsZero() {
		b.deadline = time.Now().Add(b.d)
	}
	return b.deadline
}

// storeContext returns the context of one store call made for ctx: its
// values without its cancellation (a client that hangs up does not undo
// a write or a logout), and the deadline of the request's budget when
// ctx carries one, d from now otherwise.
func storeContext(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if ctx == nil {
		ctx = context.Background()
	}
	deadline := time.Now().Add(d)
	if b := budgetOf(ctx); b != nil {
		deadline = b.end()
	}
	return context.WithDeadline(context.WithoutCancel(ctx), deadline)
}

// requestBound bounds a call the application makes with ctx (RevokeSubject,
// RevokeAll) by the store budget of the request ctx belongs to, if any,
// keeping ctx's cancellation: called with the request's context inside
// the middleware, it shares the request's bound.
func requestBound(ctx context.Context) (context.Context, context.CancelFunc) {
	if b := budgetOf(ctx); b != nil {
		return context.WithDeadline(ctx, b.end())
	}
	return ctx, func() {}
}
