package vault_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/storetest"
	"github.com/hwvault/hwvault/vault"
)

// These tests put a storetest.Faulty between a Service and the fixture's
// store.Memory, fail chosen store calls, and check what the Service
// reports against what the store (read directly) holds. The model-based
// runs in storetest (TestLifecycleUnderFaults) do the same at random;
// here each case is spelled out.

// faulted returns a Service over a Faulty wrapping the fixture's store,
// with the fixture's clock, and a counter of the events its observer saw.
func (f *fixture) faulted(faults ...storetest.Fault) (*vault.Service, *storetest.Faulty, *int) {
	fs := storetest.NewFaulty(f.store, faults...)
	observed := new(int)
	svc := vault.NewService(fs, vault.WithClock(f.clock.Now), vault.WithObserver(func(vault.Event) { *observed++ }))
	return svc, fs, observed
}

// retryBudget returns how many Updates the Service attempts before it
// gives up with ErrConflict.
func retryBudget(t *testing.T) int {
	f := newFixture(t)
	f.inStatus("HK-1", status.Active)
	svc, fs, _ := f.faulted(storetest.ConflictStorm(1000))
	if _, err := svc.Lock(f.ctx, "HK-1", status.LockedByInvalidPin); !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("Lock in an endless conflict storm = %v; want ErrConflict", err)
	}
	return fs.Calls(storetest.OpUpdate)
}

// A conflict storm shorter than the Service's retries is invisible to
// the caller: each retry re-reads and re-decides, and the change lands
// once. A storm as long as the retries or longer is ErrConflict, and
// nothing changes.
func TestFaultConflictStorms(t *testing.T) {
	budget := retryBudget(t)
	if budget < 3 {
		t.Fatalf("the Service gives up after %d attempts; the contract asks for at least 3", budget)
	}
	for k := 1; k <= budget+1; k++ {
		t.Run(fmt.Sprintf("Storm%d", k), func(t *testing.T) {
			f := newFixture(t)
			f.inStatus("HK-1", status.Active)
			before := f.snapshot()
			svc, fs, observed := f.faulted(storetest.ConflictStorm(k))
			v, code, err := svc.Suspend(f.ctx, "HK-1", "storm")
			if k >= budget {
				if !errors.Is(err, vault.ErrConflict) || v != nil || code != "" {
					t.Fatalf("Suspend through %d conflicts = %v, %q, %v; want nil, \"\", ErrConflict", k, v, code, err)
				}
				f.unchangedSince(before, "a command that gave up on conflicts")
				return
			}
			if err != nil {
				t.Fatalf("Suspend through %d conflicts (retry budget %d) = %v; want success", k, budget, err)
			}
			if got := fs.Calls(storetest.OpGet); got != k+1 {
				t.Errorf("%d Gets for %d conflicts; want one fresh read per attempt", got, k)
			}
			stored := f.get("HK-1")
			if stored.Status != status.Suspended || stored.Version != before.Vaults[0].Version+1 || v.Version != stored.Version {
				t.Fatalf("stored %v v%d, returned v%d; want Suspended at one version more", stored.Status, stored.Version, v.Version)
			}
			if *observed != 1 {
				t.Errorf("observer saw %d events; want 1", *observed)
			}
			f.checkHistory("HK-1")
		})
	}
}

// faultCase is a command run on a vault brought into status from.
type faultCase struct {
	name string
	from status.Status
	run  func(ctx context.Context, s *vault.Service, id, code string) (*vault.Vault, error)
	// After a lost acknowledgement, the same command again is judged on
	// the fresh state: it fails with retry (nil: it succeeds again).
	retry  error
	action vault.Action // the stored change's event
}

