package status

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/qmuntal/stateless"
)

// docEdges is the transition table from the product documentation and
// DESIGN.md, written out independently of define so the two can be checked
// against each other.
var docEdges = map[Status]map[Trigger]Status{
	Ready:       {Assign: Reserved, Compromise: Compromised},
	Reserved:    {Unassign: Ready, Activate: Active, Lock: Locked, Withdraw: Deactivated, Compromise: Compromised},
	Active:      {Lock: Locked, Suspend: Suspended, Withdraw: Deactivated, Compromise: Compromised},
	Locked:      {Reactivate: Suspended, Withdraw: Deactivated, Compromise: Compromised},
	Suspended:   {Activate: Active, Lock: Locked, Withdraw: Deactivated, Compromise: Compromised},
	Deactivated: {Wipe: Ready, Compromise: Compromised},
	Compromised: {},
}

func TestNextEveryPair(t *testing.T) {
	pairs := 0
	for _, from := range Statuses() {
		for _, tr := range Triggers() {
			pairs++
			want, allowed := docEdges[from][tr]
			got, err := Next(from, tr)
			if allowed {
				if err != nil || got != want {
					t.Errorf("Next(%v, %v) = %v, %v; want %v, nil", from, tr, got, err, want)
				}
				if !Can(from, tr) {
					t.Errorf("Can(%v, %v) = false, want true", from, tr)
				}
				continue
			}
			var te *TransitionError
			if !errors.As(err, &te) || te.From != from || te.Trigger != tr || got != 0 {
				t.Errorf("Next(%v, %v) = %v, %v; want 0 and a *TransitionError{%v, %v}", from, tr, got, err, from, tr)
			}
			if !errors.Is(err, ErrNotPermitted) {
				t.Errorf("Next(%v, %v): errors.Is(err, ErrNotPermitted) = false", from, tr)
			}
			if msg := err.Error(); !strings.Contains(msg, from.String()) || !strings.Contains(msg, tr.String()) {
				t.Errorf("Next(%v, %v) error %q does not name both", from, tr, msg)
			}
			if Can(from, tr) {
				t.Errorf("Can(%v, %v) = true, want false", from, tr)
			}
		}
	}
	if pairs != 63 {
		t.Errorf("checked %d pairs, want 7 statuses x 9 triggers = 63", pairs)
	}
}

func TestNextOutOfRange(t *testing.T) {
	cases := []struct {
		from Status
		tr   Trigger
	}{{0, Assign}, {8, Assign}, {255, Wipe}, {Ready, 0}, {Ready, 10}, {Deactivated, 255}, {0, 0}}
	for _, c := range cases {
		got, err := Next(c.from, c.tr)
		var te *TransitionError
		if !errors.As(err, &te) || te.From != c.from || te.Trigger != c.tr || got != 0 || !errors.Is(err, ErrNotPermitted) {
			t.Errorf("Next(%v, %v) = %v, %v; want a refusal naming both", c.from, c.tr, got, err)
		}
		if Can(c.from, c.tr) {
			t.Errorf("Can(%v, %v) = true for an out-of-range value", c.from, c.tr)
		}
	}
}

func TestTerminal(t *testing.T) {
	for _, s := range Statuses() {
		if got, want := s.IsTerminal(), s == Compromised; got != want {
			t.Errorf("%v.IsTerminal() = %v, want %v", s, got, want)
		}
		if got := len(Permitted(s)); (got == 0) != s.IsTerminal() {
			t.Errorf("Permitted(%v) has %d triggers; only the terminal status has none", s, got)
		}
		if s != Compromised && !Can(s, Compromise) {
			t.Errorf("Can(%v, Compromise) = false; every status but Compromised may be compromised", s)
		}
	}
	_, err := Next(Compromised, Wipe)
	if err == nil || !strings.Contains(err.Error(), "terminal") {
		t.Errorf("Next(Compromised, Wipe) = %v; want a refusal that says Compromised is terminal", err)
	}
}

func TestPermittedAndTransitions(t *testing.T) {
	var n int
	for _, from := range Statuses() {
		var want []Trigger
		for _, tr := range Triggers() { // Triggers() order
			if _, ok := docEdges[from][tr]; ok {
				want = append(want, tr)
			}
		}
		if got := Permitted(from); !slices.Equal(got, want) {
			t.Errorf("Permitted(%v) = %v, want %v", from, got, want)
		}
		n += len(want)
	}
	edges := Transitions()
	if len(edges) != n {
		t.Fatalf("len(Transitions()) = %d, want %d", len(edges), n)
	}
	for i, e := range edges {
		if docEdges[e.From][e.Trigger] != e.To {
			t.Errorf("Transitions()[%d] = %v is not in the documented table", i, e)
		}
		if i > 0 {
			p := edges[i-1]
			if p.From > e.From || p.From == e.From && p.Trigger >= e.Trigger {
				t.Errorf("Transitions() not ordered by From then Trigger at %d: %v after %v", i, e, p)
			}
		}
	}
	if got := edges[0].String(); got != "Ready -Assign-> Reserved" {
		t.Errorf("Transition.String() = %q", got)
	}
}

func TestDestination(t *testing.T) {
	want := map[Trigger]Status{
		Assign: Reserved, Unassign: Ready, Activate: Active, Lock: Locked, Reactivate: Suspended,
		Suspend: Suspended, Withdraw: Deactivated, Wipe: Ready, Compromise: Compromised,
	}
	for _, tr := range Triggers() {
		if got := tr.Destination(); got != want[tr] {
			t.Errorf("%v.Destination() = %v, want %v", tr, got, want[tr])
		}
	}
}

func TestRefusalsDoNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		for _, from := range Statuses() {
			for _, tr := range Triggers() {
				_, _ = Next(from, tr)
			}
		}
	})
	// Statuses and Triggers themselves allocate 1 + 7 slices per run.
	if allocs > 8 {
		t.Errorf("Next over all 63 pairs allocated %v times; only the loop's own slices should", allocs)
	}
}

func TestCompileRejectsBrokenDefinitions(t *testing.T) {
	cases := map[string]func(*stateless.StateMachine){
		"self loop": func(sm *stateless.StateMachine) {
			define(sm)
			sm.Configure(Deactivated).PermitReentry(Withdraw)
		},
		"terminal exit": func(sm *stateless.StateMachine) {
			define(sm)
			sm.Configure(Compromised).Permit(Wipe, Ready)
		},
		"two destinations": func(sm *stateless.StateMachine) {
			define(sm)
			sm.Configure(Ready).Permit(Lock, Compromised)
		},
		"unused trigger": func(sm *stateless.StateMachine) {
			sm.Configure(Ready).Permit(Assign, Reserved)
		},
		"invalid destination": func(sm *stateless.StateMachine) {
			define(sm)
			sm.Configure(Ready).Permit(Unassign, Status(42))
		},
	}
	for name, def := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("compile accepted a definition with a %s", name)
				}
			}()
			compile(def)
		})
	}
}
