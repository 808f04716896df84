package vault_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// The scenarios follow the product documentation of the key statuses.

// "A key from import to compromise": imported Ready, given to an employee,
// activated, used, frozen for a vacation, back to Active, locked by a
// wrong PIN, unlocked by the admin's "Activate device", withdrawn, wiped
// back to Ready, issued again and finally reported stolen.
func TestScenarioKeyFromImportToCompromise(t *testing.T) {
	f := newFixture(t)
	ok := must[*vault.Vault](t)

	// Devices fall into Ready immediately after import.
	vs, err := f.svc.Import(f.ctx, vault.NewVault{ID: "HK-0001", Labels: map[string]string{"model": "Hideez Key 4", "mac": "00:11:22:33:44:55"}})
	if err != nil || vs[0].Status != status.Ready || vs[0].Version != 1 {
		t.Fatalf("Import = %+v, %v; want one Ready vault at version 1", vs, err)
	}

	// When adding a key to a user, the administrator selects only from keys in Ready.
	v, code, err := f.svc.Assign(f.ctx, "HK-0001", "alice@example.com")
	if err != nil || v.Status != status.Reserved || v.Owner != "alice@example.com" || len(code) != 6 || v.Activation == nil {
		t.Fatalf("Assign = %v, %q, %v; want Reserved for alice with a 6-digit code", v, code, err)
	}

	// In Reserved you can already add accounts; they reach the key when it becomes Active.
	v = ok(f.svc.AddAccount(f.ctx, "HK-0001", vault.Account{ID: "mail", Name: "Mail", Login: "alice"}))
	if !v.Accounts[0].Pending {
		t.Fatal("an account added while Reserved must be pending")
	}
	if _, err := f.svc.UpdateAccount(f.ctx, "HK-0001", vault.Account{ID: "mail", Name: "Mail 2"}); !errors.Is(err, vault.ErrNotAllowed) {
		t.Fatalf("UpdateAccount while Reserved = %v; changing accounts is only allowed while Active", err)
	}

	// The user enters the activation code: Active, accounts on the key, code gone.
	v = ok(f.svc.Activate(f.ctx, "HK-0001", code))
	if v.Status != status.Active || v.Activation != nil || v.Accounts[0].Pending {
		t.Fatalf("after Activate: %v; want Active, no pending code, accounts on the key", v)
	}
	if _, err := f.svc.Activate(f.ctx, "HK-0001", code); !errors.Is(err, status.ErrNotPermitted) {
		t.Fatalf("reusing the code = %v; want a refusal", err)
	}

	// Only in Active can accounts be added, changed and deleted.
	ok(f.svc.AddAccount(f.ctx, "HK-0001", vault.Account{ID: "vpn", Name: "VPN"}))
	ok(f.svc.UpdateAccount(f.ctx, "HK-0001", vault.Account{ID: "vpn", Name: "VPN", Login: "alice.vpn"}))
	v = ok(f.svc.DeleteAccount(f.ctx, "HK-0001", "vpn"))
	if len(v.Accounts) != 1 {
		t.Fatalf("accounts = %v; want only mail", v.Accounts)
	}

	// The employee goes on vacation: Suspend Device, with a note and a code for the return.
	v, back, err := f.svc.Suspend(f.ctx, "HK-0001", "vacation until 2026-12-10")
	if err != nil || v.Status != status.Suspended || v.Description != "vacation until 2026-12-10" || back == "" {
		t.Fatalf("Suspend = %v, %v; want Suspended with the note and a code", v, err)
	}
	f.clock.Advance(48 * time.Hour)
	v = ok(f.svc.Activate(f.ctx, "HK-0001", back))
	if v.Status != status.Active || v.Description != "" || len(v.Accounts) != 1 {
		t.Fatalf("back from vacation: %v; want Active, the note cleared, accounts kept", v)
	}

	// Wrong PIN entered on the device: locked at hardware level.
	v = ok(f.svc.Lock(f.ctx, "HK-0001", status.LockedByInvalidPin))
	if v.Status != status.Locked || v.Reason != status.LockedByInvalidPin || v.Owner != "alice@example.com" {
		t.Fatalf("after Lock: %v; want Locked by invalid PIN, still alice's", v)
	}

	// The admin executes "Activate device": a code is generated and the status is Suspended.
	v, again, err := f.svc.Reactivate(f.ctx, "HK-0001")
	if err != nil || v.Status != status.Suspended || v.Reason != status.None || again == "" {
		t.Fatalf("Reactivate = %v, %v; want Suspended with a new code", v, err)
	}
	ok(f.svc.Activate(f.ctx, "HK-0001", again))

	// Taken from the user: Deactivated, owner link and accounts removed.
	v = ok(f.svc.Withdraw(f.ctx, "HK-0001", status.Withdrawal, "left the company"))
	if v.Status != status.Deactivated || v.Owner != "" || len(v.Accounts) != 0 || v.Reason != status.Withdrawal {
		t.Fatalf("after Withdraw: %v; want Deactivated (Withdrawal) with no owner or accounts", v)
	}

	// After the cleaning procedure (Wipe) the key is Ready again.
	v = ok(f.svc.Wipe(f.ctx, "HK-0001"))
	if v.Status != status.Ready || v.Reason != status.None || v.Description != "" {
		t.Fatalf("after Wipe: %v; want Ready with no reason", v)
	}

	// Issued again, then stolen. The admin must confirm with the key's ID.
	_, _, err = f.svc.Assign(f.ctx, "HK-0001", "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Compromise(f.ctx, "HK-0001", status.Stolen, "stolen from car", "HK-0002"); !errors.Is(err, vault.ErrConfirmation) {
		t.Fatalf("Compromise with the wrong confirmation = %v; want ErrConfirmation", err)
	}
	v = ok(f.svc.Compromise(f.ctx, "HK-0001", status.Stolen, "stolen from car", "HK-0001"))
	if v.Status != status.Compromised || v.Reason != status.Stolen || v.Owner != "" || v.Activation != nil {
		t.Fatalf("after Compromise: %v; want Compromised (Stolen), no owner, no code", v)
	}

	// It can no longer be withdrawn from Compromised.
	if _, err := f.svc.Withdraw(f.ctx, "HK-0001", status.Broken, ""); !errors.Is(err, status.ErrNotPermitted) {
		t.Fatalf("Withdraw after Compromise = %v; Compromised is terminal", err)
	}

	// The audit trail tells the whole story, one event per version.
	f.checkHistory("HK-0001")
	var got []string
	for _, ev := range f.history("HK-0001") {
		if ev.Actor != "admin@example.com" {
			t.Errorf("event v%d actor = %q, want the context's actor", ev.Version, ev.Actor)
		}
		if ev.Trigger != 0 {
			got = append(got, ev.Trigger.String())
		} else {
			got = append(got, string(ev.Action))
		}
	}
	want := []string{"import", "Assign", "account added", "Activate", "account added", "account updated", "account deleted",
		"Suspend", "Activate", "Lock", "Reactivate", "Activate", "Withdraw", "Wipe", "Assign", "Compromise"}
	if len(got) != len(want) {
		t.Fatalf("history = %v\nwant      %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("history = %v\nwant      %v", got, want)
		}
	}
	if n := len(f.events()); n != len(want) {
		t.Errorf("observer saw %d events, want %d: one per stored change", n, len(want))
	}
	// The audit trail is JSON-ready, events without a trigger included.
	b, err := json.Marshal(f.history("HK-0001"))
	if err != nil {
		t.Fatalf("json.Marshal(history) = %v", err)
	}
	var decoded []vault.Event
	if err := json.Unmarshal(b, &decoded); err != nil || len(decoded) != len(want) || decoded[0].Trigger != 0 || decoded[1].Trigger != status.Assign {
		t.Fatalf("history does not survive a JSON round trip: %v", err)
	}
}

