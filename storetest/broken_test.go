package storetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hwvault/hwvault/vault"
)

// This file proves the suite's teeth: each flaw below breaks one rule of
// the vault.Store contract in a small reference store, and Run must fail
// that store in the subtests that check the rule.
//
// Run cannot be pointed at a fake *testing.T, so TestBrokenStores runs the
// suite in a child process: it re-executes this test binary with
// -test.run=^TestBrokenStoreHelper$ and the flaw's name in $brokenEnv,
// then asserts that the child failed and which subtests it failed.

// brokenEnv names the flaw the child process runs the suite against.
const brokenEnv = "STORETEST_BROKEN_STORE"

// flaws maps each broken store to the subtests that must fail it. The
// first, Control, is no flaw at all: the reference store itself, which
// must pass, so that the failures of the others are the flaws' doing.
var flaws = []struct {
	flaw  string
	fails []string
}{
	{"Control", nil},
	{"NoCompareAndSwap", []string{"UpdateStaleVersion", "UpdateFutureVersion"}},
	{"AcceptsStaleVersion", []string{"UpdateStaleVersion"}},
	{"AcceptsFutureVersion", []string{"UpdateFutureVersion"}},
	{"CheckThenActUpdate", []string{"ConcurrentUpdatesOneVault"}},
	{"CheckThenActCreate", []string{"ConcurrentCreateSameID"}},
	{"KeepsOldValues", []string{"UpdateClearsFields"}},
	{"UpdateCreatesMissing", []string{"UpdateMissingDoesNotCreate"}},
	{"AppendsEventsOfRefusedUpdate", []string{"UpdateStaleVersion", "UpdateAppendsEventsAtomically"}},
	{"DropsEvents", []string{"UpdateAppendsEventsAtomically", "HistoryOrderAndCompleteness"}},
	{"ReordersEvents", []string{"HistoryOrderAndCompleteness"}},
	{"GetSharesPointer", []string{"GetReturnsCopy"}},
	{"KeepsCallerVault", []string{"CreateDoesNotKeepCallerMemory", "UpdateDoesNotKeepCallerMemory"}},
	{"ShallowCopy", []string{"CreateDoesNotKeepCallerMemory", "GetReturnsCopy", "UpdateDoesNotKeepCallerMemory"}},
	{"KeepsCallerEvents", []string{"CreateDoesNotKeepCallerMemory"}},
	{"ListSharesPointers", []string{"ListReturnsCopies"}},
	{"HistorySharesSlice", []string{"HistoryReturnsCopy"}},
	{"NonAtomicCreate", []string{"CreateIsAtomic"}},
	{"DuplicateInBatch", []string{"CreateDuplicateInBatch"}},
	{"CreateKeepsCallerVersion", []string{"CreateSetsVersion"}},
	{"IgnoresStatusFilter", []string{"ListFilterStatus", "ListFilterStatusAndOwner"}},
	{"IgnoresOwnerFilter", []string{"ListFilterOwner", "ListFilterStatusAndOwner"}},
	{"StaleStatusIndex", []string{"ListFilterStatus"}},
	{"PagesOverlap", []string{"ListPaginationNoOverlapNoSkip"}},
	{"PagesSkip", []string{"ListPaginationNoOverlapNoSkip"}},
	{"NextPointsAtEmptyPage", []string{"ListPaginationNoOverlapNoSkip"}},
	{"NoLimitClamp", []string{"ListLimitDefaultAndClamp"}},
	{"AcceptsNegativeLimit", []string{"ListNegativeLimit"}},
	{"IgnoresCancelledContext", []string{"CancelledContext"}},
}

func TestBrokenStores(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("running as the child of TestBrokenStores")
	}
	failLine := regexp.MustCompile(`--- FAIL: TestBrokenStoreHelper/(\w+)`)
	for _, c := range flaws {
		t.Run(c.flaw, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), os.Args[0],
				"-test.run=^TestBrokenStoreHelper$", "-test.count=1", "-test.timeout=2m")
			// atexit_sleep_ms=0: a race-enabled binary otherwise sleeps a
			// second before it exits.
			cmd.Env = append(os.Environ(), brokenEnv+"="+c.flaw,
				"GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
			out, err := cmd.CombinedOutput()

			var failed []string
			for _, m := range failLine.FindAllStringSubmatch(string(out), -1) {
				failed = append(failed, m[1])
			}
			if strings.Contains(string(out), "panic: ") {
				t.Errorf("the suite must fail a broken store by its checks, not by panicking:\n%s", out)
			}
			if c.fails == nil {
				if err != nil {
					t.Fatalf("the reference store without a flaw must pass Run; it failed (%v):\n%s", err, out)
				}
				return
			}
			if err == nil {
				t.Fatalf("Run must fail a store with flaw %s; it passed:\n%s", c.flaw, out)
			}
			for _, want := range c.fails {
				if !slices.Contains(failed, want) {
					t.Errorf("Run must fail a store with flaw %s in subtest %s; it failed %q:\n%s", c.flaw, want, failed, out)
				}
			}
			t.Logf("flaw %s failed subtests %q", c.flaw, failed)
		})
	}
}

