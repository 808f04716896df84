package storetest

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// This file checks List: order, filters, pagination, limits, refusals
// and copies. The filter tests keep a model of the fleet (what the store
// should hold) and compare List against it, before and after updates
// that move vaults between statuses and owners.

// fleet is the suite's model of what a store holds, by ID.
type fleet map[string]*vault.Vault

// newFleet creates n vaults whose status and owner pick sets, and returns
// the model of the store afterwards. The vaults are created in an order
// other than their IDs', so that a store which lists in insertion order
// shows it.
func newFleet(t *testing.T, s vault.Store, n int, pick func(i int) (status.Status, string)) fleet {
	t.Helper()
	vaults := make([]*vault.Vault, n)
	for i := range n {
		st, owner := pick(i)
		vaults[i] = withStatus(newVault(keyID(i)), st, owner)
	}
	scrambled := scramble(vaults)
	create(t, s, scrambled...)
	f := make(fleet, n)
	for _, v := range vaults {
		f[v.ID] = v
	}
	return f
}

// scramble returns vs in a fixed order unrelated to their IDs: the odd
// positions backwards, then the even ones.
func scramble[T any](vs []T) []T {
	out := make([]T, 0, len(vs))
	for i := len(vs) - 1; i >= 0; i-- {
		if i%2 == 1 {
			out = append(out, vs[i])
		}
	}
	for i := 0; i < len(vs); i += 2 {
		out = append(out, vs[i])
	}
	return out
}

// change updates vault id in the store and in the model.
func (f fleet) change(t *testing.T, s vault.Store, id string, edit func(v *vault.Vault)) {
	t.Helper()
	f[id], _ = change(t, s, id, edit)
}

