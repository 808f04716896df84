package storetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// Run checks that the stores newStore returns keep the [vault.Store]
// contract. It runs one subtest per behaviour and calls newStore once per
// subtest, with the subtest's t, so every subtest starts from a fresh,
// empty store; newStore may register cleanups on that t.
//
// Typical usage, in the store's own package:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) vault.Store {
//			s, err := mystore.Open(t.Context(), testDSN(t)) // an empty database
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Subtests run one after the other, never in parallel with each other, so
// newStore may reuse one database that it empties each time. The suite
// builds vaults with times of microsecond precision and compares times as
// instants, to the microsecond; it treats a nil map or slice and an empty
// one as equal. Those are the only liberties it allows a store that
// round-trips vaults through a database. IDs are ordered bytewise, as Go
// compares strings (a database needs a binary collation such as
// COLLATE "C"), because List's cursor compares IDs that way.
//
// ConcurrentUpdatesOneVault, ConcurrentCreateSameID and ConcurrentMixed
// call the store from many goroutines at once; run the suite with -race
// so that the race detector watches them too.
func Run(t *testing.T, newStore func(t *testing.T) vault.Store) {
	t.Helper()
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			if s == nil {
				t.Fatal("newStore returned a nil vault.Store")
			}
			c.test(t, s)
		})
	}
}

// suite lists the behaviours Run checks, in the order it checks them. The
// names are stable: hosts may refer to them in -run patterns.
var suite = []struct {
	name string
	test func(t *testing.T, s vault.Store)
}{
	{"CreateGet", testCreateGet},
	{"CreateSetsVersion", testCreateSetsVersion},
	{"CreateIsAtomic", testCreateIsAtomic},
	{"CreateDuplicateInBatch", testCreateDuplicateInBatch},
	{"CreateDoesNotKeepCallerMemory", testCreateDoesNotKeepCallerMemory},
	{"GetMissing", testGetMissing},
	{"GetReturnsCopy", testGetReturnsCopy},
	{"UpdateCompareAndSwap", testUpdateCompareAndSwap},
	{"UpdateStaleVersion", testUpdateStaleVersion},
	{"UpdateFutureVersion", testUpdateFutureVersion},
	{"UpdateMissingDoesNotCreate", testUpdateMissingDoesNotCreate},
	{"UpdateAppendsEventsAtomically", testUpdateAppendsEventsAtomically},
	{"UpdateClearsFields", testUpdateClearsFields},
	{"UpdateDoesNotKeepCallerMemory", testUpdateDoesNotKeepCallerMemory},
	{"HistoryOrderAndCompleteness", testHistoryOrderAndCompleteness},
	{"HistoryReturnsCopy", testHistoryReturnsCopy},
	{"HistoryMissing", testHistoryMissing},
	{"ListOrderedByID", testListOrderedByID},
	{"ListFilterStatus", testListFilterStatus},
	{"ListFilterOwner", testListFilterOwner},
	{"ListFilterStatusAndOwner", testListFilterStatusAndOwner},
	{"ListPaginationNoOverlapNoSkip", testListPaginationNoOverlapNoSkip},
	{"ListLimitDefaultAndClamp", testListLimitDefaultAndClamp},
	{"ListNegativeLimit", testListNegativeLimit},
	{"ListInvalidFilter", testListInvalidFilter},
	{"ListReturnsCopies", testListReturnsCopies},
	{"CancelledContext", testCancelledContext},
	{"ConcurrentUpdatesOneVault", testConcurrentUpdatesOneVault},
	{"ConcurrentCreateSameID", testConcurrentCreateSameID},
	{"ConcurrentMixed", testConcurrentMixed},
}

// compareOpts are the liberties a store may take when it round-trips a
// vault or an event: times kept to the microsecond (as in PostgreSQL) and
// in any location, and nil maps and slices read back as empty ones or the
// other way round.
var compareOpts = []cmp.Option{
	cmpopts.EquateApproxTime(time.Microsecond),
	cmpopts.EquateEmpty(),
}

// diff returns "" when want and got are equal under compareOpts, and a
// (-want +got) report otherwise. Lists of IDs, which can be long, are
// compared directly first: go-cmp is thorough, not fast.
func diff(want, got any) string {
	if w, ok := want.([]string); ok {
		if g, ok := got.([]string); ok && slices.Equal(w, g) {
			return ""
		}
	}
	return cmp.Diff(want, got, compareOpts...)
}

// epoch is the base of every time in the suite. It has microseconds but
// no nanoseconds, so a database that keeps microseconds keeps it exactly.
var epoch = time.Date(2025, time.March, 4, 5, 6, 7, 123456000, time.UTC)

// at returns the suite's time for a vault version: one minute per version.
func at(version uint64) time.Time { return epoch.Add(time.Duration(version) * time.Minute) }

// newVault returns a freshly imported vault: Ready, no owner, two labels.
func newVault(id string) *vault.Vault {
	return &vault.Vault{
		ID:        id,
		Labels:    map[string]string{"model": "YubiKey 5 NFC", "rfid": "04:A2:" + id},
		Status:    status.Ready,
		CreatedAt: at(0),
		UpdatedAt: at(0),
	}
}

