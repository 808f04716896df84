package vault_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// command is one Service command, run with valid arguments against vault
// id whose pending code (if any) is code.
type command struct {
	name    string
	trigger status.Trigger   // for transitions: allowed where status.Can says
	op      status.Operation // for operations: allowed where status.Allows says
	only    []status.Status  // for ReissueCode: where it is allowed
	run     func(ctx context.Context, s *vault.Service, id, code string) (*vault.Vault, error)
}

func drop[A, B any](a A, _ B, err error) (A, error) { return a, err }

var commands = []command{
	{name: "Assign", trigger: status.Assign, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return drop(s.Assign(ctx, id, "bob@example.com"))
	}},
	{name: "Unassign", trigger: status.Unassign, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.Unassign(ctx, id)
	}},
	{name: "Activate", trigger: status.Activate, run: func(ctx context.Context, s *vault.Service, id, code string) (*vault.Vault, error) {
		if code == "" {
			code = "123456"
		}
		return s.Activate(ctx, id, code)
	}},
	{name: "Lock", trigger: status.Lock, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.Lock(ctx, id, status.LockedByInvalidPin)
	}},
	{name: "Reactivate", trigger: status.Reactivate, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return drop(s.Reactivate(ctx, id))
	}},
	{name: "Suspend", trigger: status.Suspend, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return drop(s.Suspend(ctx, id, "audit"))
	}},
	{name: "Withdraw", trigger: status.Withdraw, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.Withdraw(ctx, id, status.Broken, "")
	}},
	{name: "Wipe", trigger: status.Wipe, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.Wipe(ctx, id)
	}},
	{name: "Compromise", trigger: status.Compromise, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.Compromise(ctx, id, status.Lost, "", id)
	}},
	{name: "ReissueCode", only: []status.Status{status.Reserved, status.Suspended}, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return drop(s.ReissueCode(ctx, id))
	}},
	{name: "AddAccount", op: status.AddAccount, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.AddAccount(ctx, id, vault.Account{ID: "acct-2", Name: "Wiki"})
	}},
	{name: "UpdateAccount", op: status.EditAccount, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.UpdateAccount(ctx, id, vault.Account{ID: "acct-1", Name: "Mail", Login: "alice2"})
	}},
	{name: "DeleteAccount", op: status.DeleteAccount, run: func(ctx context.Context, s *vault.Service, id, _ string) (*vault.Vault, error) {
		return s.DeleteAccount(ctx, id, "acct-1")
	}},
}

func (c command) allowed(s status.Status) bool {
	switch {
	case c.trigger != 0:
		return status.Can(s, c.trigger)
	case c.op != 0:
		return status.Allows(s, c.op)
	}
	for _, ok := range c.only {
		if ok == s {
			return true
		}
	}
	return false
}

// TestEveryCommandInEveryStatus runs each command against a vault in each
// status: permitted ones store exactly one change; refused ones return the
// right sentinel, name the vault, and change nothing at all.
func TestEveryCommandInEveryStatus(t *testing.T) {
	for _, c := range commands {
		for _, s := range status.Statuses() {
			t.Run(c.name+"/"+s.String(), func(t *testing.T) {
				f := newFixture(t)
				code := f.inStatus("HK-1", s)
				before := f.snapshot()
				old := before.Vaults[0]

				v, err := c.run(f.ctx, f.svc, "HK-1", code)
				if !c.allowed(s) {
					if err == nil {
						t.Fatalf("%s succeeded on a %v vault; the lifecycle refuses it", c.name, s)
					}
					if !strings.Contains(err.Error(), `"HK-1"`) {
						t.Errorf("error %q does not name the vault", err)
					}
					var te *status.TransitionError
					switch {
					case c.trigger != 0 && (!errors.Is(err, status.ErrNotPermitted) || !errors.As(err, &te) || te.From != s || te.Trigger != c.trigger):
						t.Errorf("%s on %v = %v; want a *status.TransitionError{%v, %v}", c.name, s, err, s, c.trigger)
					case c.trigger == 0 && !errors.Is(err, vault.ErrNotAllowed):
						t.Errorf("%s on %v = %v; want ErrNotAllowed", c.name, s, err)
					}
					f.unchangedSince(before, c.name+" refused on "+s.String())
					return
				}
				if err != nil {
					t.Fatalf("%s on %v = %v; the lifecycle permits it", c.name, s, err)
				}
				if c.trigger != 0 {
					want, _ := status.Next(s, c.trigger)
					if v.Status != want {
						t.Errorf("%s on %v: status %v, want %v", c.name, s, v.Status, want)
					}
				} else if v.Status != s {
					t.Errorf("%s on %v changed the status to %v", c.name, s, v.Status)
				}
				if v.Version != old.Version+1 {
					t.Errorf("%s on %v: version %d, want %d", c.name, s, v.Version, old.Version+1)
				}
				evs := f.history("HK-1")
				if len(evs) != len(before.History["HK-1"])+1 {
					t.Errorf("%s on %v appended %d events, want exactly 1", c.name, s, len(evs)-len(before.History["HK-1"]))
				}
				f.checkHistory("HK-1")
				checkSideEffects(t, c.trigger, old, v)
			})
		}
	}
}

// checkSideEffects asserts the side effects DESIGN.md lists per trigger.
func checkSideEffects(t *testing.T, tr status.Trigger, old, v *vault.Vault) {
	t.Helper()
	switch tr {
	case 0:
		return
	case status.Suspend, status.Withdraw, status.Compromise:
	default:
		if v.Description != "" {
			t.Errorf("%v kept description %q; transitions clear it unless the command sets one", tr, v.Description)
		}
	}
	switch tr {
	case status.Assign, status.Reactivate, status.Suspend:
		if v.Activation == nil || v.Activation.Attempts != 0 {
			t.Errorf("%v must issue a fresh activation code; got %v", tr, v.Activation)
		}
	case status.Activate, status.Lock, status.Unassign, status.Withdraw, status.Wipe, status.Compromise:
		if v.Activation != nil {
			t.Errorf("%v must cancel the pending code; got %v", tr, v.Activation)
		}
	}
	switch tr {
	case status.Unassign, status.Withdraw, status.Wipe, status.Compromise:
		if v.Owner != "" || len(v.Accounts) != 0 {
			t.Errorf("%v must clear owner and accounts; got %q, %v", tr, v.Owner, v.Accounts)
		}
	case status.Lock, status.Reactivate, status.Suspend, status.Activate:
		if v.Owner != old.Owner || len(v.Accounts) != len(old.Accounts) {
			t.Errorf("%v must keep owner and accounts; got %q, %v", tr, v.Owner, v.Accounts)
		}
	}
}
