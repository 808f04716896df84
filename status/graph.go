package status

import (
	"context"
	"fmt"

	"github.com/qmuntal/stateless"
)

// define writes the lifecycle graph onto sm. It is the only place in the
// SDK where edges are written: every table, query and diagram is derived
// from the machine it configures.
func define(sm *stateless.StateMachine) {
	sm.Configure(Ready).
		Permit(Assign, Reserved)
	sm.Configure(Reserved).
		Permit(Unassign, Ready).
		Permit(Activate, Active).
		Permit(Lock, Locked).
		Permit(Withdraw, Deactivated)
	sm.Configure(Active).
		Permit(Lock, Locked).
		Permit(Suspend, Suspended).
		Permit(Withdraw, Deactivated)
	sm.Configure(Locked).
		Permit(Reactivate, Suspended).
		Permit(Withdraw, Deactivated)
	sm.Configure(Suspended).
		Permit(Activate, Active).
		Permit(Lock, Locked).
		Permit(Withdraw, Deactivated)
	sm.Configure(Deactivated).
		Permit(Wipe, Ready)
	sm.Configure(Compromised) // terminal: nothing leaves it
	for _, s := range Statuses() {
		if !s.IsTerminal() {
			sm.Configure(s).Permit(Compromise, Compromised)
		}
	}
}

// graph is the lifecycle compiled into fixed-size tables.
type graph struct {
	// next[from][trigger] is the destination, or 0 when refused.
	next [numStatuses][numTriggers]Status
	// refusals[from][trigger] is the error Next returns for a refused
	// in-range pair, prebuilt so that refusing does not allocate.
	refusals [numStatuses][numTriggers]TransitionError
	// permitted[from] lists the permitted triggers in Triggers() order.
	permitted [numStatuses][]Trigger
	// destination[trigger] is the one status each trigger leads to.
	destination [numTriggers]Status
	// edges is every transition, ordered by From then Trigger.
	edges []Transition
}

// lifecycle is derived from define once, at package initialisation, and
// read-only afterwards.
var lifecycle = *compile(define)

// errRefused marks a trigger stateless did not handle while compiling.
type errRefused struct{}

// Error implements error.
func (errRefused) Error() string { return "refused" }

// externalMachine returns an unconfigured stateless machine whose state
// is *current, and which refuses unhandled triggers with errRefused
// instead of stateless's untyped error strings.
func externalMachine(current *Status) *stateless.StateMachine {
	sm := stateless.NewStateMachineWithExternalStorage(
		func(context.Context) (stateless.State, error) { return *current, nil },
		func(_ context.Context, s stateless.State) error { *current = s.(Status); return nil },
		stateless.FiringImmediate,
	)
	sm.OnUnhandledTrigger(func(context.Context, stateless.State, stateless.Trigger, []string) error {
		return errRefused{}
	})
	return sm
}

// compile derives the lookup tables by firing every trigger from every
// status on one stateless machine whose state is stored outside it. It
// panics when the definition breaks an assumption the SDK relies on: a
// programmer mistake at definition time.
func compile(def func(*stateless.StateMachine)) *graph {
	var current Status
	sm := externalMachine(&current)
	def(sm)

	g := new(graph)
	for from := range g.refusals {
		for t := range g.refusals[from] {
			g.refusals[from][t] = TransitionError{From: Status(from), Trigger: Trigger(t)}
		}
	}
	for _, from := range Statuses() {
		for _, t := range Triggers() {
			current = from
			if err := sm.Fire(t); err != nil {
				if _, ok := err.(errRefused); !ok {
					panic(fmt.Sprintf("status: firing %v from %v: %v", t, from, err))
				}
				continue
			}
			to := current
			switch {
			case !to.IsValid():
				panic(fmt.Sprintf("status: %v from %v leads to invalid %v", t, from, to))
			case to == from:
				panic(fmt.Sprintf("status: %v from %v does not leave it", t, from))
			case from.IsTerminal():
				panic(fmt.Sprintf("status: terminal %v permits %v", from, t))
			case g.destination[t] != 0 && g.destination[t] != to:
				panic(fmt.Sprintf("status: %v leads to both %v and %v", t, g.destination[t], to))
			}
			g.next[from][t] = to
			g.destination[t] = to
			g.permitted[from] = append(g.permitted[from], t)
			g.edges = append(g.edges, Transition{From: from, Trigger: t, To: to})
		}
	}
	for _, t := range Triggers() {
		if g.destination[t] == 0 {
			panic(fmt.Sprintf("status: trigger %v is never permitted", t))
		}
	}
	return g
}

// Transition is one edge of the lifecycle graph.
type Transition struct {
	From    Status
	Trigger Trigger
	To      Status
}

// String returns "From -Trigger-> To".
func (t Transition) String() string { return fmt.Sprintf("%v -%v-> %v", t.From, t.Trigger, t.To) }

// TransitionError reports a trigger the lifecycle does not permit from a
// status. errors.Is(err, [ErrNotPermitted]) holds for it.
//
// Next returns the same *TransitionError for the same in-range pair every
// time, so that refusals do not allocate: treat it as read-only.
type TransitionError struct {
	From    Status
	Trigger Trigger
}

// Error names the status and the trigger.
func (e *TransitionError) Error() string {
	if e.From.IsTerminal() {
		return fmt.Sprintf("status: %v is terminal: %v is not permitted", e.From, e.Trigger)
	}
	return fmt.Sprintf("status: %v is not permitted from %v", e.Trigger, e.From)
}

// Is reports whether target is [ErrNotPermitted].
func (e *TransitionError) Is(target error) bool { return target == ErrNotPermitted }

// Next returns the status a vault in from moves to on trigger t. A pair
// the lifecycle refuses, including any invalid status or trigger, returns
// a *[TransitionError] naming both. For valid statuses and triggers Next
// does not allocate: refusals are prebuilt, shared values.
func Next(from Status, t Trigger) (Status, error) {
	if int(from) >= numStatuses || int(t) >= numTriggers {
		return 0, &TransitionError{From: from, Trigger: t}
	}
	if to := lifecycle.next[from][t]; to != 0 {
		return to, nil
	}
	return 0, &lifecycle.refusals[from][t]
}

// Can reports whether the lifecycle permits trigger t from status from.
func Can(from Status, t Trigger) bool {
	if int(from) >= numStatuses || int(t) >= numTriggers {
		return false
	}
	return lifecycle.next[from][t] != 0
}

// Permitted returns the triggers permitted from status from, in
// [Triggers] order: what an admin may do with the key now. It is empty for
// Compromised and for invalid statuses. The caller owns the returned slice.
func Permitted(from Status) []Trigger {
	if int(from) >= numStatuses {
		return nil
	}
	return append([]Trigger(nil), lifecycle.permitted[from]...)
}

// Transitions returns every edge of the lifecycle graph, ordered by From
// (in [Statuses] order) then Trigger. The caller owns the returned slice.
func Transitions() []Transition { return append([]Transition(nil), lifecycle.edges...) }

// Destination returns the one status trigger t leads to, wherever it is
// permitted, or 0 for an invalid trigger. It lets a caller validate a
// trigger's reason before knowing the vault's current status.
func (t Trigger) Destination() Status {
	if int(t) >= numTriggers {
		return 0
	}
	return lifecycle.destination[t]
}
