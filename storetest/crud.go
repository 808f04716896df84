package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// This file checks Create, Get, Update and History one call at a time,
// and that a cancelled context stops every method.

func testCreateGet(t *testing.T, s vault.Store) {
	a, b := fullVault("KEY-A"), newVault("KEY-B")
	want := []*vault.Vault{a.Clone(), b.Clone()}
	create(t, s, a, b)
	for _, w := range want {
		w.Version = 1
		if d := diff(w, get(t, s, w.ID)); d != "" {
			t.Errorf("Get(%q) must return the vault exactly as Create stored it, at Version 1 (-want +got):\n%s", w.ID, d)
		}
		if d := diff([]vault.Event{importEvent(w)}, history(t, s, w.ID)); d != "" {
			t.Errorf("History(%q) after Create must hold exactly the import event Create was given (-want +got):\n%s", w.ID, d)
		}
	}
}

func testCreateSetsVersion(t *testing.T, s vault.Store) {
	a, b, c := newVault("KEY-A"), newVault("KEY-B"), newVault("KEY-C")
	a.Version, b.Version, c.Version = 0, 1, 7
	create(t, s, a, b, c)
	for _, v := range []*vault.Vault{a, b, c} {
		if v.Version != 1 {
			t.Errorf("Create must set the caller's v.Version to 1; %q has %d", v.ID, v.Version)
		}
		if got := get(t, s, v.ID).Version; got != 1 {
			t.Errorf("Create must store every vault at Version 1, whatever the caller's Version; Get(%q).Version = %d", v.ID, got)
		}
	}
}

func testCreateIsAtomic(t *testing.T, s vault.Store) {
	ctx := t.Context()
	existing := newVault("KEY-A")
	create(t, s, existing)
	before := get(t, s, "KEY-A")

	// The clash comes last, so that a store which stores vault by vault
	// until it meets the clash has stored the others by then.
	clash := fullVault("KEY-A")
	batch := []*vault.Vault{newVault("KEY-B"), newVault("KEY-C"), clash}
	events := []vault.Event{importEvent(batch[0]), importEvent(batch[1]), importEvent(clash)}
	err := s.Create(ctx, batch, events)
	if !errors.Is(err, vault.ErrExists) {
		t.Fatalf("Create of a batch naming a stored ID must fail with ErrExists; got %v", err)
	}
	for _, id := range []string{"KEY-B", "KEY-C"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("a Create batch that fails must store none of its vaults: Get(%q) must be ErrNotFound; got %v", id, err)
		}
		if _, err := s.History(ctx, id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("a Create batch that fails must store none of its events: History(%q) must be ErrNotFound; got %v", id, err)
		}
	}
	if d := diff(before, get(t, s, "KEY-A")); d != "" {
		t.Errorf("a Create batch that fails must not change the vault it clashed with (-want +got):\n%s", d)
	}
	if d := diff([]vault.Event{importEvent(existing)}, history(t, s, "KEY-A")); d != "" {
		t.Errorf("a Create batch that fails must not add events to the vault it clashed with (-want +got):\n%s", d)
	}
	if got := ids(listAll(t, s, vault.Filter{})); len(got) != 1 {
		t.Errorf("after a failed Create batch List must show only the vault stored before; got %q", got)
	}
}

func testCreateDuplicateInBatch(t *testing.T, s vault.Store) {
	ctx := t.Context()
	first, second := newVault("KEY-B"), fullVault("KEY-B")
	batch := []*vault.Vault{first, newVault("KEY-C"), second}
	events := []vault.Event{importEvent(first), importEvent(batch[1]), importEvent(second)}
	err := s.Create(ctx, batch, events)
	if !errors.Is(err, vault.ErrExists) {
		t.Fatalf("Create of a batch naming one ID twice must fail with ErrExists; got %v", err)
	}
	for _, id := range []string{"KEY-B", "KEY-C"} {
		if _, err := s.Get(ctx, id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("a Create batch naming one ID twice must store nothing: Get(%q) must be ErrNotFound; got %v", id, err)
		}
		if _, err := s.History(ctx, id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("a Create batch naming one ID twice must store no events: History(%q) must be ErrNotFound; got %v", id, err)
		}
	}
}

