package vault

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hwvault/hwvault/status"
)

// Import creates Ready vaults, all or none. The batch must be non-empty
// and name each ID once; an ID that exists already is ErrExists. Guards
// see each vault as it is about to be created, with trigger zero.
//
// Existence is checked before the guards, as for every command; the store
// settles it again atomically in Create. Without guards that first check
// would decide nothing Create does not, so it is skipped: a bulk import
// costs one store call.
func (s *Service) Import(ctx context.Context, vaults ...NewVault) ([]*Vault, error) {
	const op = "Import"
	if err := checkContext(ctx); err != nil {
		return nil, fail(op, "", err)
	}
	if len(vaults) == 0 {
		return nil, fail(op, "", fmt.Errorf("empty batch: %w", ErrInvalidArgument))
	}
	seen := make(map[string]bool, len(vaults))
	for _, nv := range vaults {
		if err := CheckID(nv.ID); err != nil {
			return nil, fail(op, nv.ID, err)
		}
		if seen[nv.ID] {
			return nil, fail(op, nv.ID, fmt.Errorf("ID appears twice in the batch: %w", ErrInvalidArgument))
		}
		seen[nv.ID] = true
		if err := checkLabels(nv.Labels); err != nil {
			return nil, fail(op, nv.ID, err)
		}
	}
	if len(s.guards) > 0 {
		for _, nv := range vaults {
			_, err := s.store.Get(ctx, nv.ID)
			switch {
			case err == nil:
				return nil, fail(op, nv.ID, ErrExists)
			case !errors.Is(err, ErrNotFound):
				return nil, fail(op, nv.ID, err)
			}
		}
	}
	now := s.now()
	actor := ActorFrom(ctx)
	created := make([]*Vault, len(vaults))
	events := make([]Event, len(vaults))
	for i, nv := range vaults {
		v := &Vault{
			ID:        nv.ID,
			Labels:    maps.Clone(nv.Labels),
			Status:    status.Ready,
			CreatedAt: now,
			UpdatedAt: now,
		}
		if err := s.guard(ctx, v, 0); err != nil {
			return nil, fail(op, nv.ID, err)
		}
		created[i] = v
		events[i] = Event{VaultID: v.ID, Version: 1, Action: ActionImport, From: status.Ready, To: status.Ready, Actor: actor, Time: now}
	}
	if err := s.store.Create(ctx, created, events); err != nil {
		if len(vaults) == 1 {
			return nil, fail(op, vaults[0].ID, err)
		}
		// The store's error names the vault it refused, if one: blame no
		// single vault of the batch, but say which batch it was.
		return nil, fail(op, "", fmt.Errorf("batch of %d, %s to %s: %w",
			len(vaults), quoteID(vaults[0].ID), quoteID(vaults[len(vaults)-1].ID), err))
	}
	s.notify(events...)
	return created, nil
}

// Assign issues a Ready vault to owner: it becomes Reserved with a new
// activation code, returned here once and never stored in clear.
func (s *Service) Assign(ctx context.Context, id, owner string) (*Vault, string, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, "", fail("Assign", id, err)
	}
	if err := checkText("owner", owner, 1, maxOwner, false); err != nil {
		return nil, "", fail("Assign", id, err)
	}
	return s.withNewCode(ctx, "Assign", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Assign, status.None, "")
		if err != nil {
			return result{}, err
		}
		next.Owner = owner
		return result{next: next, event: ev}, nil
	})
}

// Unassign cancels an issue before activation: the Reserved vault goes
// back to Ready, its owner, pending accounts and code removed.
func (s *Service) Unassign(ctx context.Context, id string) (*Vault, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("Unassign", id, err)
	}
	return s.apply(ctx, "Unassign", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Unassign, status.None, "")
		if err != nil {
			return result{}, err
		}
		clearLinks(next)
		return result{next: next, event: ev}, nil
	})
}

