package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/hwvault/hwvault/vault"
)

// This file implements the five methods of vault.Store. Each checks what
// it can without the database first, as store.Memory does and with the
// same errors, then makes as few round trips as the contract allows: Get,
// Update, List and History are one statement each.

// Create stores new vaults at Version 1 together with their events, all
// or nothing, in one transaction, and sets each caller's v.Version to 1.
//
// The whole batch is checked before the database is asked: a nil vault,
// a malformed ID ([vault.CheckID]), an invalid status, an event whose
// VaultID is not in the batch, or two events with the same VaultID and
// Version is [vault.ErrInvalidArgument]; an ID that appears twice in the
// batch is [vault.ErrExists]. An ID that is stored already is
// [vault.ErrExists] too, naming the first such vault of the batch. On any
// error nothing is stored. An empty batch does nothing.
//
// When the host raised the isolation level (REPEATABLE READ,
// SERIALIZABLE), a Create that waited for a concurrent one inserting the
// same ID fails with a serialization failure instead of finding the ID
// taken; Create then runs its transaction again, up to createAttempts
// times in all, and the next attempt reports the stored ID as
// [vault.ErrExists]. A deadlock is retried the same way. When every
// attempt fails so, the error is [vault.ErrConflict], which the Service
// does not retry for an Import.
func (s *Store) Create(ctx context.Context, vaults []*vault.Vault, events []vault.Event) error {
	const op = "Create"
	if err := ctx.Err(); err != nil {
		return fail(ctx, op, "", err)
	}
	if err := vault.CheckCreate(vaults, events); err != nil {
		return fmt.Errorf("postgres: Create: %w", err)
	}
	if err := checkEventVersions(op, events); err != nil {
		return err
	}
	if len(vaults) == 0 {
		return nil
	}

	// Insert in ID order: two batches that share IDs then lock them in
	// the same order, so one waits for the other instead of deadlocking.
	sorted := slices.SortedFunc(slices.Values(vaults), func(a, b *vault.Vault) int { return strings.Compare(a.ID, b.ID) })
	rows := make([][]any, len(sorted))
	for i, v := range sorted {
		args, err := vaultArgs(v)
		if err != nil {
			return fail(ctx, op, v.ID, err)
		}
		rows[i] = args
	}
	evs, err := newEventBatch(events)
	if err != nil {
		return fail(ctx, op, "", err)
	}

	var taken map[string]bool
	for attempt := 1; ; attempt++ {
		taken, err = s.create(ctx, sorted, rows, evs)
		if !retryable(err) || attempt == createAttempts {
			break
		}
	}
	if err != nil {
		return fail(ctx, op, "", err)
	}
	for _, v := range vaults { // the caller's order decides which one the error names
		if taken[v.ID] {
			return fmt.Errorf("postgres: Create %s: %w", quote(v.ID), vault.ErrExists)
		}
	}
	for _, v := range vaults {
		v.Version = 1
	}
	return nil
}

// createAttempts is how many times Create runs its transaction when it
// fails with a serialization failure or a deadlock.
const createAttempts = 4

// create inserts the vaults (rows holds their vaultArgs) and the events
// in one transaction and commits it, unless some of the vaults exist
// already: then it rolls back and returns their IDs.
func (s *Store) create(ctx context.Context, vaults []*vault.Vault, rows [][]any, evs *eventBatch) (taken map[string]bool, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx) // a no-op once committed

	// One round trip for all the vaults: the inserts are pipelined.
	b := new(pgx.Batch)
	for _, args := range rows {
		b.Queue(s.q.insertVault, args...)
	}
	results := tx.SendBatch(ctx, b)
	for _, v := range vaults {
		tag, err := results.Exec()
		if err != nil {
			results.Close()
			return nil, fmt.Errorf("vault %s: %w", quote(v.ID), err)
		}
		if tag.RowsAffected() == 0 { // ON CONFLICT DO NOTHING: the ID is taken
			if taken == nil {
				taken = make(map[string]bool)
			}
			taken[v.ID] = true
		}
	}
	if err := results.Close(); err != nil {
		return nil, err
	}
	if taken != nil {
		return taken, nil // the deferred Rollback undoes the other inserts
	}
	if len(evs.vaultIDs) > 0 {
		if _, err := tx.Exec(ctx, s.q.insertEvents, evs.args()...); err != nil {
			return nil, err
		}
	}
	return nil, tx.Commit(ctx)
}