func testCreateDoesNotKeepCallerMemory(t *testing.T, s vault.Store) {
	v := fullVault("KEY-A")
	events := []vault.Event{importEvent(v)}
	if err := s.Create(t.Context(), []*vault.Vault{v}, events); err != nil {
		t.Fatalf("Create of a new vault must succeed; got %v", err)
	}
	want, wantEvents := v.Clone(), []vault.Event{events[0]}

	scribble(v)
	events[0].Description = "changed by the caller after Create"
	if d := diff(want, get(t, s, "KEY-A")); d != "" {
		t.Errorf("Create must store a deep copy: changing the caller's vault afterwards changed the stored one (-want +got):\n%s", d)
	}
	if d := diff(wantEvents, history(t, s, "KEY-A")); d != "" {
		t.Errorf("Create must copy the events: changing the caller's slice afterwards changed the history (-want +got):\n%s", d)
	}
}

func testGetMissing(t *testing.T, s vault.Store) {
	if _, err := s.Get(t.Context(), "KEY-Z"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Get of a vault in an empty store must be ErrNotFound; got %v", err)
	}
	create(t, s, newVault("KEY-A"))
	if _, err := s.Get(t.Context(), "KEY-Z"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Get of a vault that was never created must be ErrNotFound; got %v", err)
	}
}

func testGetReturnsCopy(t *testing.T, s vault.Store) {
	create(t, s, fullVault("KEY-A"))
	first, second := get(t, s, "KEY-A"), get(t, s, "KEY-A")
	if first == second {
		t.Fatal("Get must return a new copy on every call; it returned the same pointer twice")
	}
	// The snapshot is taken with Clone, not read from the store: a store
	// that shares memory would change it along with the stored vault.
	want := first.Clone()
	scribble(second)
	if d := diff(want, get(t, s, "KEY-A")); d != "" {
		t.Errorf("Get must return a deep copy the caller owns: changing the returned vault changed the stored one (-want +got):\n%s", d)
	}
}

func testUpdateCompareAndSwap(t *testing.T, s vault.Store) {
	ctx := t.Context()
	create(t, s, newVault("KEY-A"))

	v := get(t, s, "KEY-A")
	before := v.Clone()
	v.Status, v.Owner, v.UpdatedAt = status.Reserved, "alice", at(2)
	v.Labels["mac"] = "00:11:22:33:44:55"
	if err := s.Update(ctx, v, []vault.Event{changeEvent(before, v)}); err != nil {
		t.Fatalf("Update at the stored version must succeed; got %v", err)
	}
	if v.Version != 2 {
		t.Fatalf("Update must set the caller's v.Version to the stored version plus one (2); got %d", v.Version)
	}
	if d := diff(v, get(t, s, "KEY-A")); d != "" {
		t.Errorf("after Update, Get must return the vault as updated, at the new version (-want +got):\n%s", d)
	}

	// The caller's copy now carries the new version: it can update again.
	before = v.Clone()
	v.Status, v.UpdatedAt = status.Active, at(3)
	if err := s.Update(ctx, v, []vault.Event{changeEvent(before, v)}); err != nil {
		t.Fatalf("a second Update with the version the first one set must succeed; got %v", err)
	}
	if v.Version != 3 {
		t.Errorf("a second Update must set v.Version to 3; got %d", v.Version)
	}
	if d := diff(v, get(t, s, "KEY-A")); d != "" {
		t.Errorf("after a second Update, Get must return it, at Version 3 (-want +got):\n%s", d)
	}
}

func testUpdateStaleVersion(t *testing.T, s vault.Store) {
	ctx := t.Context()
	create(t, s, newVault("KEY-A"))
	stale := get(t, s, "KEY-A")
	fresh, _ := change(t, s, "KEY-A", func(v *vault.Vault) { v.Description = "first writer" })
	wantHistory := history(t, s, "KEY-A")

	before := stale.Clone()
	stale.Description, stale.UpdatedAt = "second writer, stale", at(2)
	err := s.Update(ctx, stale, []vault.Event{changeEvent(before, stale)})
	if !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("Update must refuse a stale version with ErrConflict (stored 2, given 1); got %v", err)
	}
	if stale.Version != 1 {
		t.Errorf("a refused Update must leave the caller's v.Version alone (1); got %d", stale.Version)
	}
	if d := diff(fresh, get(t, s, "KEY-A")); d != "" {
		t.Errorf("a refused Update must not change the stored vault (-want +got):\n%s", d)
	}
	if d := diff(wantHistory, history(t, s, "KEY-A")); d != "" {
		t.Errorf("a refused Update must not append its events (-want +got):\n%s", d)
	}
}

