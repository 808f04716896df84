package vault

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"time"

	"github.com/hwvault/hwvault/status"
)

// CodePolicy governs activation codes. A zero field takes its default.
type CodePolicy struct {
	Digits      int           // decimal digits per code, 4–18; default 6
	TTL         time.Duration // how long a code is valid after it is issued; default 72h
	MaxAttempts int           // wrong codes that lock the vault (reason InvalidActivationCode); default 3
}

// DefaultCodePolicy is the policy a Service uses unless [WithCodePolicy]
// says otherwise.
var DefaultCodePolicy = CodePolicy{Digits: 6, TTL: 72 * time.Hour, MaxAttempts: 3}

// withDefaults fills zero fields from DefaultCodePolicy and panics on a
// policy no code can satisfy.
func (p CodePolicy) withDefaults() CodePolicy {
	if p.Digits == 0 {
		p.Digits = DefaultCodePolicy.Digits
	}
	if p.TTL == 0 {
		p.TTL = DefaultCodePolicy.TTL
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultCodePolicy.MaxAttempts
	}
	if p.Digits < 4 || p.Digits > 18 || p.TTL < 0 || p.MaxAttempts < 0 {
		panic(fmt.Sprintf("vault: invalid CodePolicy %+v: want 4-18 digits, a positive TTL and MaxAttempts", p))
	}
	return p
}

// Guard is host policy consulted before every change the Service stores.
// It sees a copy of the vault as it is before the change (for Import, the
// vault about to be created) and the trigger, which is zero for changes
// that are not transitions (account changes, code reissues, imports). A
// non-nil error vetoes the change: the command returns an error wrapping
// both [ErrRejected] and the guard's error, and nothing is stored.
//
// Two changes cannot be vetoed, because a guard must not be able to
// weaken the activation code's protection: counting a wrong code, and the
// automatic Lock after the last allowed wrong code.
type Guard func(ctx context.Context, v *Vault, t status.Trigger) error

// Option configures a [Service].
type Option func(*Service)

// WithClock sets the clock the Service stamps changes with and checks
// code expiry against. The default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Service) { s.now = now }
}

// WithRandom sets the source of activation codes and salts. The default
// is crypto/rand.Reader; anything else is for tests and simulations, and
// the Service serialises its reads.
func WithRandom(r io.Reader) Option {
	return func(s *Service) { s.random = r }
}

// WithCodePolicy sets the activation code policy; zero fields keep their
// defaults (see [DefaultCodePolicy]).
func WithCodePolicy(p CodePolicy) Option {
	return func(s *Service) { s.policy = p }
}

// WithGuard adds a guard. Guards run in the order they were added; the
// first veto wins.
func WithGuard(g Guard) Option {
	return func(s *Service) { s.guards = append(s.guards, g) }
}

// WithObserver adds a function that receives every Event after the store
// has accepted it. It runs synchronously on the goroutine of the call that
// made the change and must not block. Events of concurrent calls on one
// vault may arrive out of version order: order by Event.Version. When a
// store applies a change but its reply is lost, the call fails and the
// observer does not see that event; History always has it. Events never
// hold an activation code.
func WithObserver(fn func(Event)) Option {
	return func(s *Service) { s.observers = append(s.observers, fn) }
}

// WithCodeKey sets a secret key for hashing activation codes
// (HMAC-SHA-256 keyed with it, over a per-code salt). A decimal code has
// few enough values that anyone holding its plain salted hash can find it
// by trying them all; with a key kept outside the store, a copy of the
// database alone does not reveal pending codes. Every replica must use the
// same key, and changing it invalidates pending codes. A key shorter than
// 16 bytes (an unset environment variable, say) makes NewService panic
// rather than quietly fall back to the unkeyed hash.
func WithCodeKey(key []byte) Option {
	k := append(make([]byte, 0, len(key)), key...) // non-nil even when empty, so NewService sees it
	return func(s *Service) { s.key = k }
}

// minCodeKey is the shortest key WithCodeKey accepts, in bytes.
const minCodeKey = 16

type actorKey struct{}

// WithActor returns a context that records actor (a user name, service
// account...) on every Event the Service stores for calls made with it.
// An actor is at most 256 bytes of valid UTF-8 without control
// characters; commands called with any other refuse with
// ErrInvalidArgument before they touch the store.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor set by [WithActor], or "".
func ActorFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}

func defaultOptions() []Option {
	return []Option{WithClock(time.Now), WithRandom(rand.Reader), WithCodePolicy(DefaultCodePolicy)}
}
