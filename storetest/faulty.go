package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"

	"github.com/hwvault/hwvault/vault"
)

// ErrInjected is the error a [Fault] injects unless it names another.
var ErrInjected = errors.New("storetest: injected fault")

// Op names a method of [vault.Store], for [Fault] and [Faulty].
type Op uint8

// The methods of vault.Store.
const (
	OpCreate Op = iota + 1
	OpGet
	OpUpdate
	OpList
	OpHistory
)

const numOps = int(OpHistory) + 1

var opNames = [numOps]string{"", "Create", "Get", "Update", "List", "History"}

// String returns the method's name, or "Op(n)" for an invalid Op.
func (op Op) String() string {
	if !op.valid() {
		return fmt.Sprintf("Op(%d)", uint8(op))
	}
	return opNames[op]
}

// Fault says which calls of one store method fail, and how.
//
// A fault fails a burst of Times consecutive calls of its Op (one call
// when Times is 0). The burst starts either at the Nth call of Op counted
// from when the fault was added to the [Faulty] (Nth >= 1; it happens
// once), or, when Nth is 0, at any call with the given Probability, drawn
// from a source seeded with Seed (it may happen again after each burst).
// A fault says exactly one of the two: [NewFaulty] and [Faulty.Add] panic
// on a fault with neither (Nth 0 and Probability 0 would never fire: to
// fail the next call, say Nth: 1), with both, with a Probability outside
// [0, 1] or NaN, with a negative Nth or Times, or with an Op that is not
// one of the five.
//
// A failing call returns an error wrapping Err (or [ErrInjected] when Err
// is nil), so errors.Is(err, fault.Err) holds for what the caller gets.
// With Applied, the call first runs on the inner store and only then
// fails: the "lost acknowledgement" of a write that committed while the
// reply was lost. (When the inner call fails by itself, its error is
// returned and nothing is injected. For reads Applied makes no difference
// to the store.) Without Applied the inner store never sees the call.
//
// Two common faults:
//
//	storetest.Fault{Op: storetest.OpUpdate, Nth: 1, Times: 3, Err: vault.ErrConflict} // a conflict storm: the next 3 Updates conflict
//	storetest.Fault{Op: storetest.OpUpdate, Nth: 1, Applied: true}                   // the next Update is stored, but reported as failed
//
// A fault with Err wrapping [vault.ErrConflict] and Applied makes the
// store break its contract (a conflicted Update must change nothing);
// use it only to see what a Service does with such a store.
type Fault struct {
	Op          Op
	Nth         int     // the burst starts at this call of Op (1 is the next call); 0: by Probability
	Times       int     // how many consecutive calls the burst fails; 0 means 1
	Probability float64 // when Nth is 0: the chance that a call starts a burst
	Seed        uint64  // seeds the source of Probability, so that a run can be repeated
	Applied     bool    // run the call on the inner store, then fail it (a lost acknowledgement)
	Err         error   // what the failing call's error wraps; nil means ErrInjected
}

// ConflictStorm returns a fault that makes the next k Updates fail with
// [vault.ErrConflict] without reaching the inner store, as if other
// writers kept winning the race for the vault.
func ConflictStorm(k int) Fault {
	return Fault{Op: OpUpdate, Nth: 1, Times: k, Err: vault.ErrConflict}
}

// Injection records one call that a [Faulty] failed.
type Injection struct {
	Op      Op
	Call    int   // which call of Op it was, counting from 1 since NewFaulty
	Applied bool  // the inner store ran the call before it failed
	Err     error // the error the caller got
}

// Faulty is a [vault.Store] that passes calls to an inner store and fails
// some of them as its [Fault]s say: for testing what a Service (or a host
// built on it) does when the database fails at the worst moment. Hosts
// may wrap their own store in it.
//
// Typical use, with the store from the host's tests:
//
//	f := storetest.NewFaulty(st, storetest.ConflictStorm(2))
//	svc := vault.NewService(f)
//	// ... run commands on svc, read the truth from st ...
//	f.Add(storetest.Fault{Op: storetest.OpUpdate, Nth: 1, Applied: true})
//
// A Faulty is safe for concurrent use. Faults are consulted in the order
// they were added; the first that fails a call decides its error.
type Faulty struct {
	inner vault.Store

	mu     sync.Mutex
	calls  [numOps]int // calls of each method so far
	faults []*armedFault
	log    []Injection
}

// armedFault is a Fault with its place in the call count and its state.
type armedFault struct {
	Fault
	first int        // for Nth faults: the number of the first failing call
	left  int        // for Probability faults: calls of the current burst still to fail
	rng   *rand.Rand // for Probability faults
}

var _ vault.Store = (*Faulty)(nil)

// NewFaulty returns a Faulty over inner with the given faults. It panics
// on an invalid fault (see [Fault]).
func NewFaulty(inner vault.Store, faults ...Fault) *Faulty {
	if inner == nil {
		panic("storetest: NewFaulty: nil inner store")
	}
	f := &Faulty{inner: inner}
	f.Add(faults...)
	return f
}

