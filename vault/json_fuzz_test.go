package vault_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// Hosts keep vaults and events as JSON (audit exports, document stores,
// admin APIs), so decoding must survive any input: json.Unmarshal into a
// Vault or an Event never panics, and whatever decodes encodes to JSON
// that decodes to the same value and encodes to the same bytes. Times
// compare as instants (a decoded offset of +00:00 may come back as Z).

// roundTrip checks the JSON round trip of a decoded value.
func roundTrip[T any](t *testing.T, data []byte) {
	var v T
	if json.Unmarshal(data, &v) != nil {
		return // refused, and did not panic
	}
	b1, err := json.Marshal(&v)
	if err != nil {
		// Only a value JSON cannot name may fail: the zero Status of a
		// document without one.
		if !errors.Is(err, status.ErrUnknown) {
			t.Fatalf("json.Marshal of a decoded %T = %v", v, err)
		}
		return
	}
	var back T
	if err := json.Unmarshal(b1, &back); err != nil {
		t.Fatalf("json.Unmarshal(%s) of a marshalled %T = %v", b1, v, err)
	}
	if d := cmp.Diff(v, back, cmpopts.EquateApproxTime(0)); d != "" {
		t.Fatalf("%T changed in a JSON round trip (-decoded +round-tripped):\n%s", v, d)
	}
	b2, err := json.Marshal(&back)
	if err != nil || !bytes.Equal(b1, b2) {
		t.Fatalf("%T re-encodes differently:\n%s\n%s (%v)", v, b1, b2, err)
	}
}

// fullVaultForJSON is a vault with every field set.
func fullVaultForJSON() *vault.Vault {
	return &vault.Vault{
		ID:          "HK-0001",
		Labels:      map[string]string{"model": "YubiKey 5 NFC", "mac": "00:11:22:33:44:55"},
		Status:      status.Suspended,
		Description: "on vacation\nback in May",
		Owner:       "alice@example.com",
		Accounts:    []vault.Account{{ID: "mail", Name: "Mail", Login: "alice"}, {ID: "vpn", Name: "VPN", Pending: true}},
		Activation: &vault.Activation{
			Hash: bytes.Repeat([]byte{0xab}, 32), Salt: bytes.Repeat([]byte{0x01}, 16),
			IssuedAt: t0, ExpiresAt: t0.Add(72 * time.Hour), Attempts: 2,
		},
		Version:   7,
		CreatedAt: t0.Add(-time.Hour),
		UpdatedAt: t0,
	}
}

func FuzzVaultJSON(f *testing.F) {
	for _, v := range []*vault.Vault{
		fullVaultForJSON(),
		{ID: "HK-2", Status: status.Compromised, Reason: status.Stolen, Version: 9},
	} {
		b, err := json.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"Status":"ready"}`, `{"Status":7}`, `{"Status":null}`,
		`{"Status":"Locked","Reason":"LockedByInvalidPin"}`, `{"Status":"Ready","Reason":"Stolen"}`,
		`{"Status":"Ready","Activation":{"Hash":"!!"}}`, `{"Status":"Ready","Labels":{"a":1}}`,
		`{"Status":"Ready","CreatedAt":"2026-01-02T03:04:05.123456789+05:30"}`,
		`{"Status":"Ready","UpdatedAt":"2026-01-02T03:04:05+00:00","Accounts":[]}`,
		`{"Status":"Ready","Version":-1}`, `{"Status":"Ready","Activation":null,"Accounts":null,"Labels":{}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip[vault.Vault](t, data)
	})
}

func FuzzEventJSON(f *testing.F) {
	for _, ev := range []vault.Event{
		{VaultID: "HK-1", Version: 1, Action: vault.ActionImport, From: status.Ready, To: status.Ready, Actor: "admin", Time: t0},
		{VaultID: "HK-1", Version: 2, Action: vault.ActionTransition, Trigger: status.Compromise, From: status.Active, To: status.Compromised,
			Reason: status.Lost, Description: "left on a train", Time: t0.Add(time.Hour)},
		{VaultID: "HK-1", Version: 3, Action: vault.ActionAccountAdded, From: status.Active, To: status.Active, Account: "mail", Time: t0},
	} {
		b, err := json.Marshal(ev)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{}`, `{"Trigger":""}`, `{"Trigger":"wipe","From":"Deactivated","To":"Ready"}`, `{"Trigger":0}`,
		`{"Trigger":"Trigger(0)"}`, `{"From":"Ready","To":"Ready","Reason":"None"}`,
		`{"From":"Ready","To":"Ready","Time":"0001-01-01T00:00:00Z"}`, `{"From":"Ready","To":"Ready","Time":"9999-12-31T23:59:59.999999999-23:59"}`,
		`{"From":"Ready","To":"Ready","Action":"something new"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		roundTrip[vault.Event](t, data)
	})
}
