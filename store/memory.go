package store

import (
	"context"
	"fmt"
	"sync"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// Memory is an in-process [vault.Store]: the embedded default, and the
// first store the conformance suite in package storetest runs against.
// It keeps everything in maps guarded by one read-write lock, so it is
// safe for concurrent use, and forgets everything when the process exits.
//
// Memory never shares memory with its callers: it stores deep copies of
// the vaults it is given ([vault.Vault.Clone]) and hands out deep copies.
//
// Listing is served from ordered secondary indexes (all vaults, by
// status, by owner), so a page of one status or one owner costs about
// the same whether the fleet holds a thousand vaults or a hundred
// thousand.
//
// Every method checks its context first: once the context is done, the
// method returns an error wrapping ctx.Err() and changes nothing. Errors
// about one vault quote its ID.
//
// Create it with [NewMemory]; the zero Memory is not usable.
type Memory struct {
	mu sync.RWMutex

	vaults map[string]*record // by vault ID

	// Indexes over vaults, kept current by every Create and Update.
	all      idSet                         // every ID
	byStatus [status.Compromised + 1]idSet // IDs per status; index 0 is unused
	byOwner  map[string]*idSet             // IDs per non-empty owner; no empty sets
}

// record is what Memory keeps for one vault.
type record struct {
	v      *vault.Vault  // Memory's own copy; never handed out
	events []vault.Event // history, in the order the changes were stored
}

var _ vault.Store = (*Memory)(nil)

// NewMemory returns an empty Memory store.
func NewMemory() *Memory {
	return &Memory{
		vaults:  make(map[string]*record),
		byOwner: make(map[string]*idSet),
	}
}

// Len returns the number of vaults stored.
func (m *Memory) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.vaults)
}

// Create stores new vaults at Version 1 together with their events, all
// or nothing, and sets each caller's v.Version to 1.
//
// The whole batch is checked before anything is stored: a nil vault, a
// malformed ID ([vault.CheckID]), an invalid status, or an event whose
// VaultID is not in the batch is [vault.ErrInvalidArgument]; an ID that
// is stored already or appears twice in the batch is [vault.ErrExists].
// On any error nothing is stored. Each event is appended, as given, to the
// history of the vault its VaultID names. An empty batch does nothing.
func (m *Memory) Create(ctx context.Context, vaults []*vault.Vault, events []vault.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: Create: %w", err)
	}
	if err := vault.CheckCreate(vaults, events); err != nil {
		return fmt.Errorf("store: Create: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range vaults {
		if _, ok := m.vaults[v.ID]; ok {
			return fmt.Errorf("store: Create %s: %w", quote(v.ID), vault.ErrExists)
		}
	}
	// Nothing below can fail: the batch is stored whole.
	for _, v := range vaults {
		c := v.Clone()
		c.Version = 1
		m.vaults[c.ID] = &record{v: c}
		m.index(c)
		v.Version = 1
	}
	for _, e := range events {
		r := m.vaults[e.VaultID]
		r.events = append(r.events, e)
	}
	return nil
}

// Get returns a deep copy of the vault, or an error wrapping
// [vault.ErrNotFound].
func (m *Memory) Get(ctx context.Context, id string) (*vault.Vault, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: Get %s: %w", quote(id), err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.vaults[id]
	if !ok {
		return nil, fmt.Errorf("store: Get %s: %w", quote(id), vault.ErrNotFound)
	}
	return r.v.Clone(), nil
}

// Update is a compare-and-swap on v.Version. When the stored version
// equals v.Version it stores a deep copy of v at Version+1, sets v.Version
// to the new version and appends events to the vault's history, all under
// one lock. Otherwise it returns an error wrapping [vault.ErrConflict]
// ([vault.ErrNotFound] when there is no such vault; Update never creates
// one) and changes nothing, v.Version included.
//
// A nil vault, an invalid status, or an event whose VaultID is not v.ID
// is [vault.ErrInvalidArgument].
func (m *Memory) Update(ctx context.Context, v *vault.Vault, events []vault.Event) error {
	if err := ctx.Err(); err != nil {
		if v == nil {
			return fmt.Errorf("store: Update: %w", err)
		}
		return fmt.Errorf("store: Update %s: %w", quote(v.ID), err)
	}
	if err := vault.CheckUpdate(v, events); err != nil {
		return fmt.Errorf("store: Update: %w", err)
	}

	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.vaults[v.ID]
	if !ok {
		return fmt.Errorf("store: Update %s: %w", quote(v.ID), vault.ErrNotFound)
	}
	if r.v.Version != v.Version {
		return fmt.Errorf("store: Update %s: version %d was given, version %d is stored: %w",
			quote(v.ID), v.Version, r.v.Version, vault.ErrConflict)
	}
	c := v.Clone()
	c.Version = v.Version + 1
	m.reindex(r.v, c)
	r.v = c
	r.events = append(r.events, events...)
	v.Version = c.Version
	return nil
}

