package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/storetest"
	"github.com/hwvault/hwvault/vault"
)

// TestMemory runs the conformance suite first: everything below is what
// the contract leaves to Memory.
func TestMemory(t *testing.T) {
	storetest.Run(t, func(*testing.T) vault.Store { return store.NewMemory() })
}

func ready(id string) *vault.Vault { return &vault.Vault{ID: id, Status: status.Ready} }

func importOf(v *vault.Vault) vault.Event {
	return vault.Event{VaultID: v.ID, Version: 1, Action: vault.ActionImport, From: v.Status, To: v.Status}
}

func TestMemoryCreateRefusesInvalidInput(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		what   string
		vaults []*vault.Vault
		events []vault.Event
	}{
		{"a nil vault", []*vault.Vault{ready("K1"), nil}, nil},
		{"a malformed ID", []*vault.Vault{ready("K1"), ready("not an id")}, nil},
		{"an empty ID", []*vault.Vault{ready("")}, nil},
		{"an invalid status", []*vault.Vault{ready("K1"), {ID: "K2"}}, nil},
		{"an event for a vault outside the batch", []*vault.Vault{ready("K1")}, []vault.Event{importOf(ready("K9"))}},
	} {
		m := store.NewMemory()
		err := m.Create(ctx, c.vaults, c.events)
		if !errors.Is(err, vault.ErrInvalidArgument) {
			t.Errorf("Create with %s must fail with ErrInvalidArgument; got %v", c.what, err)
		}
		if m.Len() != 0 {
			t.Errorf("Create with %s must store nothing; it stored %d vaults", c.what, m.Len())
		}
	}
}

func TestMemoryCreateEmptyBatch(t *testing.T) {
	m := store.NewMemory()
	if err := m.Create(t.Context(), nil, nil); err != nil {
		t.Errorf("Create of an empty batch must do nothing and succeed; got %v", err)
	}
	if m.Len() != 0 {
		t.Errorf("Create of an empty batch stored %d vaults", m.Len())
	}
}

func TestMemoryUpdateRefusesInvalidInput(t *testing.T) {
	ctx := t.Context()
	m := store.NewMemory()
	if err := m.Create(ctx, []*vault.Vault{ready("K1")}, []vault.Event{importOf(ready("K1"))}); err != nil {
		t.Fatal(err)
	}
	v, err := m.Get(ctx, "K1")
	if err != nil {
		t.Fatal(err)
	}

	if err := m.Update(ctx, nil, nil); !errors.Is(err, vault.ErrInvalidArgument) {
		t.Errorf("Update of a nil vault must fail with ErrInvalidArgument; got %v", err)
	}
	bad := v.Clone()
	bad.Status = 0
	if err := m.Update(ctx, bad, nil); !errors.Is(err, vault.ErrInvalidArgument) {
		t.Errorf("Update to an invalid status must fail with ErrInvalidArgument; got %v", err)
	}
	other := v.Clone()
	if err := m.Update(ctx, other, []vault.Event{{VaultID: "K2", Version: 2}}); !errors.Is(err, vault.ErrInvalidArgument) {
		t.Errorf("Update with another vault's event must fail with ErrInvalidArgument; got %v", err)
	}
	if got, _ := m.Get(ctx, "K1"); got.Version != 1 {
		t.Errorf("refused Updates must change nothing; K1 is at Version %d", got.Version)
	}
	if h, _ := m.History(ctx, "K1"); len(h) != 1 {
		t.Errorf("refused Updates must append nothing; K1 has %d events", len(h))
	}
}

// TestMemoryErrorsNameTheVault checks that every error about one vault
// says which.
func TestMemoryErrorsNameTheVault(t *testing.T) {
	ctx := t.Context()
	m := store.NewMemory()
	if err := m.Create(ctx, []*vault.Vault{ready("KEY-1")}, nil); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	stale := ready("KEY-1")
	stale.Version = 7

	_, getErr := m.Get(ctx, "KEY-404")
	_, historyErr := m.History(ctx, "KEY-404")
	_, cancelledErr := m.Get(cancelled, "KEY-5")
	for _, c := range []struct {
		err error
		id  string
	}{
		{m.Create(ctx, []*vault.Vault{ready("KEY-1")}, nil), "KEY-1"},
		{m.Create(ctx, []*vault.Vault{ready("KEY-2"), ready("KEY-2")}, nil), "KEY-2"},
		{m.Create(ctx, []*vault.Vault{ready("bad id")}, nil), "bad id"},
		{getErr, "KEY-404"},
		{historyErr, "KEY-404"},
		{m.Update(ctx, ready("KEY-404"), nil), "KEY-404"},
		{m.Update(ctx, stale, nil), "KEY-1"},
		{cancelledErr, "KEY-5"},
	} {
		if c.err == nil {
			t.Errorf("expected an error about %q, got nil", c.id)
			continue
		}
		if !strings.Contains(c.err.Error(), `"`+c.id+`"`) {
			t.Errorf("error %q must name the vault %q", c.err, c.id)
		}
	}
}

func TestMemoryErrorBoundsLongIDs(t *testing.T) {
	_, err := store.NewMemory().Get(t.Context(), strings.Repeat("x", 1<<20))
	if !errors.Is(err, vault.ErrNotFound) {
		t.Fatalf("Get of an unknown ID must be ErrNotFound; got %v", err)
	}
	if len(err.Error()) > 300 {
		t.Errorf("an error about an oversized ID must quote a bounded part of it; it is %d bytes", len(err.Error()))
	}
}

func TestMemoryLen(t *testing.T) {
	m := store.NewMemory()
	if err := m.Create(t.Context(), []*vault.Vault{ready("K1"), ready("K2")}, nil); err != nil {
		t.Fatal(err)
	}
	if m.Len() != 2 {
		t.Errorf("Len() = %d after creating 2 vaults", m.Len())
	}
}

// TestMemoryListEmptyPageIsNotNil checks that every empty page is an
// empty slice, whichever index List walked: an empty store, a status no
// vault has, an owner no vault has, and a cursor past the last ID.
func TestMemoryListEmptyPageIsNotNil(t *testing.T) {
	ctx := t.Context()
	m := store.NewMemory()
	check := func(what string, f vault.Filter) {
		t.Helper()
		p, err := m.List(ctx, f)
		if err != nil {
			t.Fatalf("List %s: %v", what, err)
		}
		if p.Vaults == nil || len(p.Vaults) != 0 || p.Next != "" {
			t.Errorf("List %s = %#v, Next %q; want a non-nil empty slice and no cursor", what, p.Vaults, p.Next)
		}
	}
	check("of an empty store", vault.Filter{})
	check("of an owner in an empty store", vault.Filter{Owner: "alice"})
	if err := m.Create(ctx, []*vault.Vault{ready("K1")}, []vault.Event{importOf(ready("K1"))}); err != nil {
		t.Fatal(err)
	}
	check("of a status no vault has", vault.Filter{Status: status.Locked})
	check("of an owner no vault has", vault.Filter{Owner: "alice"})
	check("of an owner no vault has, with a status", vault.Filter{Owner: "alice", Status: status.Ready})
	check("after the last ID", vault.Filter{After: "K1"})
}