// Activate checks the user's activation code and makes a Reserved or
// Suspended vault Active; pending accounts reach the key.
//
// A wrong code is counted (a stored change with its own Event): Activate
// returns the stored vault together with an error wrapping ErrInvalidCode.
// The policy's MaxAttempts-th wrong code instead locks the vault with
// reason InvalidActivationCode, in the same single change, and still
// returns the (now Locked) vault with ErrInvalidCode. An expired code returns
// ErrCodeExpired and is not counted. Neither can be vetoed by a guard.
func (s *Service) Activate(ctx context.Context, id, code string) (*Vault, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("Activate", id, err)
	}
	if err := s.checkCode(code); err != nil {
		return nil, fail("Activate", id, err)
	}
	return s.apply(ctx, "Activate", id, func(cur *Vault, now time.Time) (result, error) {
		if _, err := status.Next(cur.Status, status.Activate); err != nil {
			return result{}, refusal(err)
		}
		a := cur.Activation
		if a == nil {
			return result{}, fmt.Errorf("no pending activation code: %w", ErrNotAllowed)
		}
		if !now.Before(a.ExpiresAt) {
			return result{}, fmt.Errorf("code expired at %v: %w", a.ExpiresAt.Format(time.RFC3339), ErrCodeExpired)
		}
		if !s.codeMatches(a, code) {
			return s.wrongCode(cur)
		}
		next, ev, err := s.transition(ctx, cur, status.Activate, status.None, "")
		if err != nil {
			return result{}, err
		}
		next.Activation = nil
		for i := range next.Accounts {
			next.Accounts[i].Pending = false
		}
		return result{next: next, event: ev}, nil
	})
}

// wrongCode counts a wrong code, locking the vault at the last attempt.
func (s *Service) wrongCode(cur *Vault) (result, error) {
	to, err := status.Next(cur.Status, status.Lock)
	if err != nil {
		return result{}, refusal(err) // the graph lets every status that accepts codes lock
	}
	next := cur
	next.Activation.Attempts++
	left := s.policy.MaxAttempts - next.Activation.Attempts
	if left > 0 {
		return result{
			next:  next,
			event: Event{Action: ActionCodeRejected},
			err:   fmt.Errorf("%w (%d of %d attempts left)", ErrInvalidCode, left, s.policy.MaxAttempts),
		}, nil
	}
	next.Status, next.Reason, next.Description = to, status.InvalidActivationCode, ""
	next.Activation = nil
	return result{
		next:  next,
		event: Event{Action: ActionTransition, Trigger: status.Lock},
		err:   fmt.Errorf("%w: no attempts left, the vault is now %v", ErrInvalidCode, to),
	}, nil
}

// Lock records that the device locked itself after wrong input: reason
// InvalidActivationCode or LockedByInvalidPin. A pending code is
// cancelled; the owner and accounts stay.
func (s *Service) Lock(ctx context.Context, id string, reason status.Reason) (*Vault, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("Lock", id, err)
	}
	if err := checkReason(status.Lock, reason); err != nil {
		return nil, fail("Lock", id, err)
	}
	return s.apply(ctx, "Lock", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Lock, reason, "")
		if err != nil {
			return result{}, err
		}
		next.Activation = nil
		return result{next: next, event: ev}, nil
	})
}

// Reactivate is the admin's "Activate device" command: a Locked vault
// becomes Suspended with a new activation code for its user.
func (s *Service) Reactivate(ctx context.Context, id string) (*Vault, string, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, "", fail("Reactivate", id, err)
	}
	return s.withNewCode(ctx, "Reactivate", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Reactivate, status.None, "")
		if err != nil {
			return result{}, err
		}
		return result{next: next, event: ev}, nil
	})
}

// Suspend freezes an Active vault (a vacation, an investigation) with a
// note, and issues the code that will bring it back to Active.
func (s *Service) Suspend(ctx context.Context, id, description string) (*Vault, string, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, "", fail("Suspend", id, err)
	}
	if err := checkDescription(description); err != nil {
		return nil, "", fail("Suspend", id, err)
	}
	return s.withNewCode(ctx, "Suspend", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Suspend, status.None, description)
		if err != nil {
			return result{}, err
		}
		return result{next: next, event: ev}, nil
	})
}