var faultCases = []faultCase{
	{"Assign", status.Ready, func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return drop(s.Assign(ctx, id, "alice@example.com"))
	}, status.ErrNotPermitted, vault.ActionTransition},
	{"ActivateRightCode", status.Reserved, func(ctx context.Context, s *vault.Service, id, code string) (*vault.Vault, error) {
		return s.Activate(ctx, id, code)
	}, status.ErrNotPermitted, vault.ActionTransition},
	{"ActivateWrongCode", status.Reserved, func(ctx context.Context, s *vault.Service, id, code string) (*vault.Vault, error) {
		return s.Activate(ctx, id, wrong(code))
	}, vault.ErrInvalidCode, vault.ActionCodeRejected},
	{"Suspend", status.Active, func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return drop(s.Suspend(ctx, id, "vacation"))
	}, status.ErrNotPermitted, vault.ActionTransition},
	{"ReissueCode", status.Suspended, func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return drop(s.ReissueCode(ctx, id))
	}, nil, vault.ActionCodeIssued},
	{"AddAccount", status.Active, func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.AddAccount(ctx, id, vault.Account{ID: "acct-2", Name: "Wiki"})
	}, vault.ErrExists, vault.ActionAccountAdded},
	{"DeleteAccount", status.Active, func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.DeleteAccount(ctx, id, "acct-1")
	}, vault.ErrNotFound, vault.ActionAccountDeleted},
	{"Withdraw", status.Locked, func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.Withdraw(ctx, id, status.Broken, "")
	}, status.ErrNotPermitted, vault.ActionTransition},
	{"Compromise", status.Deactivated, func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.Compromise(ctx, id, status.Stolen, "", id)
	}, status.ErrNotPermitted, vault.ActionTransition},
}

// wrong returns a well-formed code other than code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

// A lost acknowledgement: the store applied the write, then the reply was
// lost. The Service cannot know the change landed, so it reports the
// store's error — an accepted, expected outcome, not a bug. What must
// hold: the change is stored whole with its one event, the history still
// replays to the state, and the same command again is judged on the
// fresh state. (The observer does not see the event: the Service never
// learnt that the store accepted it. An activation code issued by such a
// command is lost with the reply; ReissueCode replaces it.)
func TestFaultLostAcknowledgement(t *testing.T) {
	for _, c := range faultCases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			code := f.inStatus("HK-1", c.from)
			v0 := f.get("HK-1").Version
			svc, fs, observed := f.faulted(storetest.Fault{Op: storetest.OpUpdate, Nth: 1, Applied: true})

			v, err := c.run(f.ctx, svc, "HK-1", code)
			if !errors.Is(err, storetest.ErrInjected) || v != nil {
				t.Fatalf("lost acknowledgement = %v, %v; want nil and an error wrapping the store's", v, err)
			}
			if stored := f.get("HK-1"); stored.Version != v0+1 {
				t.Fatalf("stored version %d; the applied change must be there: %d", stored.Version, v0+1)
			}
			f.checkHistory("HK-1")
			if h := f.history("HK-1"); h[len(h)-1].Action != c.action {
				t.Fatalf("the stored change's event is %q; want %q", h[len(h)-1].Action, c.action)
			}
			if *observed != 0 {
				t.Errorf("observer saw %d events of a write the Service saw fail", *observed)
			}

			fs.Clear()
			v, err = c.run(f.ctx, svc, "HK-1", code)
			switch {
			case c.retry == nil && err != nil:
				t.Fatalf("the command again = %v; want success on the fresh state", err)
			case c.retry != nil && !errors.Is(err, c.retry):
				t.Fatalf("the command again = %v; want %v, judged on the fresh state", err, c.retry)
			}
			f.checkHistory("HK-1")
		})
	}
}

// After a lost Assign the code is unknown; ReissueCode gives the user one
// that works.
func TestFaultLostAssignRecoveredByReissue(t *testing.T) {
	f := newFixture(t)
	f.importIDs("HK-1")
	svc, _, _ := f.faulted(storetest.Fault{Op: storetest.OpUpdate, Nth: 1, Applied: true})
	if _, code, err := svc.Assign(f.ctx, "HK-1", "alice"); !errors.Is(err, storetest.ErrInjected) || code != "" {
		t.Fatalf("lost Assign = %q, %v", code, err)
	}
	_, code, err := f.svc.ReissueCode(f.ctx, "HK-1")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := f.svc.Activate(f.ctx, "HK-1", code); err != nil || v.Status != status.Active || v.Owner != "alice" {
		t.Fatalf("Activate with the reissued code = %v, %v", v, err)
	}
	f.checkHistory("HK-1")
}

