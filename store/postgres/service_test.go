package postgres_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store/postgres"
	"github.com/hwvault/hwvault/vault"
)

// TestServiceLifecycle drives one vault through every lifecycle command
// of vault.Service on this store, wrong activation codes up to the lock
// included, and checks the state after each step, then the history
// against what the Service reported to its observer.
func TestServiceLifecycle(t *testing.T) {
	testServiceLifecycle(t, newStore(t))
}

// testServiceLifecycle is TestServiceLifecycle on s, a Store in a fresh
// schema.
func testServiceLifecycle(t *testing.T, s *postgres.Store) {
	clock := &fixedClock{now: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)}
	var (
		mu       sync.Mutex
		observed []vault.Event
	)
	svc := vault.NewService(s,
		vault.WithClock(clock.Now),
		vault.WithRandom(rand.NewChaCha8([32]byte{7})),
		vault.WithObserver(func(e vault.Event) {
			mu.Lock()
			defer mu.Unlock()
			observed = append(observed, e)
		}),
	)
	ctx := vault.WithActor(t.Context(), "admin@example.com")
	const id = "HK-0001"
	ok := must[*vault.Vault](t)

	// expect checks the vault as the command returned it and as stored.
	expect := func(step string, v *vault.Vault, st status.Status, reason status.Reason, owner string, code bool) {
		t.Helper()
		stored := must[*vault.Vault](t)(svc.Get(ctx, id))
		for _, got := range []*vault.Vault{v, stored} {
			if got.Status != st || got.Reason != reason || got.Owner != owner || (got.Activation != nil) != code {
				t.Fatalf("after %s: %v %v owner %q code %v; want %v %v owner %q code %v",
					step, got.Status, got.Reason, got.Owner, got.Activation != nil, st, reason, owner, code)
			}
		}
		if stored.Version != v.Version {
			t.Fatalf("after %s: stored version %d, the command returned %d", step, stored.Version, v.Version)
		}
	}
	// wrongCode enters a wrong code: counted, so a stored change.
	wrongCode := func(step, code string) *vault.Vault {
		t.Helper()
		wrong := "000000"
		if code == wrong {
			wrong = "000001"
		}
		v, err := svc.Activate(ctx, id, wrong)
		if !errors.Is(err, vault.ErrInvalidCode) || v == nil {
			t.Fatalf("%s: Activate with a wrong code = %v, %v; want the counted vault and ErrInvalidCode", step, v, err)
		}
		return v
	}

	vs := must[[]*vault.Vault](t)(svc.Import(ctx, vault.NewVault{ID: id, Labels: map[string]string{"model": "Hideez Key 4"}}))
	expect("Import", vs[0], status.Ready, status.None, "", false)

	v, code, err := svc.Assign(ctx, id, "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	expect("Assign", v, status.Reserved, status.None, "alice@example.com", true)
	ok(svc.AddAccount(ctx, id, vault.Account{ID: "mail", Name: "Mail", Login: "alice"}))
	v = wrongCode("Reserved", code)
	if v.Activation.Attempts != 1 {
		t.Fatalf("after one wrong code Attempts = %d; want 1", v.Activation.Attempts)
	}
	v = ok(svc.Activate(ctx, id, code))
	expect("Activate", v, status.Active, status.None, "alice@example.com", false)
	if len(v.Accounts) != 1 || v.Accounts[0].Pending {
		t.Fatalf("after Activate accounts = %+v; want mail, on the key", v.Accounts)
	}

	v = ok(svc.Lock(ctx, id, status.LockedByInvalidPin))
	expect("Lock", v, status.Locked, status.LockedByInvalidPin, "alice@example.com", false)
	v, code, err = svc.Reactivate(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	expect("Reactivate", v, status.Suspended, status.None, "alice@example.com", true)
	v = ok(svc.Activate(ctx, id, code))
	expect("Activate after Reactivate", v, status.Active, status.None, "alice@example.com", false)

	v, code, err = svc.Suspend(ctx, id, "vacation until 2026-12-10")
	if err != nil {
		t.Fatal(err)
	}
	expect("Suspend", v, status.Suspended, status.None, "alice@example.com", true)
	if v.Description != "vacation until 2026-12-10" {
		t.Fatalf("after Suspend Description = %q", v.Description)
	}
	clock.Advance(73 * time.Hour)
	if _, err := svc.Activate(ctx, id, code); !errors.Is(err, vault.ErrCodeExpired) {
		t.Fatalf("Activate with an expired code = %v; want ErrCodeExpired", err)
	}
	v, code, err = svc.ReissueCode(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	expect("ReissueCode", v, status.Suspended, status.None, "alice@example.com", true)
	wrongCode("Suspended 1", code)
	wrongCode("Suspended 2", code)
	v = wrongCode("Suspended 3", code) // the last allowed wrong code locks the vault
	expect("three wrong codes", v, status.Locked, status.InvalidActivationCode, "alice@example.com", false)
	if _, err := svc.Activate(ctx, id, code); !errors.Is(err, status.ErrNotPermitted) {
		t.Fatalf("Activate of a Locked vault = %v; want ErrNotPermitted", err)
	}

	v = ok(svc.Withdraw(ctx, id, status.Broken, "cracked case"))
	expect("Withdraw", v, status.Deactivated, status.Broken, "", false)
	if len(v.Accounts) != 0 || v.Description != "cracked case" {
		t.Fatalf("after Withdraw accounts %+v, description %q; want none, the note", v.Accounts, v.Description)
	}
	v = ok(svc.Wipe(ctx, id))
	expect("Wipe", v, status.Ready, status.None, "", false)
	v = ok(svc.Compromise(ctx, id, status.Stolen, "reported stolen", id))
	expect("Compromise", v, status.Compromised, status.Stolen, "", false)
	if _, _, err := svc.Assign(ctx, id, "bob"); !errors.Is(err, status.ErrNotPermitted) {
		t.Fatalf("Assign of a Compromised vault = %v; want ErrNotPermitted", err)
	}

	// The history: every stored change once, versions 1..n, as observed.
	h := must[[]vault.Event](t)(svc.History(ctx, id))
	type step struct {
		action  vault.Action
		trigger status.Trigger
	}
	want := []step{
		{vault.ActionImport, 0},
		{vault.ActionTransition, status.Assign},
		{vault.ActionAccountAdded, 0},
		{vault.ActionCodeRejected, 0},
		{vault.ActionTransition, status.Activate},
		{vault.ActionTransition, status.Lock},
		{vault.ActionTransition, status.Reactivate},
		{vault.ActionTransition, status.Activate},
		{vault.ActionTransition, status.Suspend},
		{vault.ActionCodeIssued, 0},
		{vault.ActionCodeRejected, 0},
		{vault.ActionCodeRejected, 0},
		{vault.ActionTransition, status.Lock},
		{vault.ActionTransition, status.Withdraw},
		{vault.ActionTransition, status.Wipe},
		{vault.ActionTransition, status.Compromise},
	}
	var got []step
	for _, e := range h {
		got = append(got, step{e.Action, e.Trigger})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("history = %v; want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(observed) != len(h) {
		t.Fatalf("the observer saw %d events, History holds %d", len(observed), len(h))
	}
	for i, e := range h {
		o := observed[i]
		if e.Version != uint64(i+1) || e.VaultID != id || e.Actor != "admin@example.com" {
			t.Errorf("event %d: vault %q version %d actor %q; want %q, %d, admin@example.com", i, e.VaultID, e.Version, e.Actor, id, i+1)
		}
		sameTime := e.Time.Equal(o.Time)
		e.Time, o.Time = time.Time{}, time.Time{}
		if e != o || !sameTime {
			t.Errorf("event %d as stored %+v differs from the event the Service reported %+v", i, e, o)
		}
	}
}

// TestServiceConcurrentCommandsOnOneVault races Lock and Reactivate on one
// vault from many goroutines through one Service: every command either
// succeeds or is refused, and the history counts exactly the successes.
func TestServiceConcurrentCommandsOnOneVault(t *testing.T) {
	s := newStore(t)
	svc := vault.NewService(s)
	ctx := context.Background()
	const id = "HK-0001"
	must[[]*vault.Vault](t)(svc.Import(ctx, vault.NewVault{ID: id}))
	_, code, err := svc.Assign(ctx, id, "alice")
	if err != nil {
		t.Fatal(err)
	}
	must[*vault.Vault](t)(svc.Activate(ctx, id, code))

	const workers, commands = 8, 20
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		successes = 3 // Import, Assign, Activate
	)
	for w := range workers {
		wg.Go(func() {
			for c := range commands {
				var err error
				if (w+c)%2 == 0 {
					_, err = svc.Lock(ctx, id, status.LockedByInvalidPin)
				} else {
					_, _, err = svc.Reactivate(ctx, id)
				}
				switch {
				case err == nil:
					mu.Lock()
					successes++
					mu.Unlock()
				case errors.Is(err, status.ErrNotPermitted), errors.Is(err, vault.ErrConflict):
				default:
					t.Errorf("a concurrent command failed unexpectedly: %v", err)
				}
			}
		})
	}
	wg.Wait()
	h := must[[]vault.Event](t)(svc.History(ctx, id))
	v := must[*vault.Vault](t)(svc.Get(ctx, id))
	if len(h) != successes || v.Version != uint64(successes) {
		t.Errorf("%d commands succeeded in all; history holds %d events and the vault is at version %d", successes, len(h), v.Version)
	}
}