// ReissueCode replaces the pending activation code of a Reserved or
// Suspended vault (the user lost it, or it expired); the old code stops
// working and the attempt count starts over.
func (s *Service) ReissueCode(ctx context.Context, id string) (*Vault, string, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, "", fail("ReissueCode", id, err)
	}
	return s.withNewCode(ctx, "ReissueCode", id, func(cur *Vault, _ time.Time) (result, error) {
		if cur.Status != status.Reserved && cur.Status != status.Suspended {
			return result{}, fmt.Errorf("codes are reissued only while Reserved or Suspended, vault is %v: %w", cur.Status, ErrNotAllowed)
		}
		if err := s.guard(ctx, cur, 0); err != nil {
			return result{}, err
		}
		return result{next: cur, event: Event{Action: ActionCodeIssued}}, nil
	})
}

// withNewCode runs a command whose result carries a fresh activation code
// and returns the code. The code is drawn once per attempt, after the
// command's checks passed.
func (s *Service) withNewCode(ctx context.Context, op, id string, fn decide) (*Vault, string, error) {
	var code string
	v, err := s.apply(ctx, op, id, func(cur *Vault, now time.Time) (result, error) {
		r, err := fn(cur, now)
		if err != nil {
			return r, err
		}
		c, a, err := s.newCode(now)
		if err != nil {
			return result{}, err
		}
		code, r.next.Activation = c, a
		return r, nil
	})
	if err != nil {
		return nil, "", err
	}
	return v, code, nil
}

// Withdraw takes a vault from its user (reason Withdrawal or Broken): it
// becomes Deactivated, its owner, accounts and pending code removed,
// waiting to be wiped.
func (s *Service) Withdraw(ctx context.Context, id string, reason status.Reason, description string) (*Vault, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("Withdraw", id, err)
	}
	if err := checkReason(status.Withdraw, reason); err != nil {
		return nil, fail("Withdraw", id, err)
	}
	if err := checkDescription(description); err != nil {
		return nil, fail("Withdraw", id, err)
	}
	return s.apply(ctx, "Withdraw", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Withdraw, reason, description)
		if err != nil {
			return result{}, err
		}
		clearLinks(next)
		return result{next: next, event: ev}, nil
	})
}

// Wipe records the cleaning procedure: a Deactivated vault is Ready again,
// with no reason, owner, accounts or code.
func (s *Service) Wipe(ctx context.Context, id string) (*Vault, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("Wipe", id, err)
	}
	return s.apply(ctx, "Wipe", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Wipe, status.None, "")
		if err != nil {
			return result{}, err
		}
		clearLinks(next)
		return result{next: next, event: ev}, nil
	})
}

// Compromise declares a vault lost or stolen. It is irreversible: the
// vault becomes Compromised, its owner, accounts and code are removed,
// and no command will change it again. As a confirmation step, confirm
// must repeat the vault ID exactly, or the call is ErrConfirmation.
func (s *Service) Compromise(ctx context.Context, id string, reason status.Reason, description, confirm string) (*Vault, error) {
	if err := checkCall(ctx, id); err != nil {
		return nil, fail("Compromise", id, err)
	}
	if err := checkReason(status.Compromise, reason); err != nil {
		return nil, fail("Compromise", id, err)
	}
	if err := checkDescription(description); err != nil {
		return nil, fail("Compromise", id, err)
	}
	if confirm != id {
		return nil, fail("Compromise", id, fmt.Errorf("to compromise a vault irreversibly, confirm with its ID: %w", ErrConfirmation))
	}
	return s.apply(ctx, "Compromise", id, func(cur *Vault, _ time.Time) (result, error) {
		next, ev, err := s.transition(ctx, cur, status.Compromise, reason, description)
		if err != nil {
			return result{}, err
		}
		clearLinks(next)
		return result{next: next, event: ev}, nil
	})
}

// clearLinks removes everything that ties a vault to a user.
func clearLinks(v *Vault) {
	v.Owner = ""
	v.Accounts = nil
	v.Activation = nil
}