// TestBrokenStoreHelper runs the suite against the broken store $brokenEnv
// names; it does nothing unless TestBrokenStores started it.
func TestBrokenStoreHelper(t *testing.T) {
	flaw := os.Getenv(brokenEnv)
	if flaw == "" {
		t.Skip("run by TestBrokenStores only")
	}
	Run(t, func(*testing.T) vault.Store {
		return &brokenStore{
			flaw:    flaw,
			vaults:  make(map[string]*vault.Vault),
			history: make(map[string][]vault.Event),
			created: make(map[string]*vault.Vault),
		}
	})
}

// brokenStore is a deliberately simple, correct vault.Store — one mutex,
// a few maps, List by scanning and sorting — that breaks one rule when
// flaw names it (and none for "Control"). Its maps are always guarded,
// even under CheckThenActUpdate and CheckThenActCreate, so the race
// detector stays quiet and the suite's own checks must catch the flaw.
type brokenStore struct {
	flaw    string
	mu      sync.Mutex
	vaults  map[string]*vault.Vault
	history map[string][]vault.Event
	created map[string]*vault.Vault // the vault as created, for StaleStatusIndex
}

func (b *brokenStore) is(flaw string) bool { return b.flaw == flaw }

// ctxErr returns the context's error, unless the store ignores it.
func (b *brokenStore) ctxErr(ctx context.Context) error {
	if b.is("IgnoresCancelledContext") {
		return nil
	}
	return ctx.Err()
}

// copyIn returns what the store keeps of the caller's vault.
func (b *brokenStore) copyIn(v *vault.Vault) *vault.Vault {
	switch {
	case b.is("KeepsCallerVault"):
		return v
	case b.is("ShallowCopy"):
		c := *v
		return &c
	}
	return v.Clone()
}

// copyOut returns what the store hands out of its own vault.
func (b *brokenStore) copyOut(v *vault.Vault) *vault.Vault {
	if b.is("ShallowCopy") {
		c := *v
		return &c
	}
	return v.Clone()
}

