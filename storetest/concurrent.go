package storetest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// This file checks the store under concurrent use: compare-and-swap
// between writers racing for one vault, and every method at once (run it
// with -race).

// maxAttempts bounds how often one writer retries a conflicted update
// before giving it up, so that a broken store cannot hang the suite.
const maxAttempts = 200

// casUpdate does what the Service does with one change: read the vault,
// change it, and store it at the version read, retrying on ErrConflict
// at most maxAttempts times. It reports whether the change was stored; it
// returns an error only for failures other than conflicts.
func casUpdate(t *testing.T, s vault.Store, id string, edit func(v *vault.Vault)) (bool, error) {
	for range maxAttempts {
		before, err := s.Get(t.Context(), id)
		if err != nil {
			return false, fmt.Errorf("Get(%q) of a stored vault must succeed during concurrent updates; got %w", id, err)
		}
		if before == nil {
			return false, fmt.Errorf("Get(%q) returned a nil vault and no error during concurrent updates", id)
		}
		after := before.Clone()
		edit(after)
		// The Service validates and consults guards between reading and
		// writing; let other writers run here as they would then.
		runtime.Gosched()
		after.UpdatedAt = at(before.Version + 1)
		err = s.Update(t.Context(), after, []vault.Event{changeEvent(before, after)})
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, vault.ErrConflict):
			return false, fmt.Errorf("concurrent Update(%q) must succeed or fail with ErrConflict; got %w", id, err)
		}
	}
	return false, nil
}

