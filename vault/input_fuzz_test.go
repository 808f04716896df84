package vault_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// Fuzz targets for the validators fuzz_test.go does not reach: list
// filters, import labels, account fields, and the reasons, descriptions
// and confirmations of Lock, Withdraw and Compromise. Each holds the code
// to a reference rule written here (validText, idPattern) and checks that
// a refused input changes nothing. Seed corpora live in
// testdata/fuzz/<Name>; .ci/fuzz runs each target for a few seconds.

// bg is the context of fuzz targets that need no actor.
var bg = context.Background()

// filterStore is a small fleet for FuzzFilterValidate to list: read
// only, shared by every input.
var filterStore = func() *store.Memory {
	m := store.NewMemory()
	svc := vault.NewService(m)
	var nvs []vault.NewVault
	for i := range 7 {
		nvs = append(nvs, vault.NewVault{ID: fmt.Sprintf("HK-%d", i)})
	}
	if _, err := svc.Import(bg, nvs...); err != nil {
		panic(err)
	}
	for i, owner := range []string{"alice", "bob", "alice"} {
		if _, _, err := svc.Assign(bg, fmt.Sprintf("HK-%d", i), owner); err != nil {
			panic(err)
		}
	}
	return m
}()

func FuzzFilterValidate(f *testing.F) {
	f.Add(uint8(0), "", "", 0)
	f.Add(uint8(status.Reserved), "alice", "HK-0", 2)
	f.Add(uint8(8), "", "", 0)
	f.Add(uint8(0), "a\nb", "", 0)
	f.Add(uint8(0), "", "HK 1", 0)
	f.Add(uint8(0), "", "", -1)
	f.Add(uint8(0), "", "", 5000)
	f.Add(uint8(status.Ready), strings.Repeat("o", 257), "", 1)
	f.Fuzz(func(t *testing.T, st uint8, owner, after string, limit int) {
		fl := vault.Filter{Status: status.Status(st), Owner: owner, After: after, Limit: limit}
		valid := st <= uint8(status.Compromised) &&
			(owner == "" || validText(owner, 1, 256, false)) &&
			(after == "" || idPattern.MatchString(after)) &&
			limit >= 0
		err := fl.Validate()
		if (err == nil) != valid {
			t.Fatalf("%+v.Validate() = %v; the rules say valid=%v", fl, err, valid)
		}
		if err != nil && !errors.Is(err, vault.ErrInvalidArgument) {
			t.Fatalf("%+v.Validate() = %v; want ErrInvalidArgument", fl, err)
		}
		size := fl.PageSize()
		switch {
		case limit <= 0 && size != vault.DefaultLimit,
			limit > 0 && size != min(limit, vault.MaxLimit):
			t.Fatalf("%+v.PageSize() = %d", fl, size)
		}

		// The store and the Service refuse exactly what Validate refuses.
		p, err := filterStore.List(bg, fl)
		if (err == nil) != valid || err != nil && !errors.Is(err, vault.ErrInvalidArgument) {
			t.Fatalf("store List(%+v) = %v; valid=%v", fl, err, valid)
		}
		if _, err := vault.NewService(filterStore).List(bg, fl); (err == nil) != valid {
			t.Fatalf("Service.List(%+v) = %v; valid=%v", fl, err, valid)
		}
		if !valid {
			return
		}
		if len(p.Vaults) > size {
			t.Fatalf("List(%+v) returned %d vaults, more than the page size", fl, len(p.Vaults))
		}
		for i, v := range p.Vaults {
			if v.ID <= after || !fl.Matches(v) || i > 0 && v.ID <= p.Vaults[i-1].ID {
				t.Fatalf("List(%+v) returned %s (%v, %q) out of order or against the filter", fl, v.ID, v.Status, v.Owner)
			}
		}
	})
}