func testUpdateFutureVersion(t *testing.T, s vault.Store) {
	ctx := t.Context()
	create(t, s, newVault("KEY-A"))
	want := get(t, s, "KEY-A")
	wantHistory := history(t, s, "KEY-A")

	for _, version := range []uint64{2, 3, 1 << 40} {
		v := want.Clone()
		v.Version = version
		v.Description = "from the future"
		e := changeEvent(v, v)
		if err := s.Update(ctx, v, []vault.Event{e}); !errors.Is(err, vault.ErrConflict) {
			t.Errorf("Update must refuse a version ahead of the stored one with ErrConflict (stored 1, given %d); got %v", version, err)
		}
		if v.Version != version {
			t.Errorf("a refused Update must leave the caller's v.Version alone (%d); got %d", version, v.Version)
		}
	}
	if d := diff(want, get(t, s, "KEY-A")); d != "" {
		t.Errorf("an Update refused for a future version must not change the stored vault (-want +got):\n%s", d)
	}
	if d := diff(wantHistory, history(t, s, "KEY-A")); d != "" {
		t.Errorf("an Update refused for a future version must not append its events (-want +got):\n%s", d)
	}
}

func testUpdateMissingDoesNotCreate(t *testing.T, s vault.Store) {
	ctx := t.Context()
	create(t, s, newVault("KEY-A"))
	for _, version := range []uint64{0, 1} {
		v := newVault("KEY-Z")
		v.Version = version
		err := s.Update(ctx, v, []vault.Event{changeEvent(v, v)})
		if !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("Update of a vault that does not exist must be ErrNotFound (given Version %d); got %v", version, err)
		}
	}
	if _, err := s.Get(ctx, "KEY-Z"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Update must never create a vault: Get of the missing vault must still be ErrNotFound; got %v", err)
	}
	if _, err := s.History(ctx, "KEY-Z"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Update must never create a history: History of the missing vault must still be ErrNotFound; got %v", err)
	}
	if got := ids(listAll(t, s, vault.Filter{})); len(got) != 1 || got[0] != "KEY-A" {
		t.Errorf("Update must never create a vault: List must show only KEY-A; got %q", got)
	}
}

func testUpdateAppendsEventsAtomically(t *testing.T, s vault.Store) {
	ctx := t.Context()
	a := newVault("KEY-A")
	create(t, s, a)
	want := []vault.Event{importEvent(a)}
	for i, edit := range []func(v *vault.Vault){
		func(v *vault.Vault) { v.Status, v.Owner = status.Reserved, "alice" },
		func(v *vault.Vault) { v.Status = status.Active },
		func(v *vault.Vault) { v.Accounts = append(v.Accounts, vault.Account{ID: "mail", Name: "Mail"}) },
	} {
		v, e := change(t, s, "KEY-A", edit)
		want = append(want, e)
		got := history(t, s, "KEY-A")
		if uint64(len(got)) != v.Version {
			t.Errorf("after update %d the vault is at Version %d, so History must hold %d events, one per stored change; got %d",
				i+1, v.Version, v.Version, len(got))
		}
		if d := diff(want, got); d != "" {
			t.Errorf("a successful Update must append exactly its events to History (-want +got):\n%s", d)
		}
	}

	// A refused update must append nothing.
	stale := get(t, s, "KEY-A")
	stale.Version--
	stale.Description = "stale"
	if err := s.Update(ctx, stale, []vault.Event{changeEvent(stale, stale)}); !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("Update must refuse a stale version with ErrConflict; got %v", err)
	}
	if d := diff(want, history(t, s, "KEY-A")); d != "" {
		t.Errorf("a refused Update must append none of its events (-want +got):\n%s", d)
	}
}