func testConcurrentUpdatesOneVault(t *testing.T, s vault.Store) {
	const writers, changes = 8, 10
	create(t, s, newVault("KEY-A"))

	// Each writer tags its changes "w<writer>-<change>" in the vault's
	// Description, which the event records too.
	var (
		mu    sync.Mutex
		won   = map[string]bool{} // tags of the updates the store accepted
		start = make(chan struct{})
		wg    sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			<-start
			for c := range changes {
				tag := fmt.Sprintf("w%d-%d", w, c)
				ok, err := casUpdate(t, s, "KEY-A", func(v *vault.Vault) { v.Description = tag })
				if err != nil {
					t.Error(err)
					return
				}
				if ok {
					mu.Lock()
					won[tag] = true
					mu.Unlock()
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	if len(won) == 0 {
		t.Fatalf("of %d concurrent writers retrying up to %d times, at least one Update must succeed; none did", writers, maxAttempts)
	}

	final := get(t, s, "KEY-A")
	if want := uint64(1 + len(won)); final.Version != want {
		t.Errorf("after %d successful concurrent Updates the vault must be at Version 1+%d = %d; got %d "+
			"(two writers won the same version: a lost update, so compare-and-swap is not atomic)",
			len(won), len(won), want, final.Version)
	}
	h := history(t, s, "KEY-A")
	if len(h) != 1+len(won) {
		t.Errorf("after %d successful concurrent Updates History must hold 1+%d events, one per stored change; got %d",
			len(won), len(won), len(h))
	}
	for i, e := range h {
		if e.Version != uint64(i+1) {
			t.Errorf("History after concurrent Updates must run through versions 1..n without gaps or repeats; event %d has Version %d", i, e.Version)
			break
		}
	}
	seen := map[string]int{}
	for _, e := range h[min(1, len(h)):] {
		seen[e.Description]++
	}
	for tag := range won {
		if seen[tag] != 1 {
			t.Errorf("History must hold exactly one event for each successful Update; update %q has %d", tag, seen[tag])
		}
	}
	for tag, n := range seen {
		if !won[tag] {
			t.Errorf("History must hold events only of successful Updates; it has %d for %q, whose Update was refused", n, tag)
		}
	}
	if len(h) > 0 && final.Description != h[len(h)-1].Description {
		t.Errorf("the stored vault must be the one the last event describes: Description %q, last event %q",
			final.Description, h[len(h)-1].Description)
	}
}

func testConcurrentCreateSameID(t *testing.T, s vault.Store) {
	const (
		rounds   = 10 // each round races for a new ID
		creators = 8  // goroutines racing in each round
	)
	ctx := t.Context()
	for r := range rounds {
		same := fmt.Sprintf("SAME-%02d", r)
		// Creator c's batch holds its own version of the contested vault,
		// told apart by its Description and its event's Actor: alone, or
		// after or before a vault of its own that nobody else creates.
		type attempt struct {
			batch  []*vault.Vault
			events []vault.Event
			want   *vault.Vault // the contested vault as this creator would store it
			event  vault.Event  // and its import event
			own    string       // the ID of the creator's own vault, "" when none
			err    error
		}
		attempts := make([]attempt, creators)
		for c := range attempts {
			a := &attempts[c]
			v := newVault(same)
			v.Description = fmt.Sprintf("creator %d", c)
			a.want = v.Clone()
			a.want.Version = 1
			a.batch = []*vault.Vault{v}
			if c%3 != 0 {
				a.own = fmt.Sprintf("OWN-%02d-%d", r, c)
				if own := newVault(a.own); c%3 == 1 {
					a.batch = append(a.batch, own)
				} else {
					a.batch = append([]*vault.Vault{own}, a.batch...)
				}
			}
			for _, v := range a.batch {
				e := importEvent(v)
				e.Actor = fmt.Sprintf("creator-%d", c)
				a.events = append(a.events, e)
				if v.ID == same {
					a.event = e
				}
			}
		}

		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
		)
		for c := range attempts {
			wg.Go(func() {
				a := &attempts[c]
				<-start
				a.err = s.Create(ctx, a.batch, a.events)
			})
		}
		close(start)
		wg.Wait()

		var won []int
		for c, a := range attempts {
			switch {
			case a.err == nil:
				won = append(won, c)
			case !errors.Is(a.err, vault.ErrExists):
				t.Errorf("round %d: a Create that loses the race for an ID to a concurrent Create must fail with ErrExists; creator %d got %v",
					r, c, a.err)
			}
		}
		if len(won) != 1 {
			t.Fatalf("round %d: of %d concurrent Creates naming %q exactly one must succeed; %d did (creators %v): "+
				"checking that an ID is new and inserting it must be one atomic step", r, creators, same, len(won), won)
		}
		w := &attempts[won[0]]
		if d := diff(w.want, get(t, s, same)); d != "" {
			t.Errorf("round %d: %q must be stored as the one Create that succeeded (creator %d) gave it (-want +got):\n%s", r, same, won[0], d)
		}
		if d := diff([]vault.Event{w.event}, history(t, s, same)); d != "" {
			t.Errorf("round %d: History(%q) must hold exactly the import event of the one Create that succeeded (creator %d) (-want +got):\n%s",
				r, same, won[0], d)
		}
		for c, a := range attempts {
			switch {
			case a.own == "":
			case c == won[0]:
				if _, err := s.Get(ctx, a.own); err != nil {
					t.Errorf("round %d: the Create that succeeded must store its whole batch: Get(%q) = %v", r, a.own, err)
				}
			default:
				if _, err := s.Get(ctx, a.own); !errors.Is(err, vault.ErrNotFound) {
					t.Errorf("round %d: a Create that failed must store none of its batch: Get(%q) must be ErrNotFound; got %v", r, a.own, err)
				}
				if _, err := s.History(ctx, a.own); !errors.Is(err, vault.ErrNotFound) {
					t.Errorf("round %d: a Create that failed must store none of its events: History(%q) must be ErrNotFound; got %v", r, a.own, err)
				}
			}
		}
		if t.Failed() {
			return
		}
	}
}

func testConcurrentMixed(t *testing.T, s vault.Store) {
	const (
		seeds    = 6  // vaults created before the goroutines start
		creators = 3  // goroutines creating vaults
		creates  = 8  // vaults each creator creates, one Create each
		updaters = 3  // goroutines updating the seed vaults
		updates  = 15 // updates each updater attempts
		readers  = 3  // goroutines calling Get, History and List
		reads    = 20 // rounds of reads each reader does
	)
	seedIDs := make([]string, seeds)
	for i := range seeds {
		seedIDs[i] = fmt.Sprintf("SEED-%d", i)
		create(t, s, newVault(seedIDs[i]))
	}

	var (
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	for c := range creators {
		wg.Go(func() {
			<-start
			for i := range creates {
				v := newVault(fmt.Sprintf("NEW-%d-%02d", c, i))
				if err := s.Create(t.Context(), []*vault.Vault{v}, []vault.Event{importEvent(v)}); err != nil {
					t.Errorf("concurrent Create of a new vault must succeed; got %v", err)
					return
				}
			}
		})
	}
	for u := range updaters {
		wg.Go(func() {
			<-start
			r := rand.New(rand.NewPCG(uint64(u), 1))
			for range updates {
				id := seedIDs[r.IntN(seeds)]
				st := []status.Status{status.Active, status.Locked, status.Suspended}[r.IntN(3)]
				owner := owners[r.IntN(len(owners))]
				if _, err := casUpdate(t, s, id, func(v *vault.Vault) { v.Status, v.Owner = st, owner }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range readers {
		wg.Go(func() {
			<-start
			for i := range reads {
				if err := readConsistently(t, s, seedIDs[i%seeds]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}

	// Afterwards: every vault is listed once, and each history runs
	// through exactly the vault's versions.
	want := slices.Clone(seedIDs)
	for c := range creators {
		for i := range creates {
			want = append(want, fmt.Sprintf("NEW-%d-%02d", c, i))
		}
	}
	slices.Sort(want)
	all := listAll(t, s, vault.Filter{Limit: 7})
	if d := diff(want, ids(all)); d != "" {
		t.Errorf("after concurrent use List must return every created vault once, ordered by ID (-want +got):\n%s", d)
	}
	for _, v := range all {
		h := history(t, s, v.ID)
		if uint64(len(h)) != v.Version {
			t.Errorf("after concurrent use %q is at Version %d, so History must hold %d events; got %d", v.ID, v.Version, v.Version, len(h))
			continue
		}
		for i, e := range h {
			if e.Version != uint64(i+1) || e.VaultID != v.ID {
				t.Errorf("after concurrent use History(%q) must hold its own events, versions 1..n; event %d is %q Version %d",
					v.ID, i, e.VaultID, e.Version)
				break
			}
		}
	}
}

// readConsistently reads while writers write, and checks what must hold
// at any moment: a history is never shorter than the version read before
// it, and a listed vault matches the filter that listed it, in ID order.
func readConsistently(t *testing.T, s vault.Store, id string) error {
	ctx := t.Context()
	v, err := s.Get(ctx, id)
	if err != nil {
		return fmt.Errorf("concurrent Get(%q) of a stored vault must succeed; got %w", id, err)
	}
	if v == nil {
		return fmt.Errorf("concurrent Get(%q) returned a nil vault and no error", id)
	}
	h, err := s.History(ctx, id)
	if err != nil {
		return fmt.Errorf("concurrent History(%q) of a stored vault must succeed; got %w", id, err)
	}
	if uint64(len(h)) < v.Version {
		return fmt.Errorf("History(%q) read after Get saw Version %d must hold at least %d events; got %d (events stored apart from the vault)",
			id, v.Version, v.Version, len(h))
	}
	for _, f := range []vault.Filter{{Limit: 5}, {Status: status.Locked, Limit: 2}, {Owner: owners[0], Limit: 3}} {
		p, err := s.List(ctx, f)
		if err != nil {
			return fmt.Errorf("concurrent %s must succeed; got %w", describe(f), err)
		}
		for i, lv := range p.Vaults {
			if lv == nil {
				return fmt.Errorf("concurrent %s returned a nil vault in its page", describe(f))
			}
			if !f.Matches(lv) {
				return fmt.Errorf("concurrent %s returned %q in status %v issued to %q, which does not match",
					describe(f), lv.ID, lv.Status, lv.Owner)
			}
			if i > 0 && strings.Compare(p.Vaults[i-1].ID, lv.ID) >= 0 {
				return fmt.Errorf("concurrent %s must order by ID; %q came after %q", describe(f), lv.ID, p.Vaults[i-1].ID)
			}
		}
	}
	return nil
}