// AddAccount stores a new account for the vault: on the key while Active,
// pending (until activation) while Reserved. The caller's Pending field is
// ignored. A duplicate account ID is ErrExists.
func (s *Service) AddAccount(ctx context.Context, id string, a Account) (*Vault, error) {
	const op = "AddAccount"
	if err := checkCall(ctx, id); err != nil {
		return nil, fail(op, id, err)
	}
	if err := checkAccount(a); err != nil {
		return nil, fail(op, id, err)
	}
	return s.apply(ctx, op, id, func(cur *Vault, _ time.Time) (result, error) {
		if err := allows(cur, status.AddAccount); err != nil {
			return result{}, err
		}
		if findAccount(cur, a.ID) >= 0 {
			return result{}, fmt.Errorf("account %s: %w", quoteID(a.ID), ErrExists)
		}
		if err := s.guard(ctx, cur, 0); err != nil {
			return result{}, err
		}
		a.Pending = cur.Status != status.Active
		cur.Accounts = append(cur.Accounts, a)
		return result{next: cur, event: Event{Action: ActionAccountAdded, Account: a.ID}}, nil
	})
}

// UpdateAccount replaces the name and login of an account on an Active
// vault. An unknown account ID is ErrNotFound.
func (s *Service) UpdateAccount(ctx context.Context, id string, a Account) (*Vault, error) {
	const op = "UpdateAccount"
	if err := checkCall(ctx, id); err != nil {
		return nil, fail(op, id, err)
	}
	if err := checkAccount(a); err != nil {
		return nil, fail(op, id, err)
	}
	return s.apply(ctx, op, id, func(cur *Vault, _ time.Time) (result, error) {
		if err := allows(cur, status.EditAccount); err != nil {
			return result{}, err
		}
		i := findAccount(cur, a.ID)
		if i < 0 {
			return result{}, fmt.Errorf("account %s: %w", quoteID(a.ID), ErrNotFound)
		}
		if err := s.guard(ctx, cur, 0); err != nil {
			return result{}, err
		}
		a.Pending = cur.Accounts[i].Pending
		cur.Accounts[i] = a
		return result{next: cur, event: Event{Action: ActionAccountUpdated, Account: a.ID}}, nil
	})
}

// DeleteAccount removes an account from an Active vault. An unknown
// account ID is ErrNotFound.
func (s *Service) DeleteAccount(ctx context.Context, id, accountID string) (*Vault, error) {
	const op = "DeleteAccount"
	if err := checkCall(ctx, id); err != nil {
		return nil, fail(op, id, err)
	}
	if err := checkID("account ID", accountID); err != nil {
		return nil, fail(op, id, err)
	}
	return s.apply(ctx, op, id, func(cur *Vault, _ time.Time) (result, error) {
		if err := allows(cur, status.DeleteAccount); err != nil {
			return result{}, err
		}
		i := findAccount(cur, accountID)
		if i < 0 {
			return result{}, fmt.Errorf("account %s: %w", quoteID(accountID), ErrNotFound)
		}
		if err := s.guard(ctx, cur, 0); err != nil {
			return result{}, err
		}
		cur.Accounts = slices.Delete(cur.Accounts, i, i+1)
		return result{next: cur, event: Event{Action: ActionAccountDeleted, Account: accountID}}, nil
	})
}

func allows(v *Vault, op status.Operation) error {
	if !status.Allows(v.Status, op) {
		return fmt.Errorf("%v is not allowed while %v: %w", op, v.Status, ErrNotAllowed)
	}
	return nil
}

func findAccount(v *Vault, accountID string) int {
	return slices.IndexFunc(v.Accounts, func(a Account) bool { return a.ID == accountID })
}

func checkAccount(a Account) error {
	if err := checkID("account ID", a.ID); err != nil {
		return err
	}
	if err := checkText("account name", a.Name, 1, maxAccountName, false); err != nil {
		return err
	}
	return checkText("account login", a.Login, 0, maxLogin, false)
}

func checkLabels(labels map[string]string) error {
	if len(labels) > maxLabels {
		return fmt.Errorf("%d labels, at most %d allowed: %w", len(labels), maxLabels, ErrInvalidArgument)
	}
	for k, v := range labels {
		if err := checkText("label key", k, 1, maxLabelKey, false); err != nil {
			return err
		}
		if err := checkText(fmt.Sprintf("label %q", k), v, 0, maxLabelValue, false); err != nil {
			return err
		}
	}
	return nil
}
