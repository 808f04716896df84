package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestStrictDecoding checks what DisallowUnknownFields alone lets
// through: keys that match a field only without regard to case, and keys
// given twice, of which encoding/json keeps the last. Both are refused,
// at any depth, and nothing changes.
func TestStrictDecoding(t *testing.T) {
	a := newTestAPI(t)
	a.importIDs("HK-1")

	tests := []struct {
		name, path, body string
		wantInMessage    string
	}{
		{"UpperCaseKey", "/v1/vaults/HK-1/assign", `{"OWNER":"bob"}`, `unknown field "OWNER" (field names are case-sensitive: did you mean "owner"?)`},
		{"TitleCaseKey", "/v1/vaults/HK-1/assign", `{"Owner":"bob"}`, `did you mean "owner"?`},
		{"DuplicateKey", "/v1/vaults/HK-1/assign", `{"owner":"bob","owner":"mallory"}`, `field "owner" is given more than once`},
		{"DuplicateKeyEscaped", "/v1/vaults/HK-1/assign", `{"owner":"bob","own\u0065r":"mallory"}`, `field "owner" is given more than once`},
		{"DuplicateKeyOtherCase", "/v1/vaults/HK-1/assign", `{"owner":"bob","OWNER":"mallory"}`, `did you mean "owner"?`},
		{"UnicodeFoldedKey", "/v1/vaults/HK-1/withdraw", `{"rea\u017fon":"Broken"}`, `unknown field "reaſon"`}, // ſ folds to s
		{"DuplicateConfirm", "/v1/vaults/HK-1/compromise", `{"reason":"Lost","confirm":"HK-2","confirm":"HK-1"}`, `field "confirm" is given more than once`},
		{"KeyOnParameterlessCommand", "/v1/vaults/HK-1/wipe", `{"Force":true}`, `unknown field "Force"`},

		// Import's vaults are objects too, and its labels a map: free
		// keys, but each once.
		{"ImportDuplicateTopLevel", "/v1/vaults", `{"vaults":[],"vaults":[{"id":"HK-2"}]}`, `field "vaults" is given more than once`},
		{"ImportVaultKeyCase", "/v1/vaults", `{"vaults":[{"ID":"HK-2"}]}`, `unknown field "vaults[0].ID" (field names are case-sensitive: did you mean "id"?)`},
		{"ImportVaultDuplicateID", "/v1/vaults", `{"vaults":[{"id":"HK-2"},{"id":"HK-3","id":"HK-4"}]}`, `field "vaults[1].id" is given more than once`},
		{"ImportDuplicateLabel", "/v1/vaults", `{"vaults":[{"id":"HK-2","labels":{"pool":"staff","pool":"guests"}}]}`, `field "vaults[0].labels.pool" is given more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := expectError(t, a.post(tt.path, tt.body), http.StatusBadRequest, "invalid_argument")
			if !strings.Contains(e.Error.Message, tt.wantInMessage) {
				t.Errorf("message %q does not say %q", e.Error.Message, tt.wantInMessage)
			}
		})
	}
	if v := expect[vaultResponse](t, a.get("/v1/vaults/HK-1"), http.StatusOK).Vault; v.Version != 1 || v.Owner != "" {
		t.Fatalf("after refused bodies HK-1 is at version %d, owner %q; want 1 and none", v.Version, v.Owner)
	}
	expectError(t, a.get("/v1/vaults/HK-2"), http.StatusNotFound, "not_found")

	// Label keys differing in case are distinct keys of a map, and fine;
	// exact field names, escaped or not, are accepted.
	imported := expect[importResponse](t, a.post("/v1/vaults", `{"vaults":[{"id":"HK-2","labels":{"Model":"a","model":"b"}}]}`), http.StatusCreated)
	if l := imported.Vaults[0].Labels; len(l) != 2 || l["Model"] != "a" || l["model"] != "b" {
		t.Fatalf("labels %v, want Model and model", l)
	}
	assigned := expect[vaultResponse](t, a.post("/v1/vaults/HK-1/assign", `{"own\u0065r":"bob"}`), http.StatusOK)
	if assigned.Vault.Owner != "bob" {
		t.Fatalf("owner %q, want bob", assigned.Vault.Owner)
	}
}
