package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// newFaultyFleet returns a Faulty over a store.Memory that holds one
// Ready vault, KEY-A, and the inner store.
func newFaultyFleet(t *testing.T, faults ...Fault) (*Faulty, *store.Memory) {
	t.Helper()
	inner := store.NewMemory()
	create(t, inner, newVault("KEY-A"))
	return NewFaulty(inner, faults...), inner
}

// update stores a change of KEY-A through s, as the Service would.
func update(t *testing.T, s vault.Store, inner vault.Store) error {
	t.Helper()
	v := get(t, inner, "KEY-A")
	next := v.Clone()
	next.Description = fmt.Sprint("change ", v.Version)
	return s.Update(t.Context(), next, []vault.Event{changeEvent(v, next)})
}

func TestFaultyNthCall(t *testing.T) {
	f, _ := newFaultyFleet(t)
	if _, err := f.Get(t.Context(), "KEY-A"); err != nil {
		t.Fatal(err)
	}
	// Added now: the 2nd Get from here on fails, counting from now.
	f.Add(Fault{Op: OpGet, Nth: 2})
	var failed []int
	for i := 1; i <= 4; i++ {
		v, err := f.Get(t.Context(), "KEY-A")
		if err != nil {
			if !errors.Is(err, ErrInjected) || v != nil {
				t.Fatalf("call %d: Get = %v, %v; want nil and an error wrapping ErrInjected", i, v, err)
			}
			failed = append(failed, i)
		}
	}
	if !slices.Equal(failed, []int{2}) {
		t.Fatalf("failed calls %v; want [2]", failed)
	}
	if n := f.Calls(OpGet); n != 5 {
		t.Errorf("Calls(OpGet) = %d, want 5", n)
	}
	log := f.Injections()
	if len(log) != 1 || log[0].Op != OpGet || log[0].Call != 3 || log[0].Applied {
		t.Errorf("Injections() = %+v; want the 3rd Get since NewFaulty, not applied", log)
	}
}

func TestFaultyConflictStorm(t *testing.T) {
	f, inner := newFaultyFleet(t, ConflictStorm(3))
	for i := 1; i <= 3; i++ {
		err := update(t, f, inner)
		if !errors.Is(err, vault.ErrConflict) {
			t.Fatalf("Update %d in a storm of 3 = %v; want ErrConflict", i, err)
		}
		if v := get(t, inner, "KEY-A"); v.Version != 1 {
			t.Fatalf("a conflicted Update reached the inner store: version %d", v.Version)
		}
	}
	if err := update(t, f, inner); err != nil {
		t.Fatalf("the Update after the storm = %v; want success", err)
	}
	if v := get(t, inner, "KEY-A"); v.Version != 2 {
		t.Fatalf("version %d after the storm; want 2", v.Version)
	}
}

func TestFaultyLostAcknowledgement(t *testing.T) {
	f, inner := newFaultyFleet(t, Fault{Op: OpUpdate, Nth: 1, Applied: true})
	err := update(t, f, inner)
	if !errors.Is(err, ErrInjected) || !strings.Contains(err.Error(), "after the store applied it") {
		t.Fatalf("lost acknowledgement = %v; want ErrInjected, saying the change was applied", err)
	}
	if v := get(t, inner, "KEY-A"); v.Version != 2 || v.Description != "change 1" {
		t.Fatalf("the inner store holds version %d %q; the change must be stored", v.Version, v.Description)
	}
	if h := history(t, inner, "KEY-A"); len(h) != 2 {
		t.Fatalf("%d events; the change's event must be stored with it", len(h))
	}
	if log := f.Injections(); len(log) != 1 || !log[0].Applied {
		t.Fatalf("Injections() = %+v; want one applied Update", log)
	}
}

func TestFaultyCustomErrorAndClear(t *testing.T) {
	errDown := errors.New("database is down")
	f, _ := newFaultyFleet(t, Fault{Op: OpHistory, Nth: 1, Times: 100, Err: errDown}, Fault{Op: OpList, Nth: 1})
	if _, err := f.History(t.Context(), "KEY-A"); !errors.Is(err, errDown) {
		t.Fatalf("History = %v; want the fault's own error", err)
	}
	if _, err := f.List(t.Context(), vault.Filter{}); !errors.Is(err, ErrInjected) {
		t.Fatalf("List = %v; want ErrInjected", err)
	}
	f.Clear()
	if _, err := f.History(t.Context(), "KEY-A"); err != nil {
		t.Fatalf("History after Clear = %v", err)
	}
	if err := f.Create(t.Context(), []*vault.Vault{newVault("KEY-B")}, nil); err != nil {
		t.Fatalf("Create after Clear = %v", err)
	}
}

func TestFaultyProbabilityIsSeeded(t *testing.T) {
	pattern := func(seed uint64) []int {
		f, _ := newFaultyFleet(t, Fault{Op: OpGet, Probability: 0.2, Seed: seed, Times: 2})
		var failed []int
		for i := 1; i <= 1000; i++ {
			if _, err := f.Get(t.Context(), "KEY-A"); err != nil {
				failed = append(failed, i)
			}
		}
		return failed
	}
	a, b, c := pattern(7), pattern(7), pattern(8)
	if !slices.Equal(a, b) {
		t.Fatal("the same seed failed different calls")
	}
	if slices.Equal(a, c) {
		t.Fatal("different seeds failed the same calls")
	}
	// Each burst of 2 starts with probability 0.2 on a call outside a
	// burst: about 2*0.2/1.2 = a third of the calls fail.
	if n := len(a); n < 250 || n > 420 {
		t.Fatalf("%d of 1000 calls failed; want about 333", n)
	}
}