func FuzzImportLabels(f *testing.F) {
	f.Add("model", "YubiKey 5 NFC", uint8(0))
	f.Add("mac", "00:11:22:33:44:55", uint8(31))
	f.Add("rfid", "", uint8(32))
	f.Add("", "empty key", uint8(0))
	f.Add(strings.Repeat("k", 65), "long key", uint8(0))
	f.Add("note", "a\nb", uint8(0))
	f.Add("Zoë", strings.Repeat("é", 128), uint8(3))
	f.Add("filler-0", "collides with a filler", uint8(32))
	f.Fuzz(func(t *testing.T, key, value string, fillers uint8) {
		labels := map[string]string{}
		for i := range int(fillers % 40) {
			labels[fmt.Sprintf("filler-%d", i)] = "x"
		}
		labels[key] = value
		valid := len(labels) <= 32 && validText(key, 1, 64, false) && validText(value, 0, 256, false)

		fx := newFixture(t)
		given := maps.Clone(labels)
		vs, err := fx.svc.Import(fx.ctx, vault.NewVault{ID: "HK-1", Labels: given})
		if (err == nil) != valid {
			t.Fatalf("Import with %d labels, %q: %q = %v; the rules say valid=%v", len(labels), key, value, err, valid)
		}
		if err != nil {
			if !errors.Is(err, vault.ErrInvalidArgument) {
				t.Fatalf("Import = %v; want ErrInvalidArgument", err)
			}
			if _, err := fx.svc.Get(fx.ctx, "HK-1"); !errors.Is(err, vault.ErrNotFound) {
				t.Fatalf("a refused Import stored the vault: Get = %v", err)
			}
			return
		}
		given[key] = "changed by the caller afterwards"
		if d := cmp.Diff(labels, fx.get("HK-1").Labels); d != "" {
			t.Fatalf("stored labels differ from the imported ones (-want +got):\n%s", d)
		}
		if d := cmp.Diff(labels, vs[0].Labels); d != "" {
			t.Fatalf("returned labels differ from the imported ones (-want +got):\n%s", d)
		}
	})
}

func FuzzAccountFields(f *testing.F) {
	f.Add("acct-2", "Wiki", "alice", true)
	f.Add("acct-1", "Duplicate", "", false)
	f.Add("", "No ID", "", false)
	f.Add("a b", "Space", "", false)
	f.Add("mail", "", "alice", false)
	f.Add("mail", strings.Repeat("n", 256), strings.Repeat("l", 257), false)
	f.Add("vpn", "VPN\x00", "alice", false)
	f.Add("vpn", "VPN", "line\nbreak", false)
	f.Fuzz(func(t *testing.T, id, name, login string, pending bool) {
		fx := newFixture(t)
		fx.inStatus("HK-1", status.Active) // with account acct-1
		fieldsOK := validText(name, 1, 256, false) && validText(login, 0, 256, false)
		valid := idPattern.MatchString(id) && fieldsOK

		before := fx.snapshot()
		v, err := fx.svc.AddAccount(fx.ctx, "HK-1", vault.Account{ID: id, Name: name, Login: login, Pending: pending})
		switch {
		case !valid:
			if !errors.Is(err, vault.ErrInvalidArgument) {
				t.Fatalf("AddAccount(%q, %q, %q) = %v; want ErrInvalidArgument", id, name, login, err)
			}
			fx.unchangedSince(before, "a refused AddAccount")
		case id == "acct-1":
			if !errors.Is(err, vault.ErrExists) {
				t.Fatalf("AddAccount of a duplicate ID = %v; want ErrExists", err)
			}
			fx.unchangedSince(before, "a duplicate AddAccount")
		default:
			if err != nil {
				t.Fatalf("AddAccount(%q, %q, %q) = %v; want success", id, name, login, err)
			}
			want := vault.Account{ID: id, Name: name, Login: login} // Pending is the Service's to set
			if got := fx.get("HK-1").Accounts; !slices.Contains(got, want) || !slices.Contains(v.Accounts, want) {
				t.Fatalf("stored accounts %+v; want %+v among them", got, want)
			}
		}

		// The same fields edit the account the vault has.
		before = fx.snapshot()
		_, err = fx.svc.UpdateAccount(fx.ctx, "HK-1", vault.Account{ID: "acct-1", Name: name, Login: login})
		if (err == nil) != fieldsOK {
			t.Fatalf("UpdateAccount(acct-1, %q, %q) = %v; the rules say valid=%v", name, login, err, fieldsOK)
		}
		if err != nil {
			if !errors.Is(err, vault.ErrInvalidArgument) {
				t.Fatalf("UpdateAccount = %v; want ErrInvalidArgument", err)
			}
			fx.unchangedSince(before, "a refused UpdateAccount")
		}
	})
}