// History returns a copy of the vault's events in the order they were
// stored, which is version order, or an error wrapping
// [vault.ErrNotFound].
func (m *Memory) History(ctx context.Context, id string) ([]vault.Event, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: History %s: %w", quote(id), err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.vaults[id]
	if !ok {
		return nil, fmt.Errorf("store: History %s: %w", quote(id), vault.ErrNotFound)
	}
	// Event holds only values, so copying the slice copies the events.
	return append([]vault.Event(nil), r.events...), nil
}

// List returns deep copies of the vaults that match f's status and owner,
// ordered by ID, with IDs greater than f.After, at most f.PageSize() of
// them. Page.Next is the last ID of the page when more matching vaults
// follow it, and "" otherwise. Page.Vaults is never nil: an empty page
// is an empty slice, whatever made it empty. A filter that fails
// [vault.Filter.Validate] is [vault.ErrInvalidArgument].
//
// List walks the smallest index that answers the filter: the owner's
// vaults or the status's vaults (the smaller of the two when the filter
// names both, checking the other field as it goes), or all vaults. It
// starts at the cursor with a binary search and stops one match after
// the page is full, so its cost is the page, not the fleet.
func (m *Memory) List(ctx context.Context, f vault.Filter) (vault.Page, error) {
	if err := ctx.Err(); err != nil {
		return vault.Page{}, fmt.Errorf("store: List: %w", err)
	}
	if err := f.Validate(); err != nil {
		return vault.Page{}, fmt.Errorf("store: List: %w", err)
	}
	size := f.PageSize()

	m.mu.RLock()
	defer m.mu.RUnlock()
	set := m.indexFor(f)
	if set == nil {
		return vault.Page{Vaults: []*vault.Vault{}}, nil // an owner with no vaults
	}
	page := vault.Page{Vaults: make([]*vault.Vault, 0, min(size, set.Len()))}
	for id := range set.After(f.After) {
		v := m.vaults[id].v
		if !f.Matches(v) {
			continue // only when both status and owner are set
		}
		if len(page.Vaults) == size {
			// One more match follows a full page: there is a next page.
			page.Next = page.Vaults[size-1].ID
			break
		}
		page.Vaults = append(page.Vaults, v.Clone())
	}
	return page, nil
}

// indexFor returns the smallest index that holds every vault matching f
// (its cursor and limit aside), or nil when no vault can match. f must be
// valid. The caller holds the lock.
func (m *Memory) indexFor(f vault.Filter) *idSet {
	var byOwner *idSet
	if f.Owner != "" {
		byOwner = m.byOwner[f.Owner]
		if byOwner == nil {
			return nil
		}
	}
	switch {
	case f.Status == 0 && byOwner == nil:
		return &m.all
	case f.Status == 0:
		return byOwner
	case byOwner == nil:
		return &m.byStatus[f.Status]
	case byOwner.Len() <= m.byStatus[f.Status].Len():
		return byOwner
	default:
		return &m.byStatus[f.Status]
	}
}

// index adds a newly stored vault to the indexes. The caller holds the
// write lock.
func (m *Memory) index(v *vault.Vault) {
	m.all.Insert(v.ID)
	m.byStatus[v.Status].Insert(v.ID)
	m.addOwner(v.Owner, v.ID)
}

// reindex moves a vault between indexes when an update changes its
// status or owner. The caller holds the write lock.
func (m *Memory) reindex(before, after *vault.Vault) {
	if before.Status != after.Status {
		m.byStatus[before.Status].Delete(before.ID)
		m.byStatus[after.Status].Insert(after.ID)
	}
	if before.Owner != after.Owner {
		m.removeOwner(before.Owner, before.ID)
		m.addOwner(after.Owner, after.ID)
	}
}

// addOwner records that owner holds the vault id; vaults without an
// owner are not indexed by owner.
func (m *Memory) addOwner(owner, id string) {
	if owner == "" {
		return
	}
	set := m.byOwner[owner]
	if set == nil {
		set = new(idSet)
		m.byOwner[owner] = set
	}
	set.Insert(id)
}

// removeOwner forgets that owner holds the vault id, and forgets the
// owner when it holds nothing else.
func (m *Memory) removeOwner(owner, id string) {
	set := m.byOwner[owner]
	if set == nil {
		return
	}
	set.Delete(id)
	if set.Len() == 0 {
		delete(m.byOwner, owner)
	}
}

// quote quotes a vault ID for an error message, bounding what an
// oversized one adds to it. Well-formed IDs are at most 64 bytes.
func quote(id string) string {
	const max = 128
	if len(id) > max {
		return fmt.Sprintf("%q...", id[:max])
	}
	return fmt.Sprintf("%q", id)
}