// want returns the model's vaults that match filter's status and owner,
// ordered by ID.
func (f fleet) want(filter vault.Filter) []*vault.Vault {
	var out []*vault.Vault
	for _, v := range f {
		if filter.Matches(v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, func(a, b *vault.Vault) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// check lists every page of filter, both in one page and three vaults at
// a time, and compares the vaults with the model's. contract says what
// the filter promises, for the failure message.
func (f fleet) check(t *testing.T, s vault.Store, filter vault.Filter, contract string) {
	t.Helper()
	want := f.want(filter)
	for _, limit := range []int{vault.MaxLimit, 3} {
		filter.Limit = limit
		got := listAll(t, s, filter)
		if d := diff(ids(want), ids(got)); d != "" {
			t.Errorf("%s must return %s, ordered by ID (-want +got IDs):\n%s", describe(filter), contract, d)
			continue
		}
		if d := diff(want, got); d != "" {
			t.Errorf("%s must return the vaults as stored (-want +got):\n%s", describe(filter), d)
		}
	}
}

// describe prints the filter fields a test set, for failure messages.
func describe(f vault.Filter) string {
	var parts []string
	if f.Status != 0 {
		parts = append(parts, "Status: "+f.Status.String())
	}
	if f.Owner != "" {
		parts = append(parts, fmt.Sprintf("Owner: %q", f.Owner))
	}
	if f.After != "" {
		parts = append(parts, fmt.Sprintf("After: %q", f.After))
	}
	if f.Limit != 0 {
		parts = append(parts, fmt.Sprintf("Limit: %d", f.Limit))
	}
	return "List(" + strings.Join(parts, ", ") + ")"
}

// owners are the owners the filter tests hand vaults to.
var owners = []string{"alice@example.com", "bob", "carol.w"}

// mixed picks, for vault i, one of the seven statuses and one of the
// owners or none, in combinations that cover every status-owner pair
// over 7*4 = 28 vaults.
func mixed(i int) (status.Status, string) {
	st := status.Statuses()[i%7]
	if o := (i / 7) % 4; o < len(owners) {
		return st, owners[o]
	}
	return st, ""
}

// moves changes vaults' statuses and owners after the fleet is created,
// so that a store whose indexes go stale shows it: out of a status, into
// a status, from one owner to another, to no owner, from no owner.
func moves(t *testing.T, s vault.Store, f fleet) {
	t.Helper()
	// See mixed: vault i is in status i%7 and, for i < 21, issued to
	// owners[i/7].
	edits := []struct {
		i    int
		edit func(v *vault.Vault)
	}{
		{1, func(v *vault.Vault) { v.Status = status.Locked }},                      // Reserved -> Locked
		{3, func(v *vault.Vault) { v.Status = status.Suspended }},                   // Locked -> Suspended
		{10, func(v *vault.Vault) { v.Status = status.Active }},                     // Locked -> Active
		{8, func(v *vault.Vault) { v.Owner = owners[2] }},                           // bob -> carol
		{9, func(v *vault.Vault) { v.Owner = "" }},                                  // bob -> nobody
		{22, func(v *vault.Vault) { v.Owner = owners[2] }},                          // nobody -> carol
		{23, func(v *vault.Vault) { v.Status, v.Owner = status.Locked, owners[1] }}, // Active, nobody -> Locked, bob
	}
	for _, e := range edits {
		f.change(t, s, keyID(e.i), e.edit)
	}
	// Alice gives back every vault she held: her owner set empties.
	for i := range 7 {
		f.change(t, s, keyID(i), func(v *vault.Vault) { v.Owner = owners[1] })
	}
}

func testListOrderedByID(t *testing.T, s vault.Store) {
	// Every kind of byte an ID may hold, in an order that is not theirs.
	// Bytewise: '-' < '.' < digits < ':' < upper case < '_' < lower case.
	order := []string{"b", "a_1", "Z9", "KEY-9", "a:1", "KEY-10", "0.0", "A-1", "a-1", "a.1", "_", "-", "KEY-1", "z"}
	var first, second []*vault.Vault
	for i, id := range order {
		if i%2 == 0 {
			first = append(first, newVault(id))
		} else {
			second = append(second, newVault(id))
		}
	}
	create(t, s, first...)
	create(t, s, second...)

	want := slices.Sorted(slices.Values(order))
	got := listAll(t, s, vault.Filter{})
	if d := diff(want, ids(got)); d != "" {
		t.Errorf("List must return every vault ordered by ID, bytewise as Go compares strings (-want +got):\n%s", d)
	}
	got = listAll(t, s, vault.Filter{Limit: 4})
	if d := diff(want, ids(got)); d != "" {
		t.Errorf("List pages of 4 must together return every vault ordered by ID, bytewise as Go compares strings (-want +got):\n%s", d)
	}
}

func testListFilterStatus(t *testing.T, s vault.Store) {
	f := newFleet(t, s, 28, mixed)
	checkStatuses := func(when string) {
		t.Helper()
		for _, st := range status.Statuses() {
			f.check(t, s, vault.Filter{Status: st}, "exactly the vaults in status "+st.String()+when)
		}
		f.check(t, s, vault.Filter{}, "every vault"+when)
	}
	checkStatuses("")
	moves(t, s, f)
	checkStatuses(", as their updates left them")
}

func testListFilterOwner(t *testing.T, s vault.Store) {
	f := newFleet(t, s, 28, mixed)
	checkOwners := func(when string) {
		t.Helper()
		for _, o := range append(owners, "nobody") {
			f.check(t, s, vault.Filter{Owner: o}, fmt.Sprintf("exactly the vaults issued to %q%s", o, when))
		}
	}
	checkOwners("")
	moves(t, s, f)
	checkOwners(", as their updates left them")
}

func testListFilterStatusAndOwner(t *testing.T, s vault.Store) {
	f := newFleet(t, s, 28, mixed)
	checkBoth := func(when string) {
		t.Helper()
		for _, st := range status.Statuses() {
			for _, o := range append(owners, "nobody") {
				f.check(t, s, vault.Filter{Status: st, Owner: o},
					fmt.Sprintf("exactly the vaults in status %v issued to %q%s", st, o, when))
			}
		}
	}
	checkBoth("")
	moves(t, s, f)
	checkBoth(", as their updates left them")
}

func testListPaginationNoOverlapNoSkip(t *testing.T, s vault.Store) {
	const n = 24
	f := newFleet(t, s, n, func(i int) (status.Status, string) {
		if i%3 == 0 {
			return status.Locked, "alice"
		}
		return status.Active, "bob"
	})
	cases := []vault.Filter{
		{Limit: 1}, {Limit: 4}, {Limit: 5}, {Limit: 7}, {Limit: n}, {Limit: n + 1},
		{Status: status.Locked, Limit: 1}, {Status: status.Locked, Limit: 3}, {Status: status.Locked, Limit: 8},
		{Status: status.Active, Limit: 5}, {Owner: "bob", Limit: 4}, {Owner: "alice", Status: status.Locked, Limit: 3},
		{After: keyID(4) + "x", Limit: 5}, // a cursor between two IDs
		{After: keyID(4), Limit: 5},       // a cursor that is an ID
		{After: "ZZZ", Limit: 5},          // a cursor after every ID
	}
	for _, filter := range cases {
		var want []string
		for _, v := range f.want(filter) {
			if v.ID > filter.After {
				want = append(want, v.ID)
			}
		}
		got := paginate(t, s, filter)
		if d := diff(want, got); d != "" {
			t.Errorf("the pages of %s must together return every matching vault after the cursor once, in ID order, with no overlap and no gap (-want +got):\n%s",
				describe(filter), d)
		}
	}
}

// paginate walks the pages of filter like listAll, and checks what only
// page boundaries show: each page starts after the previous one ends, and
// a page's Next is "" when no matching vault follows it, rather than
// pointing at an empty page.
func paginate(t *testing.T, s vault.Store, filter vault.Filter) []string {
	t.Helper()
	what := describe(filter) // the first page's filter
	var all []string
	for page := 1; page <= 1000; page++ {
		p, err := s.List(t.Context(), filter)
		if err != nil {
			t.Fatalf("%s page %d (After %q) must succeed; got %v", what, page, filter.After, err)
		}
		if len(p.Vaults) > filter.PageSize() {
			t.Errorf("%s must return at most %d vaults a page; page %d has %d", what, filter.PageSize(), page, len(p.Vaults))
		}
		if page > 1 && len(p.Vaults) == 0 {
			t.Errorf("%s: page %d (After %q) is empty, so page %d's Next must have been \"\": no matching vault followed it",
				what, page, filter.After, page-1)
		}
		for _, v := range p.Vaults {
			if v == nil {
				t.Fatalf("%s: page %d holds a nil vault", what, page)
			}
			if len(all) > 0 && v.ID <= all[len(all)-1] {
				t.Errorf("%s: page %d returns %q after %q: pages must not overlap or go back",
					what, page, v.ID, all[len(all)-1])
			}
			all = append(all, v.ID)
		}
		if p.Next == "" {
			return all
		}
		if p.Next <= filter.After {
			t.Fatalf("%s: page %d's Next %q does not move past its cursor %q", what, page, p.Next, filter.After)
		}
		filter.After = p.Next
	}
	t.Fatalf("%s: pages never ended (Next was never \"\")", what)
	return nil
}

func testListLimitDefaultAndClamp(t *testing.T, s vault.Store) {
	const n = vault.MaxLimit + 1
	vaults := make([]*vault.Vault, n)
	want := make([]string, n)
	for i := range n {
		vaults[i] = newVault(keyID(i))
		want[i] = keyID(i)
	}
	create(t, s, vaults...)

	for _, c := range []struct {
		limit, size int
		contract    string
	}{
		{0, vault.DefaultLimit, "Limit 0 must return DefaultLimit (100) vaults"},
		{vault.MaxLimit, vault.MaxLimit, "Limit 1000 must return 1000 vaults"},
		{vault.MaxLimit + 1, vault.MaxLimit, "a Limit above MaxLimit must be clamped to 1000 vaults"},
		{math.MaxInt, vault.MaxLimit, "a Limit of MaxInt must be clamped to 1000 vaults"},
	} {
		p, err := s.List(t.Context(), vault.Filter{Limit: c.limit})
		if err != nil {
			t.Errorf("List(Limit %d) must succeed; got %v", c.limit, err)
			continue
		}
		if d := diff(want[:c.size], ids(p.Vaults)); d != "" {
			t.Errorf("List among %d vaults: %s, the first ones by ID (-want +got IDs):\n%s", n, c.contract, d)
		}
		if p.Next == "" {
			t.Errorf("List(Limit %d) among %d vaults returned %d and Next \"\"; Next must lead to the rest", c.limit, n, len(p.Vaults))
			continue
		}
		rest := paginate(t, s, vault.Filter{Limit: vault.MaxLimit, After: p.Next})
		if d := diff(want[len(p.Vaults):], rest); d != "" {
			t.Errorf("List(Limit %d): the pages after Next must return the rest (-want +got IDs):\n%s", c.limit, d)
		}
	}
}

func testListNegativeLimit(t *testing.T, s vault.Store) {
	create(t, s, newVault("KEY-A"))
	for _, limit := range []int{-1, -vault.DefaultLimit, math.MinInt} {
		if _, err := s.List(t.Context(), vault.Filter{Limit: limit}); !errors.Is(err, vault.ErrInvalidArgument) {
			t.Errorf("List with a negative Limit (%d) must fail with ErrInvalidArgument; got %v", limit, err)
		}
	}
}

func testListInvalidFilter(t *testing.T, s vault.Store) {
	create(t, s, newVault("KEY-A"))
	for _, c := range []struct {
		f    vault.Filter
		what string
	}{
		{vault.Filter{Status: status.Status(99)}, "an unknown status"},
		{vault.Filter{Owner: "bad\x00owner"}, "an owner with a control character"},
		{vault.Filter{Owner: strings.Repeat("o", 257)}, "an owner longer than 256 bytes"},
		{vault.Filter{After: "not an id!"}, "a cursor that is not a well-formed ID"},
		{vault.Filter{After: strings.Repeat("K", 65)}, "a cursor longer than an ID"},
	} {
		if _, err := s.List(t.Context(), c.f); !errors.Is(err, vault.ErrInvalidArgument) {
			t.Errorf("List with %s must fail with ErrInvalidArgument (Filter.Validate); got %v", c.what, err)
		}
	}
}

func testListReturnsCopies(t *testing.T, s vault.Store) {
	create(t, s, fullVault("KEY-A"), fullVault("KEY-B"), fullVault("KEY-C"))
	var want []*vault.Vault // deep snapshots, unaffected by memory the store may share
	for _, v := range listAll(t, s, vault.Filter{}) {
		want = append(want, v.Clone())
	}
	got := listAll(t, s, vault.Filter{})
	for _, v := range got {
		scribble(v)
	}
	if d := diff(want, listAll(t, s, vault.Filter{})); d != "" {
		t.Errorf("List must return deep copies the caller owns: changing the listed vaults changed the stored ones (-want +got):\n%s", d)
	}
	for _, w := range want {
		if d := diff(w, get(t, s, w.ID)); d != "" {
			t.Errorf("List must return deep copies the caller owns: changing a listed vault changed what Get(%q) returns (-want +got):\n%s", w.ID, d)
		}
	}
}