func testUpdateClearsFields(t *testing.T, s vault.Store) {
	ctx := t.Context()
	full := fullVault("KEY-A")
	full.Status, full.Reason = status.Locked, status.LockedByInvalidPin
	full.Labels["mac"] = "00:11:22:33:44:55"
	full.Accounts = append(full.Accounts, vault.Account{ID: "wiki", Name: "Wiki", Login: "alice.w"})
	create(t, s, full)

	// First some of each: a label and an account dropped, the code
	// replaced by one without attempts. A store that merges the given
	// values into the stored ones (upserting labels or accounts without
	// deleting the others) keeps what it should drop.
	partial, _ := change(t, s, "KEY-A", func(v *vault.Vault) {
		delete(v.Labels, "mac")
		v.Accounts = v.Accounts[:1]
		v.Activation = &vault.Activation{
			Hash:      []byte{0x0f, 0x0e, 0x0d, 0x0c},
			Salt:      []byte{0x01},
			IssuedAt:  at(1),
			ExpiresAt: at(1).Add(time.Hour),
		}
	})
	if d := diff(partial, get(t, s, "KEY-A")); d != "" {
		t.Errorf("Update must store the vault as given, not merge it into the stored one: the label and "+
			"account it dropped and the code attempts it reset must be gone (-want +got):\n%s", d)
	}

	// Then everything at once: every field back to its zero value. A
	// store that writes "the new value, or the old one when the new one is
	// empty" (an UPDATE with COALESCE, a PATCH that skips zero values)
	// keeps them all.
	sparse, _ := change(t, s, "KEY-A", func(v *vault.Vault) {
		v.Status, v.Reason = status.Ready, status.None
		v.Description, v.Owner = "", ""
		v.Labels, v.Accounts, v.Activation = nil, nil, nil
	})
	if d := diff(sparse, get(t, s, "KEY-A")); d != "" {
		t.Errorf("Update must store zero values as given: an Update that clears the reason, description, owner, "+
			"labels, accounts and activation code must clear them, not keep the stored ones (-want +got):\n%s", d)
	}
	for _, v := range listAll(t, s, vault.Filter{}) {
		if d := diff(sparse, v); d != "" {
			t.Errorf("List must return the vault as the last Update stored it, zero values included (-want +got):\n%s", d)
		}
	}
	if p, err := s.List(ctx, vault.Filter{Owner: full.Owner}); err != nil || len(p.Vaults) != 0 {
		t.Errorf("after an Update cleared the owner, List by the old owner must be empty; got %d vaults, %v", len(p.Vaults), err)
	}
}

func testUpdateDoesNotKeepCallerMemory(t *testing.T, s vault.Store) {
	create(t, s, newVault("KEY-A"))
	v := get(t, s, "KEY-A")
	full := fullVault("KEY-A")
	full.Version = v.Version
	full.UpdatedAt = at(2)
	events := []vault.Event{changeEvent(v, full)}
	if err := s.Update(t.Context(), full, events); err != nil {
		t.Fatalf("Update at the stored version must succeed; got %v", err)
	}
	want, wantEvent := full.Clone(), events[0]

	scribble(full)
	events[0].Description = "changed by the caller after Update"
	if d := diff(want, get(t, s, "KEY-A")); d != "" {
		t.Errorf("Update must store a deep copy: changing the caller's vault afterwards changed the stored one (-want +got):\n%s", d)
	}
	h := history(t, s, "KEY-A")
	if len(h) != 2 {
		t.Fatalf("after Create and one Update History must hold 2 events; got %d", len(h))
	}
	if d := diff(wantEvent, h[1]); d != "" {
		t.Errorf("Update must copy the events: changing the caller's slice afterwards changed the history (-want +got):\n%s", d)
	}
}

func testHistoryOrderAndCompleteness(t *testing.T, s vault.Store) {
	a, b := newVault("KEY-A"), newVault("KEY-B")
	create(t, s, a, b)
	want := map[string][]vault.Event{"KEY-A": {importEvent(a)}, "KEY-B": {importEvent(b)}}

	// Interleave the two vaults' changes, so that a store which keeps one
	// history for all vaults, or orders by time of arrival across
	// vaults, shows it.
	steps := []struct {
		id   string
		edit func(v *vault.Vault)
	}{
		{"KEY-A", func(v *vault.Vault) { v.Status, v.Owner = status.Reserved, "alice" }},
		{"KEY-B", func(v *vault.Vault) { v.Status, v.Owner = status.Reserved, "bob" }},
		{"KEY-A", func(v *vault.Vault) { v.Status = status.Active }},
		{"KEY-A", func(v *vault.Vault) { v.Status, v.Reason = status.Locked, status.LockedByInvalidPin }},
		{"KEY-B", func(v *vault.Vault) { v.Status, v.Owner = status.Ready, "" }},
		{"KEY-A", func(v *vault.Vault) { v.Status, v.Reason = status.Suspended, status.None }},
		{"KEY-A", func(v *vault.Vault) { v.Status = status.Active }},
	}
	for _, st := range steps {
		_, e := change(t, s, st.id, st.edit)
		want[st.id] = append(want[st.id], e)
	}

	for _, id := range []string{"KEY-A", "KEY-B"} {
		got := history(t, s, id)
		if d := diff(want[id], got); d != "" {
			t.Errorf("History(%q) must return every event of the vault, as given, in version order, and no other vault's (-want +got):\n%s", id, d)
		}
		for i, e := range got {
			if e.Version != uint64(i+1) {
				t.Errorf("History(%q) must run through versions 1..n without gaps; event %d has Version %d", id, i, e.Version)
				break
			}
		}
	}
}

