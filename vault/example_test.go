package vault_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// A key's life, from import to a stolen-key report, with the audit trail.
func Example() {
	svc := vault.NewService(store.NewMemory())
	ctx := vault.WithActor(context.Background(), "admin@example.com")

	svc.Import(ctx, vault.NewVault{ID: "HK-0001", Labels: map[string]string{"model": "Hideez Key 4"}})

	v, code, _ := svc.Assign(ctx, "HK-0001", "alice@example.com") // hand the code to Alice
	fmt.Println(v.Status, "to", v.Owner)

	typo := "000000"
	if code == typo {
		typo = "111111"
	}
	_, err := svc.Activate(ctx, "HK-0001", typo) // counted: 2 attempts left
	fmt.Println(errors.Is(err, vault.ErrInvalidCode))

	v, _ = svc.Activate(ctx, "HK-0001", code)
	fmt.Println(v.Status)

	v, _ = svc.Lock(ctx, "HK-0001", status.LockedByInvalidPin) // reported by the device
	fmt.Println(v.Status, v.Reason)

	v, code, _ = svc.Reactivate(ctx, "HK-0001") // the admin's "Activate device"
	fmt.Println(v.Status)
	v, _ = svc.Activate(ctx, "HK-0001", code)
	fmt.Println(v.Status)

	_, err = svc.Compromise(ctx, "HK-0001", status.Stolen, "stolen at the airport", "HK-0001")
	fmt.Println(err)
	_, err = svc.Wipe(ctx, "HK-0001")
	fmt.Println(err)

	history, _ := svc.History(ctx, "HK-0001")
	for _, ev := range history {
		what := string(ev.Action)
		if ev.Trigger != 0 {
			what = ev.Trigger.String()
		}
		fmt.Printf("v%d %-14s %-9v -> %-11v %v\n", ev.Version, what, ev.From, ev.To, ev.Actor)
	}
	// Output:
	// Reserved to alice@example.com
	// true
	// Active
	// Locked LockedByInvalidPin
	// Suspended
	// Active
	// <nil>
	// vault: Wipe "HK-0001": status: Compromised is terminal: Wipe is not permitted
	// v1 import         Ready     -> Ready       admin@example.com
	// v2 Assign         Ready     -> Reserved    admin@example.com
	// v3 code rejected  Reserved  -> Reserved    admin@example.com
	// v4 Activate       Reserved  -> Active      admin@example.com
	// v5 Lock           Active    -> Locked      admin@example.com
	// v6 Reactivate     Locked    -> Suspended   admin@example.com
	// v7 Activate       Suspended -> Active      admin@example.com
	// v8 Compromise     Active    -> Compromised admin@example.com
}