// "A forgotten code": the user loses the code; the admin reissues it and
// the old one stops working.
func TestScenarioForgottenCode(t *testing.T) {
	f := newFixture(t)
	old := f.inStatus("HK-1", status.Reserved)
	v, fresh, err := f.svc.ReissueCode(f.ctx, "HK-1")
	if err != nil || fresh == old || v.Status != status.Reserved {
		t.Fatalf("ReissueCode = %v, %v; want a new code, still Reserved", v, err)
	}
	if _, err := f.svc.Activate(f.ctx, "HK-1", old); !errors.Is(err, vault.ErrInvalidCode) {
		t.Fatalf("the old code after a reissue = %v; want ErrInvalidCode", err)
	}
	if _, err := f.svc.Activate(f.ctx, "HK-1", fresh); err != nil {
		t.Fatalf("the reissued code = %v", err)
	}
	evs := f.history("HK-1")
	if evs[2].Action != vault.ActionCodeIssued || evs[3].Action != vault.ActionCodeRejected {
		t.Errorf("history = %v; want the reissue and the rejected old code recorded", evs)
	}
	f.checkHistory("HK-1")
}

// Three wrong activation codes lock the key with reason
// InvalidActivationCode; the last wrong code is itself the Lock.
func TestScenarioWrongCodesLock(t *testing.T) {
	f := newFixture(t)
	code := f.inStatus("HK-1", status.Reserved)
	wrong := "000000"
	if wrong == code {
		wrong = "000001"
	}
	for attempt := 1; attempt <= 3; attempt++ {
		v, err := f.svc.Activate(f.ctx, "HK-1", wrong)
		if !errors.Is(err, vault.ErrInvalidCode) {
			t.Fatalf("wrong code #%d = %v; want ErrInvalidCode", attempt, err)
		}
		if v == nil || v.Version != uint64(2+attempt) {
			t.Fatalf("wrong code #%d: vault %v; want the counted attempt stored at version %d", attempt, v, 2+attempt)
		}
	}
	v := f.get("HK-1")
	if v.Status != status.Locked || v.Reason != status.InvalidActivationCode || v.Activation != nil {
		t.Fatalf("after 3 wrong codes: %v; want Locked (InvalidActivationCode) with the code cancelled", v)
	}
	evs := f.history("HK-1")
	last := evs[len(evs)-1]
	if last.Action != vault.ActionTransition || last.Trigger != status.Lock || last.Reason != status.InvalidActivationCode || len(evs) != 5 {
		t.Fatalf("history %v; want import, assign, two rejected codes, and the Lock as the third", evs)
	}
	if _, err := f.svc.Activate(f.ctx, "HK-1", code); !errors.Is(err, status.ErrNotPermitted) {
		t.Fatalf("the right code after the lock = %v; a Locked key needs the admin's Reactivate", err)
	}
	f.checkHistory("HK-1")
}

