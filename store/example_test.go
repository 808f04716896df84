package store_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// Most programs hand the store to vault.NewService and never call it
// directly; this shows what the Service does with it underneath.
func ExampleNewMemory() {
	ctx := context.Background()
	s := store.NewMemory()

	imported := time.Date(2025, time.March, 4, 9, 0, 0, 0, time.UTC)
	keys := []*vault.Vault{
		{ID: "YK-0002", Labels: map[string]string{"model": "YubiKey 5C"}, Status: status.Ready, CreatedAt: imported, UpdatedAt: imported},
		{ID: "YK-0001", Labels: map[string]string{"model": "YubiKey 5 NFC"}, Status: status.Ready, CreatedAt: imported, UpdatedAt: imported},
	}
	var events []vault.Event
	for _, v := range keys {
		events = append(events, vault.Event{
			VaultID: v.ID, Version: 1, Action: vault.ActionImport,
			From: status.Ready, To: status.Ready, Actor: "importer", Time: imported,
		})
	}
	if err := s.Create(ctx, keys, events); err != nil {
		fmt.Println(err)
		return
	}

	v, err := s.Get(ctx, "YK-0001")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(v.ID, v.Labels["model"], v.Status, "version", v.Version)

	// Get returned a copy: changing it changes nothing stored.
	v.Labels["model"] = "scribbled"
	again, _ := s.Get(ctx, "YK-0001")
	fmt.Println(again.Labels["model"])

	// A batch that names a stored ID is refused whole.
	err = s.Create(ctx, []*vault.Vault{{ID: "YK-0003", Status: status.Ready}, {ID: "YK-0001", Status: status.Ready}}, nil)
	fmt.Println(errors.Is(err, vault.ErrExists), s.Len())

	page, _ := s.List(ctx, vault.Filter{Status: status.Ready})
	for _, v := range page.Vaults {
		fmt.Println("listed", v.ID)
	}
	// Output:
	// YK-0001 YubiKey 5 NFC Ready version 1
	// YubiKey 5 NFC
	// true 2
	// listed YK-0001
	// listed YK-0002
}

// Update is a compare-and-swap: of two writers that read the same
// version, only the first one's change is stored; the second gets
// ErrConflict and must read again.
func ExampleMemory_Update() {
	ctx := context.Background()
	s := store.NewMemory()
	imported := vault.Event{VaultID: "YK-0001", Version: 1, Action: vault.ActionImport, From: status.Ready, To: status.Ready}
	if err := s.Create(ctx, []*vault.Vault{{ID: "YK-0001", Status: status.Ready}}, []vault.Event{imported}); err != nil {
		fmt.Println(err)
		return
	}

	first, _ := s.Get(ctx, "YK-0001")
	second, _ := s.Get(ctx, "YK-0001")

	first.Status, first.Owner = status.Reserved, "alice"
	err := s.Update(ctx, first, []vault.Event{{
		VaultID: "YK-0001", Version: first.Version + 1, Action: vault.ActionTransition,
		Trigger: status.Assign, From: status.Ready, To: status.Reserved,
	}})
	fmt.Println("first:", err, "now at version", first.Version)

	second.Status, second.Owner = status.Reserved, "bob"
	err = s.Update(ctx, second, nil)
	fmt.Println("second conflicts:", errors.Is(err, vault.ErrConflict))

	current, _ := s.Get(ctx, "YK-0001")
	history, _ := s.History(ctx, "YK-0001")
	fmt.Println(current.Owner, current.Status, "version", current.Version, "events", len(history))
	// Output:
	// first: <nil> now at version 2
	// second conflicts: true
	// alice Reserved version 2 events 2
}