// reasonsOf is the reasons each trigger's destination may carry, written
// out from DESIGN.md.
var reasonsOf = map[status.Trigger][]status.Reason{
	status.Lock:       {status.InvalidActivationCode, status.LockedByInvalidPin},
	status.Withdraw:   {status.Withdrawal, status.Broken},
	status.Compromise: {status.Lost, status.Stolen},
}

func FuzzReasonArguments(f *testing.F) {
	f.Add(uint8(0), uint8(status.LockedByInvalidPin), "", "HK-1")
	f.Add(uint8(0), uint8(status.None), "", "HK-1")
	f.Add(uint8(1), uint8(status.Broken), "returned\nbroken", "")
	f.Add(uint8(1), uint8(status.Lost), "", "")
	f.Add(uint8(1), uint8(status.Withdrawal), "\x1b", "")
	f.Add(uint8(2), uint8(status.Stolen), "", "HK-1")
	f.Add(uint8(2), uint8(status.Lost), "", "hk-1")
	f.Add(uint8(2), uint8(200), strings.Repeat("d", 1025), "HK-2")
	f.Fuzz(func(t *testing.T, which, r uint8, description, confirm string) {
		tr := []status.Trigger{status.Lock, status.Withdraw, status.Compromise}[which%3]
		reason := status.Reason(r)
		fx := newFixture(t)
		fx.inStatus("HK-1", status.Active)
		before := fx.snapshot()

		var v *vault.Vault
		var err error
		switch tr {
		case status.Lock:
			v, err = fx.svc.Lock(fx.ctx, "HK-1", reason)
			description, confirm = "", "HK-1" // Lock takes neither
		case status.Withdraw:
			v, err = fx.svc.Withdraw(fx.ctx, "HK-1", reason, description)
			confirm = "HK-1"
		case status.Compromise:
			v, err = fx.svc.Compromise(fx.ctx, "HK-1", reason, description, confirm)
		}

		// The checks run in this order; the first that fails decides.
		var want error
		switch {
		case !slices.Contains(reasonsOf[tr], reason):
			want = status.ErrInvalidReason
		case !validText(description, 0, 1024, true):
			want = vault.ErrInvalidArgument
		case confirm != "HK-1":
			want = vault.ErrConfirmation
		}
		if want == nil {
			if err != nil || v.Status != tr.Destination() || v.Reason != reason || v.Description != description {
				t.Fatalf("%v(%v, %q) = %v, %v; want %v with that reason and description", tr, reason, description, v, err, tr.Destination())
			}
			fx.checkHistory("HK-1")
			return
		}
		if !errors.Is(err, want) || v != nil {
			t.Fatalf("%v(%v, %q, confirm %q) = %v; want %v", tr, reason, description, confirm, err, want)
		}
		if want == status.ErrInvalidReason && !errors.Is(err, vault.ErrInvalidArgument) {
			t.Fatalf("a wrong reason = %v; it is an invalid argument too", err)
		}
		if want != status.ErrInvalidReason && errors.Is(err, status.ErrInvalidReason) {
			t.Fatalf("%v with a fitting reason = %v; it must not blame the reason", tr, err)
		}
		fx.unchangedSince(before, "a refused "+tr.String())
	})
}
