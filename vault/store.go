package vault

import (
	"context"
	"fmt"
)

// Store keeps vaults and their audit history. Implementations must be
// safe for concurrent use and must never share memory with their callers:
// they copy what they are given and hand out copies ([Vault.Clone]).
// Errors wrap the sentinels of this package, so that hosts can match
// them without importing a driver. The conformance suite in package
// storetest checks every rule below.
type Store interface {
	// Create stores new vaults at Version 1, with their import events,
	// all or nothing. It sets each caller's v.Version to 1. An ID that
	// exists already, or appears twice in the batch, is ErrExists and
	// nothing is stored.
	Create(ctx context.Context, vaults []*Vault, events []Event) error

	// Get returns a copy of the vault, which the caller owns, or
	// ErrNotFound.
	Get(ctx context.Context, id string) (*Vault, error)

	// Update is a compare-and-swap on v.Version: it succeeds only when the
	// stored version equals v.Version, stores v at Version+1, sets
	// v.Version to it and appends events, all in one atomic step.
	// Otherwise it returns ErrConflict (ErrNotFound when there is no such
	// vault) and changes nothing. Events are stored as given.
	Update(ctx context.Context, v *Vault, events []Event) error

	// List returns the vaults that match f ordered by ID, starting after
	// f.After, at most f.PageSize() of them; Page.Next is the cursor for
	// the following page, "" at the end. A filter that fails
	// [Filter.Validate] is ErrInvalidArgument.
	List(ctx context.Context, f Filter) (Page, error)

	// History returns the vault's events in version order, or ErrNotFound.
	History(ctx context.Context, id string) ([]Event, error)
}

// CheckCreate reports arguments to [Store.Create] that a store must
// refuse before it writes anything: a nil vault, a malformed ID, an
// invalid status (error wrapping [ErrInvalidArgument]), an ID the batch
// names twice ([ErrExists]), or an event for a vault not in the batch
// ([ErrInvalidArgument]). Errors name the vault.
func CheckCreate(vaults []*Vault, events []Event) error {
	batch := make(map[string]bool, len(vaults))
	for i, v := range vaults {
		if err := checkWritten(v); err != nil {
			return fmt.Errorf("vault %d of the batch: %w", i, err)
		}
		if batch[v.ID] {
			return fmt.Errorf("vault %s: the batch names it twice: %w", quoteID(v.ID), ErrExists)
		}
		batch[v.ID] = true
	}
	for _, e := range events {
		if !batch[e.VaultID] {
			return fmt.Errorf("event for vault %s, which is not in the batch: %w", quoteID(e.VaultID), ErrInvalidArgument)
		}
	}
	return nil
}

// CheckUpdate reports arguments to [Store.Update] that a store must refuse
// before it writes anything: a nil vault, an invalid status, or an event
// for another vault, each an error wrapping [ErrInvalidArgument] that
// names the vault. (A malformed ID needs no check: no such vault exists,
// so Update reports ErrNotFound.)
func CheckUpdate(v *Vault, events []Event) error {
	if v == nil {
		return fmt.Errorf("nil vault: %w", ErrInvalidArgument)
	}
	if err := checkStatus(v); err != nil {
		return err
	}
	for _, e := range events {
		if e.VaultID != v.ID {
			return fmt.Errorf("vault %s: event for vault %s: %w", quoteID(v.ID), quoteID(e.VaultID), ErrInvalidArgument)
		}
	}
	return nil
}

// checkWritten refuses a new vault no store can keep.
func checkWritten(v *Vault) error {
	if v == nil {
		return fmt.Errorf("nil vault: %w", ErrInvalidArgument)
	}
	if err := CheckID(v.ID); err != nil {
		return err
	}
	return checkStatus(v)
}

func checkStatus(v *Vault) error {
	if !v.Status.IsValid() {
		return fmt.Errorf("vault %s: invalid status %d: %w", quoteID(v.ID), uint8(v.Status), ErrInvalidArgument)
	}
	return nil
}