// fullVault returns a vault with every field set, the memory a store must
// copy: labels, accounts and a pending activation code.
func fullVault(id string) *vault.Vault {
	v := newVault(id)
	v.Status = status.Suspended
	v.Description = "holder on vacation"
	v.Owner = "alice@example.com"
	v.Accounts = []vault.Account{
		{ID: "mail", Name: "Mail", Login: "alice"},
		{ID: "vpn", Name: "VPN", Login: "alice.vpn", Pending: true},
	}
	v.Activation = &vault.Activation{
		Hash:      []byte{0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04},
		Salt:      []byte{0x10, 0x20, 0x30, 0x40},
		IssuedAt:  at(0),
		ExpiresAt: at(0).Add(72 * time.Hour),
		Attempts:  1,
	}
	return v
}

// withStatus returns v after setting its status and owner.
func withStatus(v *vault.Vault, s status.Status, owner string) *vault.Vault {
	v.Status, v.Owner = s, owner
	return v
}

// importEvent is the event the Service stores with a new vault.
func importEvent(v *vault.Vault) vault.Event {
	return vault.Event{
		VaultID: v.ID,
		Version: 1,
		Action:  vault.ActionImport,
		From:    v.Status,
		To:      v.Status,
		Actor:   "storetest",
		Time:    v.CreatedAt,
	}
}

// changeEvent is the event the Service stores with the change from
// before to after: its Version is the version the change produces.
func changeEvent(before, after *vault.Vault) vault.Event {
	e := vault.Event{
		VaultID:     after.ID,
		Version:     before.Version + 1,
		Action:      vault.ActionAccountUpdated,
		From:        before.Status,
		To:          after.Status,
		Reason:      after.Reason,
		Description: after.Description,
		Actor:       "storetest",
		Time:        after.UpdatedAt,
	}
	if before.Status != after.Status {
		e.Action = vault.ActionTransition
		for _, tr := range status.Transitions() {
			if tr.From == before.Status && tr.To == after.Status {
				e.Trigger = tr.Trigger
				break
			}
		}
	}
	return e
}

// create stores vaults with their import events, setting each Version to
// 1, and stops the test if the store refuses.
func create(t *testing.T, s vault.Store, vaults ...*vault.Vault) {
	t.Helper()
	events := make([]vault.Event, len(vaults))
	for i, v := range vaults {
		events[i] = importEvent(v)
	}
	if err := s.Create(t.Context(), vaults, events); err != nil {
		t.Fatalf("Create of %d new vaults must succeed; got %v", len(vaults), err)
	}
}

// get returns the stored vault and stops the test if the store fails.
func get(t *testing.T, s vault.Store, id string) *vault.Vault {
	t.Helper()
	v, err := s.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%q) of a stored vault must succeed; got %v", id, err)
	}
	if v == nil {
		t.Fatalf("Get(%q) returned a nil vault and no error", id)
	}
	return v
}

// history returns the vault's history and stops the test if the store
// fails.
func history(t *testing.T, s vault.Store, id string) []vault.Event {
	t.Helper()
	h, err := s.History(t.Context(), id)
	if err != nil {
		t.Fatalf("History(%q) of a stored vault must succeed; got %v", id, err)
	}
	return h
}

// change reads vault id, applies edit, and stores the result with one
// event, as the Service does; it stops the test if the store refuses.
// It returns the vault as stored (the caller's copy, at its new version)
// and the event.
func change(t *testing.T, s vault.Store, id string, edit func(v *vault.Vault)) (*vault.Vault, vault.Event) {
	t.Helper()
	before := get(t, s, id)
	after := before.Clone()
	edit(after)
	after.UpdatedAt = at(before.Version + 1)
	e := changeEvent(before, after)
	if err := s.Update(t.Context(), after, []vault.Event{e}); err != nil {
		t.Fatalf("Update(%q) at the stored version %d must succeed; got %v", id, before.Version, err)
	}
	if after.Version != before.Version+1 {
		t.Fatalf("Update(%q) must set the caller's v.Version to %d, the stored version plus one; got %d",
			id, before.Version+1, after.Version)
	}
	return after, e
}

// listAll walks every page of f (whose Limit sets the page size) and
// returns the vaults in the order the pages gave them. It stops the test
// when a page is refused, is larger than the limit, or when the pages
// never end.
func listAll(t *testing.T, s vault.Store, f vault.Filter) []*vault.Vault {
	t.Helper()
	what := describe(f) // the first page's filter
	var all []*vault.Vault
	for range 10_000 {
		p, err := s.List(t.Context(), f)
		if err != nil {
			t.Fatalf("%s (After %q) must succeed; got %v", what, f.After, err)
		}
		if len(p.Vaults) > f.PageSize() {
			t.Fatalf("%s must return at most %d vaults a page; got %d", what, f.PageSize(), len(p.Vaults))
		}
		for _, v := range p.Vaults {
			if v == nil {
				t.Fatalf("%s returned a nil vault in its page", what)
			}
		}
		all = append(all, p.Vaults...)
		if p.Next == "" {
			return all
		}
		if p.Next == f.After {
			t.Fatalf("%s returned Next = After = %q: the next page would repeat this one forever", what, p.Next)
		}
		f.After = p.Next
	}
	t.Fatalf("%s: pages never ended (Next was never \"\")", what)
	return nil
}

// ids returns the IDs of vaults, in order.
func ids(vaults []*vault.Vault) []string {
	out := make([]string, len(vaults))
	for i, v := range vaults {
		out[i] = v.ID
	}
	return out
}

// keyID returns the suite's i-th vault ID. IDs sort in the order of i.
func keyID(i int) string { return fmt.Sprintf("KEY-%05d", i) }