// A store call that fails before anything is written: the command fails
// with an error wrapping the store's error, and nothing changes.
func TestFaultBeforeWrite(t *testing.T) {
	errDown := errors.New("connection reset")
	for _, where := range []struct {
		name  string
		fault storetest.Fault
	}{
		{"GetFails", storetest.Fault{Op: storetest.OpGet, Nth: 1, Err: errDown}},
		{"UpdateFails", storetest.Fault{Op: storetest.OpUpdate, Nth: 1, Err: errDown}},
		{"UpdateFailsAfterConflict", storetest.Fault{Op: storetest.OpUpdate, Nth: 2, Err: errDown}},
	} {
		for _, c := range faultCases {
			t.Run(where.name+"/"+c.name, func(t *testing.T) {
				f := newFixture(t)
				code := f.inStatus("HK-1", c.from)
				before := f.snapshot()
				faults := []storetest.Fault{where.fault}
				if where.name == "UpdateFailsAfterConflict" {
					faults = append(faults, storetest.ConflictStorm(1))
				}
				svc, _, observed := f.faulted(faults...)
				v, err := c.run(f.ctx, svc, "HK-1", code)
				if !errors.Is(err, errDown) || v != nil {
					t.Fatalf("%s = %v, %v; want nil and an error wrapping the store's", c.name, v, err)
				}
				for _, sentinel := range []error{vault.ErrInvalidCode, vault.ErrConflict, vault.ErrNotFound, status.ErrNotPermitted} {
					if errors.Is(err, sentinel) {
						t.Errorf("the store's failure also reads as %v: %v", sentinel, err)
					}
				}
				f.unchangedSince(before, "a command whose store call failed")
				if *observed != 0 {
					t.Errorf("observer saw %d events of a failed write", *observed)
				}
			})
		}
	}
}

// Import is one Create: a failed one stores nothing, a lost
// acknowledgement stores the whole batch, and importing it again is
// ErrExists.
func TestFaultImport(t *testing.T) {
	batch := []vault.NewVault{{ID: "HK-1"}, {ID: "HK-2"}}

	f := newFixture(t)
	svc, _, _ := f.faulted(storetest.Fault{Op: storetest.OpCreate, Nth: 1})
	if vs, err := svc.Import(f.ctx, batch...); !errors.Is(err, storetest.ErrInjected) || vs != nil {
		t.Fatalf("failed Import = %v, %v", vs, err)
	}
	if s := f.snapshot(); len(s.Vaults) != 0 {
		t.Fatalf("a failed Import stored %d vaults", len(s.Vaults))
	}

	svc, _, _ = f.faulted(storetest.Fault{Op: storetest.OpCreate, Nth: 1, Applied: true})
	if vs, err := svc.Import(f.ctx, batch...); !errors.Is(err, storetest.ErrInjected) || vs != nil {
		t.Fatalf("Import with a lost acknowledgement = %v, %v", vs, err)
	}
	for _, nv := range batch {
		f.checkHistory(nv.ID)
	}
	if _, err := f.svc.Import(f.ctx, batch...); !errors.Is(err, vault.ErrExists) {
		t.Fatalf("Import again = %v; want ErrExists, judged on the fresh state", err)
	}
}

// Reads wrap the store's error too.
func TestFaultReads(t *testing.T) {
	f := newFixture(t)
	f.importIDs("HK-1")
	svc, _, _ := f.faulted(
		storetest.Fault{Op: storetest.OpGet, Nth: 1},
		storetest.Fault{Op: storetest.OpHistory, Nth: 1},
		storetest.Fault{Op: storetest.OpList, Nth: 1},
	)
	if _, err := svc.Get(f.ctx, "HK-1"); !errors.Is(err, storetest.ErrInjected) {
		t.Errorf("Get = %v", err)
	}
	if _, err := svc.History(f.ctx, "HK-1"); !errors.Is(err, storetest.ErrInjected) {
		t.Errorf("History = %v", err)
	}
	if _, err := svc.List(f.ctx, vault.Filter{}); !errors.Is(err, storetest.ErrInjected) {
		t.Errorf("List = %v", err)
	}
}
