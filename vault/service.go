package vault

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/hwvault/hwvault/status"
)

// maxAttempts is how many times a command reads, validates and writes
// before giving up on a vault that keeps changing underneath it.
const maxAttempts = 5

// Service applies lifecycle commands to the vaults in a [Store]. It is
// safe for concurrent use, also by several Services (in several processes)
// sharing one store: every change is a compare-and-swap on the vault's
// version, retried on the fresh state when another change won. The clock,
// guards and observers it is given are called concurrently and must be
// safe for that; a random source other than crypto/rand's is serialised.
//
// Every command validates its arguments before touching the store, then
// checks, in this order, that the vault exists, that its status permits
// the command, that the accounts it names exist (or do not), and finally
// the guards. The first failing check decides the error, and a refused
// command changes nothing — except a wrong activation code, which is
// counted. Every error is an [*Error] naming the vault and wrapping a
// sentinel.
type Service struct {
	store     Store
	now       func() time.Time
	random    io.Reader
	policy    CodePolicy
	key       []byte
	guards    []Guard
	observers []func(Event)
}

// NewService returns a Service over st. It panics when st is nil, an
// option is nil or sets a nil clock or random source, or the code policy
// is invalid: mistakes in the program, not in its input.
func NewService(st Store, opts ...Option) *Service {
	if st == nil {
		panic("vault: NewService: nil Store")
	}
	s := &Service{store: st}
	for _, o := range defaultOptions() {
		o(s)
	}
	for i, o := range opts {
		if o == nil {
			panic(fmt.Sprintf("vault: NewService: option %d is nil", i))
		}
		o(s)
	}
	switch {
	case s.now == nil:
		panic("vault: NewService: WithClock(nil)")
	case s.random == nil:
		panic("vault: NewService: WithRandom(nil)")
	}
	for i, g := range s.guards {
		if g == nil {
			panic(fmt.Sprintf("vault: NewService: guard %d is nil", i))
		}
	}
	for i, o := range s.observers {
		if o == nil {
			panic(fmt.Sprintf("vault: NewService: observer %d is nil", i))
		}
	}
	if s.key != nil && len(s.key) < minCodeKey {
		panic(fmt.Sprintf("vault: NewService: WithCodeKey needs at least %d bytes, got %d", minCodeKey, len(s.key)))
	}
	if s.random != rand.Reader {
		s.random = &lockedReader{r: s.random} // commands draw codes concurrently
	}
	s.policy = s.policy.withDefaults()
	return s
}

// lockedReader serialises reads from a random source that may not be safe
// for concurrent use (a seeded generator in tests and simulations).
type lockedReader struct {
	mu sync.Mutex
	r  io.Reader
}

// Read reads from the source under the lock.
func (l *lockedReader) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Read(p)
}

// Policy returns the activation code policy in force, defaults filled in.
func (s *Service) Policy() CodePolicy { return s.policy }

// fail wraps err as the error of command op on vault id.
func fail(op, id string, err error) error { return &Error{Op: op, ID: id, Err: err} }

// checkCall validates what every command on one vault needs.
func checkCall(ctx context.Context, id string) error {
	if err := checkContext(ctx); err != nil {
		return err
	}
	return CheckID(id)
}

// checkContext refuses a nil context and a malformed actor, which every
// event would record.
func checkContext(ctx context.Context) error {
	if ctx == nil {
		return fmt.Errorf("nil context: %w", ErrInvalidArgument)
	}
	return checkText("actor", ActorFrom(ctx), 0, maxActor, false)
}

// result is what a command decided, given the vault's current state.
type result struct {
	next  *Vault // the vault to store
	event Event  // the change's event; the loop stamps the rest
	err   error  // returned to the caller even after next was stored
}

// decide checks the current vault and either refuses the command with an
// error or changes cur into the next version and returns it in the
// result. cur is the apply loop's own copy, fresh from the store and
// discarded after a refusal, so changing it in place is safe; checks must
// come before changes.
type decide func(cur *Vault, now time.Time) (result, error)