func testHistoryReturnsCopy(t *testing.T, s vault.Store) {
	create(t, s, newVault("KEY-A"))
	change(t, s, "KEY-A", func(v *vault.Vault) { v.Description = "note" })
	want := slices.Clone(history(t, s, "KEY-A"))

	got := history(t, s, "KEY-A")
	for i := range got {
		got[i].Description = "changed by the caller"
		got[i].Version += 100
	}
	if d := diff(want, history(t, s, "KEY-A")); d != "" {
		t.Errorf("History must return a copy the caller owns: changing the returned events changed the stored ones (-want +got):\n%s", d)
	}
}

func testHistoryMissing(t *testing.T, s vault.Store) {
	if _, err := s.History(t.Context(), "KEY-Z"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("History of a vault in an empty store must be ErrNotFound; got %v", err)
	}
	create(t, s, newVault("KEY-A"))
	if _, err := s.History(t.Context(), "KEY-Z"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("History of a vault that was never created must be ErrNotFound; got %v", err)
	}
}

func testCancelledContext(t *testing.T, s vault.Store) {
	a := newVault("KEY-A")
	create(t, s, a)
	want := get(t, s, "KEY-A")
	wantHistory := history(t, s, "KEY-A")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	b := newVault("KEY-B")
	if err := s.Create(ctx, []*vault.Vault{b}, []vault.Event{importEvent(b)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Create with a cancelled context must fail with an error matching context.Canceled; got %v", err)
	}
	if _, err := s.Get(t.Context(), "KEY-B"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("Create with a cancelled context must store nothing: Get must be ErrNotFound; got %v", err)
	}

	if _, err := s.Get(ctx, "KEY-A"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get with a cancelled context must fail with an error matching context.Canceled; got %v", err)
	}

	v := want.Clone()
	v.Description, v.UpdatedAt = "cancelled", at(2)
	if err := s.Update(ctx, v, []vault.Event{changeEvent(want, v)}); !errors.Is(err, context.Canceled) {
		t.Errorf("Update with a cancelled context must fail with an error matching context.Canceled; got %v", err)
	}
	if v.Version != want.Version {
		t.Errorf("Update with a cancelled context must leave the caller's v.Version alone (%d); got %d", want.Version, v.Version)
	}
	if d := diff(want, get(t, s, "KEY-A")); d != "" {
		t.Errorf("Update with a cancelled context must not change the stored vault (-want +got):\n%s", d)
	}
	if d := diff(wantHistory, history(t, s, "KEY-A")); d != "" {
		t.Errorf("Update with a cancelled context must not append its events (-want +got):\n%s", d)
	}

	if _, err := s.List(ctx, vault.Filter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a cancelled context must fail with an error matching context.Canceled; got %v", err)
	}
	if _, err := s.History(ctx, "KEY-A"); !errors.Is(err, context.Canceled) {
		t.Errorf("History with a cancelled context must fail with an error matching context.Canceled; got %v", err)
	}
}

// scribble changes every part of v a store could share with its caller:
// plain fields, the labels map, the accounts slice, the activation and
// its byte slices.
func scribble(v *vault.Vault) {
	v.Status = status.Compromised
	v.Description = "changed by the caller"
	v.Owner = "mallory"
	v.Labels["model"] = "changed by the caller"
	v.Labels["added"] = "by the caller"
	if len(v.Accounts) > 0 {
		v.Accounts[0].Name = "changed by the caller"
		v.Accounts[0].Pending = !v.Accounts[0].Pending
	}
	if a := v.Activation; a != nil {
		for i := range a.Hash {
			a.Hash[i] ^= 0xff
		}
		for i := range a.Salt {
			a.Salt[i] ^= 0xff
		}
		a.Attempts = 99
		a.ExpiresAt = a.ExpiresAt.Add(time.Hour)
	}
}