func TestFaultyRefusesInvalidFaults(t *testing.T) {
	for _, c := range []struct {
		fault Fault
		says  string // what the panic must say
	}{
		{Fault{}, "not a method"},
		{Fault{Op: 9, Nth: 1}, "not a method"},
		{Fault{Op: OpGet, Nth: -1}, "negative Nth"},
		{Fault{Op: OpGet, Nth: 1, Times: -2}, "negative Times"},
		{Fault{Op: OpGet, Probability: 1.5}, "not in [0, 1]"},
		{Fault{Op: OpGet, Probability: -0.1}, "not in [0, 1]"},
		{Fault{Op: OpGet, Probability: math.NaN()}, "not in [0, 1]"},
		{Fault{Op: OpGet, Probability: math.Inf(1)}, "not in [0, 1]"},
		{Fault{Op: OpUpdate, Applied: true}, "never fire"}, // meant "the next Update"; that is Nth: 1
		{Fault{Op: OpGet, Times: 3, Err: vault.ErrConflict}, "never fire"},
		{Fault{Op: OpGet, Nth: 1, Probability: 0.5}, "both Nth and Probability"},
	} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, c.says) {
					t.Errorf("NewFaulty(%+v) must panic saying %q; it panicked with %q", c.fault, c.says, msg)
				}
			}()
			NewFaulty(store.NewMemory(), c.fault)
		}()
	}
	// Valid edge cases.
	NewFaulty(store.NewMemory(), Fault{Op: OpGet, Probability: 1}, Fault{Op: OpHistory, Nth: 1, Times: 0})
}

func TestFaultyAddIsAllOrNothing(t *testing.T) {
	f, _ := newFaultyFleet(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("Add with an invalid fault must panic")
			}
		}()
		f.Add(Fault{Op: OpGet, Nth: 1}, Fault{Op: OpGet})
	}()
	if _, err := f.Get(t.Context(), "KEY-A"); err != nil {
		t.Errorf("Add panicked on its second fault but kept the first: Get = %v", err)
	}
}

func TestFaultyCallsOfInvalidOp(t *testing.T) {
	f, _ := newFaultyFleet(t)
	for _, op := range []Op{0, OpHistory + 1, 9, 255} {
		func() {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, "not a method of vault.Store") {
					t.Errorf("Calls(%v) must panic saying the Op is not a method of vault.Store; it panicked with %q", op, msg)
				}
			}()
			f.Calls(op)
		}()
	}
	for op := OpCreate; op <= OpHistory; op++ {
		if n := f.Calls(op); n != 0 {
			t.Errorf("Calls(%v) = %d before any call", op, n)
		}
	}
}

// faultMix is the model-based runs' mix of faults: reads and writes that
// fail, writes whose acknowledgement is lost, and conflict storms both
// shorter and longer than the Service's retries.
func faultMix(seed uint64) []Fault {
	return []Fault{
		{Op: OpGet, Probability: 0.02, Seed: seed},
		{Op: OpUpdate, Probability: 0.02, Seed: seed + 1},
		{Op: OpUpdate, Probability: 0.04, Seed: seed + 2, Applied: true},
		{Op: OpUpdate, Probability: 0.04, Seed: seed + 3, Times: 2, Err: vault.ErrConflict},
		{Op: OpUpdate, Probability: 0.01, Seed: seed + 4, Times: 8, Err: vault.ErrConflict},
		{Op: OpCreate, Probability: 0.05, Seed: seed + 5},
		{Op: OpCreate, Probability: 0.05, Seed: seed + 6, Applied: true},
		{Op: OpList, Probability: 0.05, Seed: seed + 7},
		{Op: OpHistory, Probability: 0.05, Seed: seed + 8},
	}
}

// TestLifecycleUnderFaults runs the model-based test with a Faulty
// between the Service and the store; the engine reads the truth from the
// store itself. Besides everything Lifecycle checks after every step
// (which proves that no change the Service reported is missing, none is
// half-stored and no history lost an event), the engine requires of each
// faulted command:
//
//   - an injected error ends the command at once, with an error wrapping
//     it (errors.Is) and no sentinel the model did not expect;
//   - a write that failed before reaching the store changed nothing;
//   - a lost acknowledgement (the write applied, the reply lost) is
//     reported as a failure, yet the change is stored whole, with its
//     event; the next command is judged on that fresh state (a retried
//     Assign is refused, a retried AddAccount is ErrExists...), and a
//     code it issued is lost to the caller, so only ReissueCode helps;
//   - conflicts are retried on the fresh state; a storm the retries
//     outlast (at least 3 attempts) is ErrConflict and changes nothing.
func TestLifecycleUnderFaults(t *testing.T) {
	const runs, steps = 6, 600 // well under a second, even with -race
	seen := map[string]int{}
	for i := range runs {
		seed := uint64(1000 + i)
		t.Run(fmt.Sprintf("Seed%d", seed), func(t *testing.T) {
			inner := store.NewMemory()
			f := NewFaulty(inner, faultMix(seed)...)
			cov := newCoverage()
			if err := newEngine(inner, f, seed, cov).run(t.Context(), steps); err != nil {
				t.Fatal(err)
			}
			for label, n := range cov.outcomes {
				if strings.HasPrefix(label, "*:") {
					seen[label[2:]] += n
				}
			}
		})
	}
	if t.Failed() {
		return
	}
	// The faults must have met the cases they are for.
	for _, want := range []string{
		"injected Get", "injected Update", "injected Create", "injected List", "injected History",
		"lost ack of ok", "lost ack of ErrInvalidCode(counted)", "ErrConflict(gave up)", "ok",
	} {
		if seen[want] == 0 {
			t.Errorf("no command ended in %q; the fault mix no longer reaches it", want)
		}
	}
	if t.Failed() {
		t.Logf("outcomes seen: %v", seen)
	}
}