// apply runs one command on vault id: read, decide, compare-and-swap
// write; on a conflict it starts over from the fresh state.
func (s *Service) apply(ctx context.Context, op, id string, fn decide) (*Vault, error) {
	var lastErr error
	for range maxAttempts {
		if err := ctx.Err(); err != nil {
			return nil, fail(op, id, err)
		}
		cur, err := s.store.Get(ctx, id)
		if err != nil {
			return nil, fail(op, id, err)
		}
		now := s.now()
		from, version := cur.Status, cur.Version
		r, err := fn(cur, now)
		if err != nil {
			return nil, fail(op, id, err)
		}
		ev := r.event
		ev.VaultID = id
		ev.Version = version + 1
		ev.From, ev.To = from, r.next.Status
		ev.Reason, ev.Description = r.next.Reason, r.next.Description
		ev.Actor = ActorFrom(ctx)
		ev.Time = now
		r.next.UpdatedAt = now
		err = s.store.Update(ctx, r.next, []Event{ev})
		if errors.Is(err, ErrConflict) {
			lastErr = err
			continue
		}
		if err != nil {
			return nil, fail(op, id, err)
		}
		s.notify(ev)
		if r.err != nil {
			return r.next, fail(op, id, r.err)
		}
		return r.next, nil
	}
	return nil, fail(op, id, fmt.Errorf("gave up after %d attempts: %w", maxAttempts, lastErr))
}

func (s *Service) notify(events ...Event) {
	for _, ev := range events {
		for _, o := range s.observers {
			o(ev)
		}
	}
}

// guard runs the guards on a copy of cur.
func (s *Service) guard(ctx context.Context, cur *Vault, t status.Trigger) error {
	for _, g := range s.guards {
		if err := g(ctx, cur.Clone(), t); err != nil {
			return fmt.Errorf("%w: %w", ErrRejected, err)
		}
	}
	return nil
}

// transition checks that the lifecycle permits t from cur's status and
// that the guards agree, then moves cur to the destination with the given
// reason and description and returns it.
func (s *Service) transition(ctx context.Context, cur *Vault, t status.Trigger, reason status.Reason, description string) (*Vault, Event, error) {
	to, err := status.Next(cur.Status, t)
	if err != nil {
		return nil, Event{}, refusal(err)
	}
	if err := s.guard(ctx, cur, t); err != nil {
		return nil, Event{}, err
	}
	cur.Status, cur.Reason, cur.Description = to, reason, description
	return cur, Event{Action: ActionTransition, Trigger: t}, nil
}

// refusal returns the caller's own copy of a *status.TransitionError:
// status.Next returns shared, read-only values, and errors.As would hand
// callers a pointer into them.
func refusal(err error) error {
	var te *status.TransitionError
	if errors.As(err, &te) {
		c := *te
		return &c
	}
	return err
}

// checkReason validates a command's reason against its trigger's
// destination: without store access, as the first check.
func checkReason(t status.Trigger, r status.Reason) error {
	if err := status.CheckReason(t.Destination(), r); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidArgument, err)
	}
	return nil
}

func checkDescription(d string) error {
	return checkText("description", d, 0, maxDescription, true)
}

// Get returns the vault with the given ID.
func (s *Service) Get(ctx context.Context, id string) (*Vault, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("Get", id, err)
	}
	v, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, fail("Get", id, err)
	}
	return v, nil
}

// History returns the vault's events, versions 1 to n in order.
func (s *Service) History(ctx context.Context, id string) ([]Event, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("History", id, err)
	}
	evs, err := s.store.History(ctx, id)
	if err != nil {
		return nil, fail("History", id, err)
	}
	return evs, nil
}

// List returns one page of vaults matching f, ordered by ID.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	if err := checkContext(ctx); err != nil {
		return Page{}, fail("List", "", err)
	}
	if err := f.Validate(); err != nil {
		return Page{}, fail("List", "", err)
	}
	p, err := s.store.List(ctx, f)
	if err != nil {
		return Page{}, fail("List", "", err)
	}
	return p, nil
}
