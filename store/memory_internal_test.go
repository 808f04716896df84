package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// checkIndexes fails the test unless every index of m agrees with the
// vaults m stores: each vault is in the all-set, in the set of its status
// only, and in the set of its owner only; no owner set is empty.
func checkIndexes(t *testing.T, m *Memory) {
	t.Helper()
	var all []string
	byStatus := map[status.Status][]string{}
	byOwner := map[string][]string{}
	for id, r := range m.vaults {
		all = append(all, id)
		byStatus[r.v.Status] = append(byStatus[r.v.Status], id)
		if r.v.Owner != "" {
			byOwner[r.v.Owner] = append(byOwner[r.v.Owner], id)
		}
	}
	sorted := func(ids []string) []string { slices.Sort(ids); return ids }
	checkSet(t, &m.all, sorted(all))
	if m.byStatus[0].Len() != 0 {
		t.Fatalf("the unused status index 0 holds %d IDs", m.byStatus[0].Len())
	}
	for _, st := range status.Statuses() {
		checkSet(t, &m.byStatus[st], sorted(byStatus[st]))
	}
	if len(m.byOwner) != len(byOwner) {
		t.Fatalf("the owner index has %d owners, the vaults %d: an empty owner set was kept, or one is missing", len(m.byOwner), len(byOwner))
	}
	for owner, ids := range byOwner {
		set := m.byOwner[owner]
		if set == nil {
			t.Fatalf("owner %q holds %d vaults but has no index", owner, len(ids))
		}
		checkSet(t, set, sorted(ids))
	}
}

// TestMemoryIndexesFollowChanges creates a fleet large enough to span
// many index chunks, moves vaults between statuses and owners at random,
// and checks the indexes and paged listings against a model after every
// round.
func TestMemoryIndexesFollowChanges(t *testing.T) {
	const n = 3 * chunkMax
	r := rand.New(rand.NewPCG(5, 6))
	ownerOf := func() string {
		if o := r.IntN(12); o < 10 {
			return fmt.Sprintf("user-%d", o)
		}
		return ""
	}
	statusOf := func() status.Status { return status.Statuses()[r.IntN(7)] }

	ctx := t.Context()
	m := NewMemory()
	model := map[string]*vault.Vault{}
	batch := make([]*vault.Vault, 0, n)
	for i := range n {
		v := &vault.Vault{ID: fmt.Sprintf("K%05d", (i*7919)%n), Status: statusOf(), Owner: ownerOf()}
		batch = append(batch, v)
	}
	if err := m.Create(ctx, batch, nil); err != nil {
		t.Fatal(err)
	}
	for _, v := range batch {
		model[v.ID] = v.Clone()
	}
	checkIndexes(t, m)

	ids := slices.Sorted(func(yield func(string) bool) {
		for id := range model {
			if !yield(id) {
				return
			}
		}
	})
	for round := range 4 {
		for range n / 2 {
			v := model[ids[r.IntN(n)]].Clone()
			switch r.IntN(3) {
			case 0:
				v.Status = statusOf()
			case 1:
				v.Owner = ownerOf()
			default:
				v.Status, v.Owner = statusOf(), ownerOf()
			}
			if err := m.Update(ctx, v, nil); err != nil {
				t.Fatal(err)
			}
			model[v.ID] = v
		}
		checkIndexes(t, m)

		filters := []vault.Filter{{}, {Status: status.Locked}, {Owner: "user-3"}, {Status: status.Active, Owner: "user-7"}, {Owner: "nobody"}}
		for _, f := range filters {
			f.Limit = 37
			var want, got []string
			for _, id := range ids {
				if f.Matches(model[id]) {
					want = append(want, id)
				}
			}
			for {
				p, err := m.List(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, v := range p.Vaults {
					got = append(got, v.ID)
				}
				if p.Next == "" {
					break
				}
				f.After = p.Next
			}
			if !slices.Equal(got, want) {
				t.Fatalf("round %d: List(%+v) in pages of 37 returned %d vaults, want %d", round, f, len(got), len(want))
			}
		}
	}
}

// TestMemoryListWalksTheSmallerIndex checks which index List picks when
// the filter names both a status and an owner.
func TestMemoryListWalksTheSmallerIndex(t *testing.T) {
	m := NewMemory()
	var vs []*vault.Vault
	for i := range 100 {
		v := &vault.Vault{ID: fmt.Sprintf("K%03d", i), Status: status.Locked}
		if i < 3 {
			v.Owner = "alice"
		}
		vs = append(vs, v)
	}
	if err := m.Create(t.Context(), vs, nil); err != nil {
		t.Fatal(err)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if got := m.indexFor(vault.Filter{Status: status.Locked, Owner: "alice"}); got != m.byOwner["alice"] {
		t.Error("for Locked and alice (3 vaults) List must walk alice's index, not the 100 Locked")
	}
	if got := m.indexFor(vault.Filter{Status: status.Active, Owner: "alice"}); got != &m.byStatus[status.Active] {
		t.Error("for Active (no vaults) and alice List must walk the empty Active index")
	}
	if got := m.indexFor(vault.Filter{Owner: "bob"}); got != nil {
		t.Error("for an owner without vaults List must walk nothing")
	}
}

// TestMemoryUpdateDoesNotReindexUnchanged checks that an update which
// keeps status and owner leaves the index sets alone.
func TestMemoryUpdateDoesNotReindexUnchanged(t *testing.T) {
	m := NewMemory()
	v := &vault.Vault{ID: "K1", Status: status.Active, Owner: "alice", CreatedAt: time.Unix(0, 0)}
	if err := m.Create(t.Context(), []*vault.Vault{v}, nil); err != nil {
		t.Fatal(err)
	}
	set := m.byOwner["alice"]
	v.Description = "note"
	if err := m.Update(t.Context(), v, nil); err != nil {
		t.Fatal(err)
	}
	if m.byOwner["alice"] != set {
		t.Error("an update that keeps the owner must keep the owner's index set")
	}
	checkIndexes(t, m)
}

// TestMemoryConflictErrorBoundsID checks that the conflict error quotes
// the ID with quote, like every other error. Create and Update refuse
// malformed IDs before they reach it, so the record is planted.
func TestMemoryConflictErrorBoundsID(t *testing.T) {
	m := NewMemory()
	long := strings.Repeat("x", 1<<16)
	m.vaults[long] = &record{v: &vault.Vault{ID: long, Status: status.Ready, Version: 2}}
	err := m.Update(t.Context(), &vault.Vault{ID: long, Status: status.Ready, Version: 1}, nil)
	if !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("Update at a stale version = %v; want ErrConflict", err)
	}
	if len(err.Error()) > 300 || !strings.Contains(err.Error(), quote(long)) {
		t.Errorf("the conflict error must quote the ID as quote does, bounded; it is %d bytes: %.200s", len(err.Error()), err)
	}
}
