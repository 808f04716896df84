package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

var errPolicy = errors.New("policy: no wipes on Fridays")

func TestGuardVetoes(t *testing.T) {
	type seen struct {
		status  status.Status
		trigger status.Trigger
		version uint64
	}
	var calls []seen
	veto := false
	f := newFixture(t, vault.WithGuard(func(_ context.Context, v *vault.Vault, tr status.Trigger) error {
		calls = append(calls, seen{v.Status, tr, v.Version})
		v.Owner = "mallory" // a guard's copy is its own
		if veto {
			return errPolicy
		}
		return nil
	}))
	f.inStatus("HK-1", status.Deactivated)
	if f.get("HK-1").Owner == "mallory" {
		t.Fatal("a guard modified the stored vault through its argument")
	}
	veto = true
	calls = nil
	before := f.snapshot()
	_, err := f.svc.Wipe(f.ctx, "HK-1")
	if !errors.Is(err, vault.ErrRejected) || !errors.Is(err, errPolicy) {
		t.Fatalf("vetoed Wipe = %v; want ErrRejected wrapping the guard's error", err)
	}
	f.unchangedSince(before, "a vetoed Wipe")
	if len(calls) != 1 || calls[0] != (seen{status.Deactivated, status.Wipe, before.Vaults[0].Version}) {
		t.Errorf("guard saw %+v; want the pre-change Deactivated vault and trigger Wipe once", calls)
	}

	// Refusals by the lifecycle come before guards: the guard is not asked.
	calls = nil
	_, err = f.svc.Lock(f.ctx, "HK-1", status.LockedByInvalidPin)
	var te *status.TransitionError
	if !errors.Is(err, status.ErrNotPermitted) || !errors.As(err, &te) {
		t.Fatalf("Lock on Deactivated = %v", err)
	}
	te.From = status.Compromised // the caller's own copy: nobody else sees this
	if _, err := status.Next(status.Deactivated, status.Lock); !strings.Contains(err.Error(), "from Deactivated") {
		t.Fatalf("changing a refusal a command returned changed status.Next's: %v", err)
	}
	if len(calls) != 0 {
		t.Errorf("guard consulted for a command the lifecycle refuses: %+v", calls)
	}

	// Changes that are not transitions reach guards with trigger zero.
	if _, err := f.svc.Import(f.ctx, vault.NewVault{ID: "HK-2"}); !errors.Is(err, vault.ErrRejected) {
		t.Errorf("vetoed Import = %v", err)
	}
	if len(calls) != 1 || calls[0].trigger != 0 || calls[0].status != status.Ready {
		t.Errorf("guard saw %+v on Import; want the new Ready vault and trigger 0", calls)
	}
}

// A guard cannot stop wrong codes from being counted, nor the lock.
func TestGuardCannotVetoCodeProtection(t *testing.T) {
	veto := false
	f := newFixture(t, vault.WithGuard(func(context.Context, *vault.Vault, status.Trigger) error {
		if veto {
			return errPolicy
		}
		return nil
	}))
	code := f.inStatus("HK-1", status.Reserved)
	veto = true
	wrong := "111111"
	if wrong == code {
		wrong = "222222"
	}
	for range 3 {
		if _, err := f.svc.Activate(f.ctx, "HK-1", wrong); !errors.Is(err, vault.ErrInvalidCode) {
			t.Fatalf("wrong code under a vetoing guard = %v; want ErrInvalidCode", err)
		}
	}
	if v := f.get("HK-1"); v.Status != status.Locked {
		t.Fatalf("after 3 wrong codes under a vetoing guard the vault is %v; want Locked", v.Status)
	}
	f.checkHistory("HK-1")

	// The right code, though, is a transition a guard may veto.
	veto = false
	code2 := f.inStatus("HK-2", status.Reserved)
	veto = true
	if _, err := f.svc.Activate(f.ctx, "HK-2", code2); !errors.Is(err, vault.ErrRejected) {
		t.Fatalf("vetoed Activate = %v", err)
	}
	veto = false
	if _, err := f.svc.Activate(f.ctx, "HK-2", code2); err != nil {
		t.Fatalf("a vetoed activation must leave the code usable: %v", err)
	}
}

func TestGuardsRunInOrder(t *testing.T) {
	var order []int
	g := func(n int, err error) vault.Guard {
		return func(context.Context, *vault.Vault, status.Trigger) error { order = append(order, n); return err }
	}
	f := newFixture(t, vault.WithGuard(g(1, nil)), vault.WithGuard(g(2, errPolicy)), vault.WithGuard(g(3, nil)))
	_, err := f.svc.Import(f.ctx, vault.NewVault{ID: "HK-1"})
	if !errors.Is(err, errPolicy) || len(order) != 2 || order[0] != 1 || order[1] != 2 {
		t.Errorf("order %v, err %v; want guards 1 then 2, the first veto wins", order, err)
	}
}