// Add adds faults; an Nth fault counts calls from now on. It panics on an
// invalid fault (see [Fault]), before adding any of them.
func (f *Faulty) Add(faults ...Fault) {
	for _, ft := range faults {
		if err := ft.check(); err != nil {
			panic(fmt.Sprintf("storetest: invalid Fault %+v: %v", ft, err))
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ft := range faults {
		if ft.Times == 0 {
			ft.Times = 1
		}
		if ft.Err == nil {
			ft.Err = ErrInjected
		}
		a := &armedFault{Fault: ft}
		if ft.Nth > 0 {
			a.first = f.calls[ft.Op] + ft.Nth
		} else {
			a.rng = rand.New(rand.NewPCG(ft.Seed, 0x9e3779b97f4a7c15))
		}
		f.faults = append(f.faults, a)
	}
}

// check reports what makes ft invalid, or nil: these are programmer
// mistakes, which Add turns into panics.
func (ft Fault) check() error {
	switch {
	case !ft.Op.valid():
		return fmt.Errorf("Op %v is not a method of vault.Store", ft.Op)
	case ft.Nth < 0:
		return fmt.Errorf("negative Nth %d", ft.Nth)
	case ft.Times < 0:
		return fmt.Errorf("negative Times %d", ft.Times)
	case !(ft.Probability >= 0 && ft.Probability <= 1): // NaN too
		return fmt.Errorf("Probability %v is not in [0, 1]", ft.Probability)
	case ft.Nth == 0 && ft.Probability == 0:
		return errors.New("neither Nth nor Probability is set, so it would never fire (Nth: 1 fails the next call)")
	case ft.Nth > 0 && ft.Probability > 0:
		return errors.New("both Nth and Probability are set; a fault starts either at the Nth call or by chance")
	}
	return nil
}

func (op Op) valid() bool { return op != 0 && int(op) < numOps }

// Clear removes every fault; calls pass through from now on.
func (f *Faulty) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Calls returns how many calls of op the Faulty has received, failed
// ones included. It panics when op is not one of the five methods of
// [vault.Store] (OpCreate to OpHistory), as [Faulty.Add] does.
func (f *Faulty) Calls(op Op) int {
	if !op.valid() {
		panic(fmt.Sprintf("storetest: Faulty.Calls of %v, which is not a method of vault.Store", op))
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Injections returns the calls the Faulty failed so far, in order.
func (f *Faulty) Injections() []Injection {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Injection(nil), f.log...)
}

// plan counts a call of op and returns its number and the fault that
// fails it, or nil.
func (f *Faulty) plan(op Op) (int, *Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	n := f.calls[op]
	for _, a := range f.faults {
		if a.Op == op && a.fires(n) {
			return n, &a.Fault
		}
	}
	return n, nil
}

// fires reports whether a fails call n of its Op.
func (a *armedFault) fires(n int) bool {
	if a.Nth > 0 {
		return a.first <= n && n < a.first+a.Times
	}
	if a.left > 0 {
		a.left--
		return true
	}
	if a.Probability > 0 && a.rng.Float64() < a.Probability {
		a.left = a.Times - 1
		return true
	}
	return false
}

// inject records and returns the error of call n of op.
func (f *Faulty) inject(op Op, n int, ft *Fault) error {
	when := "before it reached the store"
	if ft.Applied {
		when = "after the store applied it"
	}
	err := fmt.Errorf("storetest: %v call %d failed %s: %w", op, n, when, ft.Err)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, Injection{Op: op, Call: n, Applied: ft.Applied, Err: err})
	return err
}

// Create implements [vault.Store].
func (f *Faulty) Create(ctx context.Context, vaults []*vault.Vault, events []vault.Event) error {
	n, ft := f.plan(OpCreate)
	if ft == nil {
		return f.inner.Create(ctx, vaults, events)
	}
	if ft.Applied {
		if err := f.inner.Create(ctx, vaults, events); err != nil {
			return err
		}
	}
	return f.inject(OpCreate, n, ft)
}

// Get implements [vault.Store].
func (f *Faulty) Get(ctx context.Context, id string) (*vault.Vault, error) {
	n, ft := f.plan(OpGet)
	if ft == nil {
		return f.inner.Get(ctx, id)
	}
	if ft.Applied {
		if _, err := f.inner.Get(ctx, id); err != nil {
			return nil, err
		}
	}
	return nil, f.inject(OpGet, n, ft)
}

// Update implements [vault.Store].
func (f *Faulty) Update(ctx context.Context, v *vault.Vault, events []vault.Event) error {
	n, ft := f.plan(OpUpdate)
	if ft == nil {
		return f.inner.Update(ctx, v, events)
	}
	if ft.Applied {
		if err := f.inner.Update(ctx, v, events); err != nil {
			return err
		}
	}
	return f.inject(OpUpdate, n, ft)
}

// List implements [vault.Store].
func (f *Faulty) List(ctx context.Context, filter vault.Filter) (vault.Page, error) {
	n, ft := f.plan(OpList)
	if ft == nil {
		return f.inner.List(ctx, filter)
	}
	if ft.Applied {
		if _, err := f.inner.List(ctx, filter); err != nil {
			return vault.Page{}, err
		}
	}
	return vault.Page{}, f.inject(OpList, n, ft)
}

// History implements [vault.Store].
func (f *Faulty) History(ctx context.Context, id string) ([]vault.Event, error) {
	n, ft := f.plan(OpHistory)
	if ft == nil {
		return f.inner.History(ctx, id)
	}
	if ft.Applied {
		if _, err := f.inner.History(ctx, id); err != nil {
			return nil, err
		}
	}
	return nil, f.inject(OpHistory, n, ft)
}