// Get returns the vault, read in one statement, or an error wrapping
// [vault.ErrNotFound].
func (s *Store) Get(ctx context.Context, id string) (*vault.Vault, error) {
	const op = "Get"
	if err := ctx.Err(); err != nil {
		return nil, fail(ctx, op, id, err)
	}
	if vault.CheckID(id) != nil {
		return nil, fail(ctx, op, id, vault.ErrNotFound) // no stored vault has a malformed ID
	}
	v, err := scanVault(s.pool.QueryRow(ctx, s.q.getVault, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fail(ctx, op, id, vault.ErrNotFound)
	}
	if err != nil {
		return nil, fail(ctx, op, id, err)
	}
	return v, nil
}

// Update is a compare-and-swap on v.Version. When the stored version
// equals v.Version it stores v at Version+1, sets v.Version to the new
// version and appends events to the vault's history, in one statement
// (one round trip, one implicit transaction). Otherwise it returns an
// error wrapping [vault.ErrConflict] ([vault.ErrNotFound] when there is no
// such vault; Update never creates one) and changes nothing, v.Version
// included.
//
// A nil vault, an invalid status, an event whose VaultID is not v.ID, or
// two events with the same Version is [vault.ErrInvalidArgument], and so
// is an event whose version the vault's history holds already: events are
// numbered by the version their change produced, v.Version+1 for a single
// change. Nothing is stored then either.
func (s *Store) Update(ctx context.Context, v *vault.Vault, events []vault.Event) error {
	const op = "Update"
	if err := ctx.Err(); err != nil {
		if v == nil {
			return fail(ctx, op, "", err)
		}
		return fail(ctx, op, v.ID, err)
	}
	if err := vault.CheckUpdate(v, events); err != nil {
		return fmt.Errorf("postgres: Update: %w", err)
	}
	if len(events) > maxUpdateEvents {
		return fmt.Errorf("postgres: Update %s: %d events, at most %d fit one Update: %w",
			quote(v.ID), len(events), maxUpdateEvents, vault.ErrInvalidArgument)
	}
	if err := checkEventVersions(op, events); err != nil {
		return err
	}
	if vault.CheckID(v.ID) != nil {
		return fail(ctx, op, v.ID, vault.ErrNotFound) // no stored vault has a malformed ID
	}
	args, err := vaultArgs(v)
	if err != nil {
		return fail(ctx, op, v.ID, err)
	}
	expected := int64(-1) // a version beyond bigint matches no stored one
	if v.Version <= math.MaxInt64 {
		expected = int64(v.Version)
	}
	args = append(args, expected)
	for _, e := range events {
		r, err := newEventRecord(e)
		if err != nil {
			return fail(ctx, op, v.ID, err)
		}
		args = append(args, r.args()...)
	}

	var stored, seen *int64 // the new version; the version the statement saw
	err = s.pool.QueryRow(ctx, s.q.updateVault(len(events)), args...).Scan(&stored, &seen)
	if pgCode(err) == sqlUniqueViolation && ctx.Err() == nil { // the events' primary key
		return fmt.Errorf("postgres: Update %s: an event's version is in the vault's history already: %w: %w",
			quote(v.ID), vault.ErrInvalidArgument, err)
	}
	if err != nil {
		return fail(ctx, op, v.ID, err)
	}
	switch {
	case stored != nil:
		v.Version = uint64(*stored)
		return nil
	case seen == nil:
		return fail(ctx, op, v.ID, vault.ErrNotFound)
	case *seen == expected:
		// The version matched when the statement started, but a
		// concurrent change committed first.
		return fmt.Errorf("postgres: Update %s: version %d was given, and a concurrent change stored the next one first: %w",
			quote(v.ID), v.Version, vault.ErrConflict)
	default:
		return fmt.Errorf("postgres: Update %s: version %d was given, version %d is stored: %w",
			quote(v.ID), v.Version, *seen, vault.ErrConflict)
	}
}

// History returns the vault's events in version order, or an error
// wrapping [vault.ErrNotFound]. It is one statement, which reads the
// events and tells a missing vault from one without events from one
// snapshot: an Import that commits meanwhile is either seen whole or not
// at all.
func (s *Store) History(ctx context.Context, id string) ([]vault.Event, error) {
	const op = "History"
	if err := ctx.Err(); err != nil {
		return nil, fail(ctx, op, id, err)
	}
	if vault.CheckID(id) != nil {
		return nil, fail(ctx, op, id, vault.ErrNotFound) // no stored vault has a malformed ID
	}
	rows, err := s.pool.Query(ctx, s.q.history, id)
	if err != nil {
		return nil, fail(ctx, op, id, err)
	}
	var (
		events []vault.Event
		found  bool // a row came back: the vault exists
	)
	for rows.Next() {
		found = true
		e, ok, err := scanEvent(rows)
		if err != nil {
			rows.Close()
			return nil, fail(ctx, op, id, err)
		}
		if ok {
			events = append(events, e)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, op, id, err)
	}
	if !found {
		return nil, fail(ctx, op, id, vault.ErrNotFound)
	}
	return events, nil
}

// List returns the vaults that match f's status and owner, ordered by ID
// (bytewise), with IDs greater than f.After, at most f.PageSize() of them.
// Page.Next is the last ID of the page when more matching vaults follow
// it, and "" otherwise. A filter that fails [vault.Filter.Validate] is
// [vault.ErrInvalidArgument].
//
// List is one statement that reads one row more than the page, to learn
// whether another page follows. It walks the index that matches the
// filter, (status, id) or (owner, id), from the cursor, so a page costs
// the page, not the fleet.
func (s *Store) List(ctx context.Context, f vault.Filter) (vault.Page, error) {
	const op = "List"
	if err := ctx.Err(); err != nil {
		return vault.Page{}, fail(ctx, op, "", err)
	}
	if err := f.Validate(); err != nil {
		return vault.Page{}, fmt.Errorf("postgres: List: %w", err)
	}
	size := f.PageSize()
	args := []any{f.After, size + 1}
	if f.Status != 0 {
		args = append(args, int16(f.Status))
	}
	if f.Owner != "" {
		args = append(args, f.Owner)
	}
	sql := s.q.list[b2i(f.Status != 0)][b2i(f.Owner != "")]
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return vault.Page{}, fail(ctx, op, "", err)
	}
	vaults, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*vault.Vault, error) { return scanVault(row) })
	if err != nil {
		return vault.Page{}, fail(ctx, op, "", err)
	}
	page := vault.Page{Vaults: vaults}
	if len(vaults) > size {
		page.Vaults = vaults[:size:size]
		page.Next = vaults[size-1].ID
	}
	return page, nil
}

// eventKey identifies an event in a vault's history.
type eventKey struct {
	vaultID string
	version uint64
}

// checkEventVersions refuses events of which two have the same VaultID and
// Version: a history holds one event per version.
func checkEventVersions(op string, events []vault.Event) error {
	if len(events) < 2 {
		return nil
	}
	seen := make(map[eventKey]bool, len(events))
	for _, e := range events {
		k := eventKey{e.VaultID, e.Version}
		if seen[k] {
			return fmt.Errorf("postgres: %s %s: two events for version %d: %w", op, quote(e.VaultID), e.Version, vault.ErrInvalidArgument)
		}
		seen[k] = true
	}
	return nil
}
