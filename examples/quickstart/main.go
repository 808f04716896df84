// Quickstart walks one batch of hardware keys through the documented
// lifecycle with the in-memory store, printing each step, the audit trail
// and what an admin may do in each status.
//
//	go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	svc := vault.NewService(store.NewMemory())
	// The actor on the context is recorded on every event.
	ctx := vault.WithActor(context.Background(), "admin@example.com")
	alice := vault.WithActor(ctx, "alice@example.com")
	device := vault.WithActor(ctx, "device:HK-0001")

	step := func(what string, v *vault.Vault, err error) error {
		if err != nil && !errors.Is(err, vault.ErrInvalidCode) {
			return err
		}
		line := fmt.Sprintf("%-44s %-11v", what, v.Status)
		if v.Reason != status.None {
			line += " (" + v.Reason.String() + ")"
		}
		if err != nil {
			line += "  <- " + err.Error()
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
		return nil
	}

	// New keys arrive Ready.
	if _, err := svc.Import(ctx,
		vault.NewVault{ID: "HK-0001", Labels: map[string]string{"model": "Hideez Key 4"}},
		vault.NewVault{ID: "HK-0002", Labels: map[string]string{"model": "Hideez Key 4"}},
		vault.NewVault{ID: "HK-0003", Labels: map[string]string{"model": "Hideez Key 3"}},
	); err != nil {
		return err
	}
	fmt.Fprintln(w, "imported HK-0001, HK-0002, HK-0003")
	fmt.Fprintln(w)

	// HK-0001: Alice's key, through a wrong code, a PIN lock and a vacation.
	v, code, err := svc.Assign(ctx, "HK-0001", "alice@example.com")
	if err := step("HK-0001 assign to alice", v, err); err != nil {
		return err
	}
	v, err = svc.Activate(alice, "HK-0001", wrongCode(code))
	if err := step("HK-0001 alice mistypes the code", v, err); err != nil {
		return err
	}
	v, err = svc.Activate(alice, "HK-0001", code)
	if err := step("HK-0001 alice enters the code", v, err); err != nil {
		return err
	}
	v, err = svc.AddAccount(ctx, "HK-0001", vault.Account{ID: "mail", Name: "Mail", Login: "alice"})
	if err := step("HK-0001 add a mail account", v, err); err != nil {
		return err
	}
	v, err = svc.Lock(device, "HK-0001", status.LockedByInvalidPin)
	if err := step("HK-0001 device reports a wrong PIN", v, err); err != nil {
		return err
	}
	v, code, err = svc.Reactivate(ctx, "HK-0001")
	if err := step(`HK-0001 admin runs "Activate device"`, v, err); err != nil {
		return err
	}
	v, err = svc.Activate(alice, "HK-0001", code)
	if err := step("HK-0001 alice enters the new code", v, err); err != nil {
		return err
	}
	v, code, err = svc.Suspend(ctx, "HK-0001", "vacation until 2026-12-10")
	if err := step("HK-0001 suspend for a vacation", v, err); err != nil {
		return err
	}
	v, err = svc.Activate(alice, "HK-0001", code)
	if err := step("HK-0001 alice is back and enters the code", v, err); err != nil {
		return err
	}
	fmt.Fprintln(w)

	// HK-0002: Bob's key breaks; it is withdrawn, wiped, and Ready again.
	v, code, err = svc.Assign(ctx, "HK-0002", "bob@example.com")
	if err := step("HK-0002 assign to bob", v, err); err != nil {
		return err
	}
	if _, err := svc.Activate(ctx, "HK-0002", code); err != nil {
		return err
	}
	v, err = svc.Withdraw(ctx, "HK-0002", status.Broken, "cracked case")
	if err := step("HK-0002 withdraw a broken key", v, err); err != nil {
		return err
	}
	v, err = svc.Wipe(ctx, "HK-0002")
	if err := step("HK-0002 wipe it", v, err); err != nil {
		return err
	}
	fmt.Fprintln(w)

	// HK-0003: Carol's key is stolen. Compromise needs the ID as confirmation.
	if _, code, err = svc.Assign(ctx, "HK-0003", "carol@example.com"); err != nil {
		return err
	}
	if _, err := svc.Activate(ctx, "HK-0003", code); err != nil {
		return err
	}
	_, err = svc.Compromise(ctx, "HK-0003", status.Stolen, "stolen at the airport", "HK-0033")
	fmt.Fprintf(w, "%-44s %v\n", "HK-0003 compromise, mistyped confirmation", err)
	v, err = svc.Compromise(ctx, "HK-0003", status.Stolen, "stolen at the airport", "HK-0003")
	if err := step("HK-0003 compromise a stolen key", v, err); err != nil {
		return err
	}
	_, err = svc.Wipe(ctx, "HK-0003")
	fmt.Fprintf(w, "%-44s %v\n", "HK-0003 try to wipe it", err)
	fmt.Fprintln(w)

	// The audit trail: one event per stored change, versions 1..n.
	history, err := svc.History(ctx, "HK-0001")
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "audit trail of HK-0001:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tCHANGE\tFROM\tTO\tREASON\tACTOR")
	for _, ev := range history {
		change := string(ev.Action)
		if ev.Trigger != 0 {
			change = ev.Trigger.String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%v\t%v\t%v\t%s\n", ev.Version, change, ev.From, ev.To, ev.Reason, ev.Actor)
	}
	tw.Flush()
	fmt.Fprintln(w)

	fmt.Fprintln(w, "what an admin may do in each status:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, s := range status.Statuses() {
		fmt.Fprintf(tw, "%v\t%v\n", s, status.Permitted(s))
	}
	return tw.Flush()
}

// wrongCode returns a well-formed code that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}