// "A broken key returned and wiped."
func TestScenarioBrokenKeyReturnedAndWiped(t *testing.T) {
	f := newFixture(t)
	f.inStatus("HK-1", status.Active)
	v := must[*vault.Vault](t)(f.svc.Withdraw(f.ctx, "HK-1", status.Broken, "cracked case"))
	if v.Reason != status.Broken || v.Description != "cracked case" {
		t.Fatalf("Withdraw: %v", v)
	}
	if _, _, err := f.svc.Assign(f.ctx, "HK-1", "bob"); !errors.Is(err, status.ErrNotPermitted) {
		t.Fatalf("assigning a Deactivated key = %v; only Ready keys can be given to a user", err)
	}
	v = must[*vault.Vault](t)(f.svc.Wipe(f.ctx, "HK-1"))
	if v.Status != status.Ready || v.Owner != "" || v.Accounts != nil || v.Activation != nil || v.Reason != status.None {
		t.Fatalf("Wipe: %v; want a clean Ready key", v)
	}
}

// "A stolen key": compromised from any status; terminal; links deleted.
func TestScenarioStolenKey(t *testing.T) {
	for _, s := range status.Statuses() {
		if s.IsTerminal() {
			continue
		}
		t.Run(s.String(), func(t *testing.T) {
			f := newFixture(t)
			f.inStatus("HK-1", s)
			v, err := f.svc.Compromise(f.ctx, "HK-1", status.Stolen, "", "HK-1")
			if err != nil || v.Status != status.Compromised || v.Owner != "" || v.Accounts != nil || v.Activation != nil {
				t.Fatalf("Compromise from %v = %v, %v", s, v, err)
			}
			if _, err := f.svc.Compromise(f.ctx, "HK-1", status.Lost, "", "HK-1"); !errors.Is(err, status.ErrNotPermitted) {
				t.Fatalf("compromising twice = %v; want ErrNotPermitted", err)
			}
		})
	}
}

// Codes expire: valid while now < ExpiresAt; an expired code is not counted.
func TestCodeExpiry(t *testing.T) {
	f := newFixture(t, vault.WithCodePolicy(vault.CodePolicy{TTL: time.Hour}))
	code := f.inStatus("HK-1", status.Reserved)
	f.inStatus("HK-2", status.Reserved)
	code2 := must[string](t)(func() (string, error) { _, c, err := f.svc.ReissueCode(f.ctx, "HK-2"); return c, err }())

	f.clock.Advance(time.Hour - time.Nanosecond)
	if _, err := f.svc.Activate(f.ctx, "HK-2", code2); err != nil {
		t.Fatalf("a code one nanosecond before expiry = %v; want success", err)
	}

	f.clock.Advance(time.Nanosecond)
	before := f.snapshot()
	for _, c := range []string{code, "999999"} {
		if _, err := f.svc.Activate(f.ctx, "HK-1", c); !errors.Is(err, vault.ErrCodeExpired) {
			t.Fatalf("a code at ExpiresAt = %v; want ErrCodeExpired", err)
		}
	}
	f.unchangedSince(before, "activating with an expired code")

	_, fresh, err := f.svc.ReissueCode(f.ctx, "HK-1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Activate(f.ctx, "HK-1", fresh); err != nil {
		t.Fatalf("a reissued code after expiry = %v", err)
	}
}