func (b *brokenStore) Create(ctx context.Context, vaults []*vault.Vault, events []vault.Event) error {
	if err := b.ctxErr(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.is("NonAtomicCreate") {
		for _, v := range vaults {
			if _, ok := b.vaults[v.ID]; ok {
				return fmt.Errorf("Create %q: %w", v.ID, vault.ErrExists)
			}
			b.store(v)
			for _, e := range events {
				if e.VaultID == v.ID {
					b.history[v.ID] = append(b.history[v.ID], e)
				}
			}
		}
		return nil
	}
	inBatch := map[string]bool{}
	for _, v := range vaults {
		if _, ok := b.vaults[v.ID]; ok || inBatch[v.ID] && !b.is("DuplicateInBatch") {
			return fmt.Errorf("Create %q: %w", v.ID, vault.ErrExists)
		}
		inBatch[v.ID] = true
	}
	if b.is("CheckThenActCreate") {
		// The check that the IDs are new and the insert below are
		// separate critical sections: concurrent Creates of one ID can
		// all pass the check, and each overwrites the one before.
		b.mu.Unlock()
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
		b.mu.Lock()
	}
	for _, v := range vaults {
		b.store(v)
	}
	for i, e := range events {
		if b.is("KeepsCallerEvents") {
			b.history[e.VaultID] = events[i : i+1 : i+1] // the caller's array
			continue
		}
		b.history[e.VaultID] = append(b.history[e.VaultID], e)
	}
	return nil
}

// store keeps a new vault at Version 1 with an empty history; the caller
// holds the lock.
func (b *brokenStore) store(v *vault.Vault) {
	if !b.is("CreateKeepsCallerVersion") {
		v.Version = 1
	}
	c := b.copyIn(v)
	b.vaults[v.ID] = c
	b.created[v.ID] = c.Clone()
	b.history[v.ID] = nil
}

func (b *brokenStore) Get(ctx context.Context, id string) (*vault.Vault, error) {
	if err := b.ctxErr(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.vaults[id]
	if !ok {
		return nil, fmt.Errorf("Get %q: %w", id, vault.ErrNotFound)
	}
	if b.is("GetSharesPointer") {
		return v, nil
	}
	return b.copyOut(v), nil
}

func (b *brokenStore) Update(ctx context.Context, v *vault.Vault, events []vault.Event) error {
	if err := b.ctxErr(ctx); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	stored, ok := b.vaults[v.ID]
	if !ok {
		if !b.is("UpdateCreatesMissing") {
			return fmt.Errorf("Update %q: %w", v.ID, vault.ErrNotFound)
		}
		stored = &vault.Vault{Version: v.Version}
	}
	if b.refuses(stored.Version, v.Version) {
		if b.is("AppendsEventsOfRefusedUpdate") {
			b.history[v.ID] = append(b.history[v.ID], events...)
		}
		return fmt.Errorf("Update %q: version %d, stored %d: %w", v.ID, v.Version, stored.Version, vault.ErrConflict)
	}
	if b.is("CheckThenActUpdate") {
		// The version check above and the write below are separate
		// critical sections: another writer can pass the same check in
		// between, and both win the same version.
		b.mu.Unlock()
		time.Sleep(100 * time.Microsecond)
		b.mu.Lock()
	}
	v.Version++
	kept := b.copyIn(v)
	if b.is("KeepsOldValues") {
		keepOldValues(kept, stored)
	}
	b.vaults[v.ID] = kept
	if !b.is("DropsEvents") {
		b.history[v.ID] = append(b.history[v.ID], events...)
	}
	return nil
}

// keepOldValues does what an UPDATE ... SET col = COALESCE(NULLIF($n, zero), col)
// does, or a PATCH that skips zero values: every zero field of v keeps the
// stored value, and labels are upserted, never deleted.
func keepOldValues(v, stored *vault.Vault) {
	old := stored.Clone()
	if v.Reason == 0 {
		v.Reason = old.Reason
	}
	if v.Description == "" {
		v.Description = old.Description
	}
	if v.Owner == "" {
		v.Owner = old.Owner
	}
	if len(v.Accounts) == 0 {
		v.Accounts = old.Accounts
	}
	if v.Activation == nil {
		v.Activation = old.Activation
	}
	for k, val := range old.Labels {
		if _, ok := v.Labels[k]; !ok {
			if v.Labels == nil {
				v.Labels = map[string]string{}
			}
			v.Labels[k] = val
		}
	}
}

// refuses reports whether the compare-and-swap refuses the given version
// against the stored one.
func (b *brokenStore) refuses(stored, given uint64) bool {
	switch {
	case b.is("NoCompareAndSwap"):
		return false
	case b.is("AcceptsStaleVersion"):
		return given > stored
	case b.is("AcceptsFutureVersion"):
		return given < stored
	}
	return given != stored
}

func (b *brokenStore) History(ctx context.Context, id string) ([]vault.Event, error) {
	if err := b.ctxErr(ctx); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	h, ok := b.history[id]
	if !ok {
		return nil, fmt.Errorf("History %q: %w", id, vault.ErrNotFound)
	}
	switch {
	case b.is("HistorySharesSlice"):
		return h, nil
	case b.is("ReordersEvents"):
		// Newest first, as a careless ORDER BY time DESC would.
		out := slices.Clone(h)
		slices.Reverse(out)
		return out, nil
	}
	return slices.Clone(h), nil
}

func (b *brokenStore) List(ctx context.Context, f vault.Filter) (vault.Page, error) {
	if err := b.ctxErr(ctx); err != nil {
		return vault.Page{}, err
	}
	if b.is("AcceptsNegativeLimit") && f.Limit < 0 {
		f.Limit = 0
	}
	if err := f.Validate(); err != nil {
		return vault.Page{}, err
	}
	size := f.PageSize()
	if b.is("NoLimitClamp") && f.Limit > size {
		size = f.Limit
	}
	if b.is("IgnoresStatusFilter") {
		f.Status = 0
	}
	if b.is("IgnoresOwnerFilter") {
		f.Owner = ""
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	var match []*vault.Vault
	for id, v := range b.vaults {
		after := id > f.After || b.is("PagesOverlap") && id == f.After
		indexed := v
		if b.is("StaleStatusIndex") {
			// The status index knows each vault by its status at
			// creation, and it is never updated.
			indexed = &vault.Vault{Status: b.created[id].Status, Owner: v.Owner}
		}
		if after && f.Matches(indexed) {
			match = append(match, v)
		}
	}
	slices.SortFunc(match, func(a, b *vault.Vault) int { return strings.Compare(a.ID, b.ID) })

	var p vault.Page
	for _, v := range match[:min(size, len(match))] {
		if b.is("ListSharesPointers") {
			p.Vaults = append(p.Vaults, v)
		} else {
			p.Vaults = append(p.Vaults, b.copyOut(v))
		}
	}
	switch {
	case b.is("NextPointsAtEmptyPage") && len(p.Vaults) > 0 && len(p.Vaults) == size:
		p.Next = p.Vaults[size-1].ID
	case len(match) > size && b.is("PagesSkip"):
		p.Next = match[size].ID // the following page starts after the first vault it should show
	case len(match) > size:
		p.Next = match[size-1].ID
	}
	return p, nil
}
