package vault

import "context"

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
