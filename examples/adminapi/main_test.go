package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// ---- Test helpers --------------------------------------------------------

const admin = "admin@example.com"

// testAPI is the admin API on an httptest server over a fresh in-memory
// store. It records every response body, for the secrecy test.
type testAPI struct {
	t   *testing.T
	svc *vault.Service
	srv *httptest.Server

	mu     sync.Mutex
	bodies []string
}

func newTestAPI(t *testing.T, opts ...vault.Option) *testAPI {
	t.Helper()
	a := &testAPI{t: t}
	var api *server
	a.srv, api = newTestServer(t, store.NewMemory(), slog.New(slog.DiscardHandler), opts...)
	a.svc = api.svc
	return a
}

// newTestServer serves the API over st on an httptest server, which it
// closes when the test ends, allowing the Hosts it allows by default.
func newTestServer(t *testing.T, st vault.Store, log *slog.Logger, opts ...vault.Option) (*httptest.Server, *server) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	api := newHandler(st, log, options{allowedHosts: testHosts(t, srv.Listener), service: opts})
	srv.Config.Handler = api
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, api
}

// testHosts returns the Hosts run allows by default for ln.
func testHosts(t *testing.T, ln net.Listener) []hostRule {
	t.Helper()
	host, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return defaultHosts(port, host)
}

// response is one answer from the API.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. An empty body sends none, an empty actor no X-Actor header.
func (a *testAPI) do(method, path, actor, body string) response {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, a.srv.URL+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if actor != "" {
		req.Header.Set(actorHeader, actor)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	a.mu.Lock()
	a.bodies = append(a.bodies, string(b))
	a.mu.Unlock()
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (a *testAPI) get(path string) response { return a.do(http.MethodGet, path, "", "") }

// post sends a POST as the admin.
func (a *testAPI) post(path, body string) response {
	a.t.Helper()
	return a.do(http.MethodPost, path, admin, body)
}

// importIDs imports Ready vaults with the given IDs.
func (a *testAPI) importIDs(ids ...string) {
	a.t.Helper()
	batch := make([]newVault, len(ids))
	for i, id := range ids {
		batch[i] = newVault{ID: id}
	}
	expect[importResponse](a.t, a.post("/v1/vaults", mustJSON(a.t, importRequest{Vaults: batch})), http.StatusCreated)
}

// expect checks r's HTTP status and JSON content type, and decodes its
// body into T, refusing any field T does not declare: a response can
// carry nothing the API types do not show.
func expect[T any](t *testing.T, r response, wantStatus int) T {
	t.Helper()
	if r.status != wantStatus {
		t.Fatalf("HTTP status %d, want %d; body: %s", r.status, wantStatus, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q, want application/json", ct)
	}
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T from %s: %v", v, r.body, err)
	}
	return v
}

// expectError checks that r is an error response with the given HTTP
// status and code and a message.
func expectError(t *testing.T, r response, wantStatus int, wantCode string) errorResponse {
	t.Helper()
	e := expect[errorResponse](t, r, wantStatus)
	if e.Error.Code != wantCode {
		t.Fatalf("error code %q, want %q; body: %s", e.Error.Code, wantCode, r.body)
	}
	if e.Error.Message == "" {
		t.Fatalf("error without a message: %s", r.body)
	}
	return e
}

// wantVault checks a vault's status and reason.
func wantVault(t *testing.T, v *vaultView, st status.Status, reason status.Reason) {
	t.Helper()
	if v == nil {
		t.Fatal("no vault in the response")
	}
	if v.Status != st || v.Reason != reason {
		t.Fatalf("vault %s is %v (%v), want %v (%v)", v.ID, v.Status, v.Reason, st, reason)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// codeBody is an activation request body.
func codeBody(code string) string { return `{"code":"` + code + `"}` }

// wrongCode returns a well-formed code that is not code.
func wrongCode(code string) string {
	b := []byte(code)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}

// testClock is a settable clock for vault.WithClock.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ---- The lifecycle -------------------------------------------------------

// TestLifecycle walks one key through every documented transition over
// HTTP, then checks its history.
func TestLifecycle(t *testing.T) {
	a := newTestAPI(t)
	const alice = "alice@example.com"

	imported := expect[importResponse](t, a.post("/v1/vaults",
		`{"vaults":[{"id":"HK-1","labels":{"model":"Hideez Key 4"}},{"id":"HK-2"}]}`), http.StatusCreated)
	if len(imported.Vaults) != 2 || imported.Vaults[0].ID != "HK-1" || imported.Vaults[1].ID != "HK-2" {
		t.Fatalf("imported %+v, want HK-1 and HK-2", imported.Vaults)
	}
	v := imported.Vaults[0]
	wantVault(t, v, status.Ready, status.None)
	if v.Version != 1 || v.Labels["model"] != "Hideez Key 4" || v.Activation != nil {
		t.Fatalf("imported vault %+v, want version 1, its label and no activation", v)
	}
	if got := expect[vaultResponse](t, a.get("/v1/vaults/HK-2"), http.StatusOK).Vault; len(got.Labels) != 0 || len(got.Accounts) != 0 {
		t.Fatalf("HK-2 has labels %v and accounts %v, want none", got.Labels, got.Accounts)
	}

	// Assign issues a code, shown once.
	r := a.post("/v1/vaults/HK-1/assign", `{"owner":"alice@example.com"}`)
	assigned := expect[vaultResponse](t, r, http.StatusOK)
	wantVault(t, assigned.Vault, status.Reserved, status.None)
	if assigned.Vault.Owner != alice || assigned.Vault.Activation == nil || len(assigned.ActivationCode) != 6 {
		t.Fatalf("assigned %+v, code %q: want owner, pending activation and a 6-digit code", assigned.Vault, assigned.ActivationCode)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("a response with an activation code has Cache-Control %q, want no-store", cc)
	}
	code := assigned.ActivationCode

	// An account added while Reserved is pending until activation.
	added := expect[vaultResponse](t, a.post("/v1/vaults/HK-1/accounts", `{"id":"mail","name":"Mail","login":"alice"}`), http.StatusCreated)
	if len(added.Vault.Accounts) != 1 || !added.Vault.Accounts[0].Pending {
		t.Fatalf("accounts %+v, want one pending", added.Vault.Accounts)
	}

	// A wrong code is refused and counted; the error shows the vault.
	wrong := expectError(t, a.do(http.MethodPost, "/v1/vaults/HK-1/activate", alice, codeBody(wrongCode(code))),
		http.StatusUnprocessableEntity, "invalid_code")
	if wrong.Vault == nil || wrong.Vault.Activation == nil || wrong.Vault.Activation.Attempts != 1 {
		t.Fatalf("wrong code answered %+v, want the vault with 1 attempt counted", wrong)
	}

	step := func(path, actor, body string, st status.Status, reason status.Reason) vaultResponse {
		t.Helper()
		resp := expect[vaultResponse](t, a.do(http.MethodPost, "/v1/vaults/HK-1/"+path, actor, body), http.StatusOK)
		wantVault(t, resp.Vault, st, reason)
		return resp
	}
	activated := step("activate", alice, codeBody(code), status.Active, status.None)
	if activated.Vault.Activation != nil || activated.ActivationCode != "" || activated.Vault.Accounts[0].Pending {
		t.Fatalf("activated %+v: want no code, no activation, the account on the key", activated)
	}

	step("lock", admin, `{"reason":"LockedByInvalidPin"}`, status.Locked, status.LockedByInvalidPin)
	code = step("reactivate", admin, "", status.Suspended, status.None).ActivationCode
	step("activate", alice, codeBody(code), status.Active, status.None)
	suspended := step("suspend", admin, `{"description":"vacation"}`, status.Suspended, status.None)
	if suspended.Vault.Description != "vacation" || suspended.ActivationCode == "" {
		t.Fatalf("suspended %+v: want the description and a code", suspended)
	}
	step("activate", alice, codeBody(suspended.ActivationCode), status.Active, status.None)

	// Accounts change only while Active.
	updated := expect[vaultResponse](t, a.do(http.MethodPut, "/v1/vaults/HK-1/accounts/mail", admin, `{"name":"Work mail","login":"alice@corp"}`), http.StatusOK)
	if got := updated.Vault.Accounts; len(got) != 1 || got[0] != (accountView{ID: "mail", Name: "Work mail", Login: "alice@corp"}) {
		t.Fatalf("accounts after update %+v", got)
	}
	expect[vaultResponse](t, a.post("/v1/vaults/HK-1/accounts", `{"id":"vpn","name":"VPN"}`), http.StatusCreated)
	deleted := expect[vaultResponse](t, a.do(http.MethodDelete, "/v1/vaults/HK-1/accounts/mail", admin, ""), http.StatusOK)
	if got := deleted.Vault.Accounts; len(got) != 1 || got[0].ID != "vpn" {
		t.Fatalf("accounts after delete %+v, want only vpn", got)
	}

	withdrawn := step("withdraw", admin, `{"reason":"Broken","description":"cracked case"}`, status.Deactivated, status.Broken)
	if withdrawn.Vault.Owner != "" || len(withdrawn.Vault.Accounts) != 0 || withdrawn.Vault.Description != "cracked case" {
		t.Fatalf("withdrawn %+v: want no owner, no accounts, the description", withdrawn.Vault)
	}
	step("wipe", admin, "{}", status.Ready, status.None)

	// Compromise needs the ID as confirmation; a wrong one changes nothing.
	expectError(t, a.post("/v1/vaults/HK-1/compromise", `{"reason":"Stolen","confirm":"HK-2"}`), http.StatusUnprocessableEntity, "confirmation")
	if got := expect[vaultResponse](t, a.get("/v1/vaults/HK-1"), http.StatusOK).Vault; got.Status != status.Ready {
		t.Fatalf("after a refused compromise the vault is %v, want Ready", got.Status)
	}
	step("compromise", admin, `{"reason":"Stolen","description":"taxi","confirm":"HK-1"}`, status.Compromised, status.Stolen)

	// Nothing leaves Compromised.
	p := expect[permittedResponse](t, a.get("/v1/vaults/HK-1/permitted"), http.StatusOK)
	if p.ID != "HK-1" || p.Status != status.Compromised || p.Permitted == nil || len(p.Permitted) != 0 {
		t.Fatalf("permitted %+v, want Compromised with [] (not null)", p)
	}
	expectError(t, a.post("/v1/vaults/HK-1/assign", `{"owner":"bob"}`), http.StatusConflict, "not_permitted")

	// The history: one event per stored change, versions 1..n, with actors.
	h := expect[historyResponse](t, a.get("/v1/vaults/HK-1/history"), http.StatusOK)
	type row struct {
		action  vault.Action
		trigger string
		actor   string
	}
	want := []row{
		{vault.ActionImport, "", admin},
		{vault.ActionTransition, "Assign", admin},
		{vault.ActionAccountAdded, "", admin},
		{vault.ActionCodeRejected, "", alice},
		{vault.ActionTransition, "Activate", alice},
		{vault.ActionTransition, "Lock", admin},
		{vault.ActionTransition, "Reactivate", admin},
		{vault.ActionTransition, "Activate", alice},
		{vault.ActionTransition, "Suspend", admin},
		{vault.ActionTransition, "Activate", alice},
		{vault.ActionAccountUpdated, "", admin},
		{vault.ActionAccountAdded, "", admin},
		{vault.ActionAccountDeleted, "", admin},
		{vault.ActionTransition, "Withdraw", admin},
		{vault.ActionTransition, "Wipe", admin},
		{vault.ActionTransition, "Compromise", admin},
	}
	var got []row
	for i, e := range h.Events {
		if e.Version != uint64(i+1) {
			t.Fatalf("event %d has version %d, want %d", i, e.Version, i+1)
		}
		got = append(got, row{e.Action, e.Trigger, e.Actor})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("history\n got %v\nwant %v", got, want)
	}
	last := h.Events[len(h.Events)-1]
	if last.From != status.Ready || last.To != status.Compromised || last.Reason != status.Stolen || last.Description != "taxi" {
		t.Fatalf("last event %+v, want Ready -> Compromised, Stolen, taxi", last)
	}
}

// TestImportLocation checks that importing one vault answers with its
// URL in Location, and a batch, which has no one URL, with none.
func TestImportLocation(t *testing.T) {
	a := newTestAPI(t)
	r := a.post("/v1/vaults", `{"vaults":[{"id":"HK:1"}]}`)
	expect[importResponse](t, r, http.StatusCreated)
	loc := r.header.Get("Location")
	if loc != "/v1/vaults/HK:1" {
		t.Fatalf("Location %q, want /v1/vaults/HK:1", loc)
	}
	if v := expect[vaultResponse](t, a.get(loc), http.StatusOK).Vault; v.ID != "HK:1" {
		t.Fatalf("GET %s answered vault %q", loc, v.ID)
	}

	r = a.post("/v1/vaults", `{"vaults":[{"id":"HK-2"},{"id":"HK-3"}]}`)
	expect[importResponse](t, r, http.StatusCreated)
	if loc := r.header.Get("Location"); loc != "" {
		t.Errorf("a batch import has Location %q, want none", loc)
	}
	if loc := a.post("/v1/vaults/HK-2/assign", `{"owner":"bob"}`).header.Get("Location"); loc != "" {
		t.Errorf("a command has Location %q, want none", loc)
	}
}

// TestActivationCodes covers the code's other paths: expiry, reissue, and
// the lock after the last wrong attempt.
func TestActivationCodes(t *testing.T) {
	clock := &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	a := newTestAPI(t, vault.WithClock(clock.Now))
	a.importIDs("HK-1", "HK-2")

	// An expired code is refused without counting; a reissued one works.
	code := expect[vaultResponse](t, a.post("/v1/vaults/HK-1/assign", `{"owner":"alice"}`), http.StatusOK).ActivationCode
	clock.Advance(vault.DefaultCodePolicy.TTL)
	expectError(t, a.post("/v1/vaults/HK-1/activate", codeBody(code)), http.StatusUnprocessableEntity, "code_expired")
	fresh := expect[vaultResponse](t, a.post("/v1/vaults/HK-1/reissue-code", ""), http.StatusOK)
	if fresh.ActivationCode == "" || fresh.Vault.Activation.Attempts != 0 {
		t.Fatalf("reissued %+v, want a code and no attempts", fresh)
	}
	if fresh.ActivationCode != code {
		expectError(t, a.post("/v1/vaults/HK-1/activate", codeBody(code)), http.StatusUnprocessableEntity, "invalid_code")
	}
	wantVault(t, expect[vaultResponse](t, a.post("/v1/vaults/HK-1/activate", codeBody(fresh.ActivationCode)), http.StatusOK).Vault, status.Active, status.None)

	// The last allowed wrong code locks the vault, still as invalid_code.
	code = expect[vaultResponse](t, a.post("/v1/vaults/HK-2/assign", `{"owner":"bob"}`), http.StatusOK).ActivationCode
	var e errorResponse
	for range vault.DefaultCodePolicy.MaxAttempts {
		e = expectError(t, a.post("/v1/vaults/HK-2/activate", codeBody(wrongCode(code))), http.StatusUnprocessableEntity, "invalid_code")
	}
	wantVault(t, e.Vault, status.Locked, status.InvalidActivationCode)
	if e.Vault.Activation != nil {
		t.Fatalf("locked vault still has an activation: %+v", e.Vault.Activation)
	}
	// A code is refused outright once there is none pending.
	expectError(t, a.post("/v1/vaults/HK-2/reissue-code", ""), http.StatusConflict, "not_allowed")
}

// ---- Listing -------------------------------------------------------------

func TestListFilterAndPagination(t *testing.T) {
	a := newTestAPI(t)
	a.importIDs("HK-5", "HK-1", "HK-4", "HK-2", "HK-3")
	for _, id := range []string{"HK-2", "HK-4"} {
		expect[vaultResponse](t, a.post("/v1/vaults/"+id+"/assign", `{"owner":"alice"}`), http.StatusOK)
	}
	ids := func(vs []*vaultView) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.ID)
		}
		return out
	}
	tests := []struct {
		query string
		want  []string
		next  string
	}{
		{"", []string{"HK-1", "HK-2", "HK-3", "HK-4", "HK-5"}, ""},
		{"?status=Reserved", []string{"HK-2", "HK-4"}, ""},
		{"?status=ready", []string{"HK-1", "HK-3", "HK-5"}, ""}, // names are case-insensitive
		{"?owner=alice", []string{"HK-2", "HK-4"}, ""},
		{"?owner=bob", nil, ""},
		{"?status=Ready&owner=alice", nil, ""},
		{"?limit=2", []string{"HK-1", "HK-2"}, "HK-2"},
		{"?limit=2&after=HK-2", []string{"HK-3", "HK-4"}, "HK-4"},
		{"?status=&owner=&after=&limit=", []string{"HK-1", "HK-2", "HK-3", "HK-4", "HK-5"}, ""}, // empty = absent
	}
	for _, tt := range tests {
		got := expect[listResponse](t, a.get("/v1/vaults"+tt.query), http.StatusOK)
		if got.Vaults == nil {
			t.Errorf("%q: vaults is null, want a list", tt.query)
		}
		if !slices.Equal(ids(got.Vaults), tt.want) || got.Next != tt.next {
			t.Errorf("%q: got %v next %q, want %v next %q", tt.query, ids(got.Vaults), got.Next, tt.want, tt.next)
		}
	}

	// Following the cursor visits every Ready vault once, in order.
	var seen []string
	for after, pages := "", 0; ; pages++ {
		if pages > 5 {
			t.Fatal("the cursor does not end")
		}
		p := expect[listResponse](t, a.get("/v1/vaults?status=Ready&limit=1&after="+after), http.StatusOK)
		seen = append(seen, ids(p.Vaults)...)
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if want := []string{"HK-1", "HK-3", "HK-5"}; !slices.Equal(seen, want) {
		t.Fatalf("pages visited %v, want %v", seen, want)
	}
}

// ---- Diagrams ------------------------------------------------------------

func TestDiagrams(t *testing.T) {
	a := newTestAPI(t)
	for path, want := range map[string]struct{ contentType, body string }{
		"/v1/lifecycle.mmd": {"text/plain; charset=utf-8", status.Mermaid()},
		"/v1/lifecycle.dot": {"text/vnd.graphviz; charset=utf-8", status.DOT()},
	} {
		r := a.get(path)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != want.contentType || string(r.body) != want.body {
			t.Errorf("GET %s: %d %q\n%s\nwant 200 %q\n%s", path, r.status, r.header.Get("Content-Type"), r.body, want.contentType, want.body)
		}
	}
}

// ---- Bad requests --------------------------------------------------------

func TestBadRequests(t *testing.T) {
	a := newTestAPI(t)
	a.importIDs("HK-1", "HK-2")
	expect[vaultResponse](t, a.post("/v1/vaults/HK-2/assign", `{"owner":"alice"}`), http.StatusOK)

	tests := []struct {
		name         string
		method, path string
		actor        string // "" sends no X-Actor
		body         string
		status       int
		code         string
	}{
		// Malformed bodies.
		{"UnknownField", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":"bob","ownr":"x"}`, 400, "invalid_argument"},
		{"MalformedJSON", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":}`, 400, "invalid_argument"},
		{"TruncatedJSON", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":"bob"`, 400, "invalid_argument"},
		{"TrailingData", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":"bob"} {}`, 400, "invalid_argument"},
		{"TrailingGarbage", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":"bob"}x`, 400, "invalid_argument"},
		{"NotAnObject", "POST", "/v1/vaults/HK-1/assign", admin, `["bob"]`, 400, "invalid_argument"},
		{"NullBody", "POST", "/v1/vaults/HK-1/assign", admin, `null`, 400, "invalid_argument"},
		{"WrongFieldType", "POST", "/v1/vaults/HK-2/activate", admin, `{"code":123456}`, 400, "invalid_argument"},
		{"Oversize", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":"` + strings.Repeat("a", maxBodyBytes) + `"}`, 413, "too_large"},
		{"OversizeTrailingSpace", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":"bob"}` + strings.Repeat(" ", maxBodyBytes), 413, "too_large"},
		{"FieldsOnParameterlessCommand", "POST", "/v1/vaults/HK-1/wipe", admin, `{"force":true}`, 400, "invalid_argument"},

		// Reasons.
		{"UnknownReason", "POST", "/v1/vaults/HK-2/lock", admin, `{"reason":"Forgot"}`, 400, "invalid_argument"},
		{"NullReason", "POST", "/v1/vaults/HK-2/lock", admin, `{"reason":null}`, 400, "invalid_argument"},
		{"NumericReason", "POST", "/v1/vaults/HK-2/lock", admin, `{"reason":2}`, 400, "invalid_argument"},
		{"MissingReason", "POST", "/v1/vaults/HK-2/lock", admin, `{}`, 400, "invalid_argument"},
		{"ReasonOfAnotherStatus", "POST", "/v1/vaults/HK-2/lock", admin, `{"reason":"Lost"}`, 400, "invalid_argument"},

		// Arguments the Service refuses.
		{"BadVaultID", "GET", "/v1/vaults/bad%20id", "", "", 400, "invalid_argument"},
		{"EmptyOwner", "POST", "/v1/vaults/HK-1/assign", admin, `{"owner":""}`, 400, "invalid_argument"},
		{"MalformedCode", "POST", "/v1/vaults/HK-2/activate", admin, `{"code":"12ab56"}`, 400, "invalid_argument"},
		{"EmptyImport", "POST", "/v1/vaults", admin, `{"vaults":[]}`, 400, "invalid_argument"},

		// Queries.
		{"BadStatusInQuery", "GET", "/v1/vaults?status=Lost", "", "", 400, "invalid_argument"},
		{"NegativeLimit", "GET", "/v1/vaults?limit=-1", "", "", 400, "invalid_argument"},
		{"NonNumericLimit", "GET", "/v1/vaults?limit=ten", "", "", 400, "invalid_argument"},
		{"UnknownQueryParameter", "GET", "/v1/vaults?stauts=Ready", "", "", 400, "invalid_argument"},
		{"RepeatedQueryParameter", "GET", "/v1/vaults?status=Ready&status=Active", "", "", 400, "invalid_argument"},
		{"MalformedQuery", "GET", "/v1/vaults?status=%zz", "", "", 400, "invalid_argument"},
		{"BadCursor", "GET", "/v1/vaults?after=a%20b", "", "", 400, "invalid_argument"},

		// The actor.
		{"MissingActor", "POST", "/v1/vaults/HK-1/assign", "", `{"owner":"bob"}`, 400, "invalid_argument"},
		{"BlankActor", "POST", "/v1/vaults/HK-1/assign", "   ", `{"owner":"bob"}`, 400, "invalid_argument"},
		{"MissingActorOnDelete", "DELETE", "/v1/vaults/HK-2/accounts/mail", "", "", 400, "invalid_argument"},

		// Existence.
		{"UnknownVault", "GET", "/v1/vaults/HK-404", "", "", 404, "not_found"},
		{"UnknownVaultHistory", "GET", "/v1/vaults/HK-404/history", "", "", 404, "not_found"},
		{"UnknownVaultCommand", "POST", "/v1/vaults/HK-404/assign", admin, `{"owner":"bob"}`, 404, "not_found"},
		{"UnknownEndpoint", "GET", "/v1/keys", "", "", 404, "not_found"},
		{"WrongMethod", "DELETE", "/v1/vaults/HK-1", admin, "", 405, "method_not_allowed"},
		{"DuplicateImport", "POST", "/v1/vaults", admin, `{"vaults":[{"id":"HK-1"}]}`, 409, "exists"},

		// The lifecycle.
		{"RefusedTransition", "POST", "/v1/vaults/HK-1/wipe", admin, "", 409, "not_permitted"},
		{"RefusedTransitionFromReserved", "POST", "/v1/vaults/HK-2/suspend", admin, `{"description":"x"}`, 409, "not_permitted"},
		{"OperationNotAllowed", "PUT", "/v1/vaults/HK-2/accounts/mail", admin, `{"name":"Mail"}`, 409, "not_allowed"},
		{"ReissueWhenReady", "POST", "/v1/vaults/HK-1/reissue-code", admin, "", 409, "not_allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.method, tt.path, tt.actor, tt.body)
			e := expectError(t, r, tt.status, tt.code)
			if e.Vault != nil {
				t.Errorf("a refused request carries a vault: %s", r.body)
			}
			if tt.status == http.StatusMethodNotAllowed && r.header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}

	// None of it changed anything: HK-1 is as imported, HK-2 as assigned.
	for id, version := range map[string]uint64{"HK-1": 1, "HK-2": 2} {
		if v := expect[vaultResponse](t, a.get("/v1/vaults/"+id), http.StatusOK).Vault; v.Version != version {
			t.Errorf("%s is at version %d after refused requests, want %d", id, v.Version, version)
		}
	}
}

// TestActor checks that changes need X-Actor, reads do not, and the
// actor reaches the audit trail.
func TestActor(t *testing.T) {
	a := newTestAPI(t)
	a.importIDs("HK-1")

	e := expectError(t, a.do("POST", "/v1/vaults/HK-1/assign", "", `{"owner":"bob"}`), http.StatusBadRequest, "invalid_argument")
	if !strings.Contains(e.Error.Message, actorHeader) {
		t.Errorf("message %q does not name the %s header", e.Error.Message, actorHeader)
	}
	expect[vaultResponse](t, a.get("/v1/vaults/HK-1"), http.StatusOK) // reads need no actor

	// The header given twice is refused.
	req, _ := http.NewRequest("POST", a.srv.URL+"/v1/vaults/HK-1/assign", strings.NewReader(`{"owner":"bob"}`))
	req.Header.Add(actorHeader, "alice")
	req.Header.Add(actorHeader, "mallory")
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("two %s headers: status %d, want 400", actorHeader, resp.StatusCode)
	}

	expect[vaultResponse](t, a.do("POST", "/v1/vaults/HK-1/assign", "  carol@example.com ", `{"owner":"bob"}`), http.StatusOK)
	h := expect[historyResponse](t, a.get("/v1/vaults/HK-1/history"), http.StatusOK)
	if len(h.Events) != 2 || h.Events[1].Actor != "carol@example.com" {
		t.Fatalf("history %+v, want the assignment by carol@example.com (and nothing for refused requests)", h.Events)
	}
}

// TestGuardVeto checks that a guard's veto is 403 and changes nothing.
func TestGuardVeto(t *testing.T) {
	errPolicy := errors.New("keys are not issued to contractors")
	a := newTestAPI(t, vault.WithGuard(func(_ context.Context, v *vault.Vault, tr status.Trigger) error {
		if tr == status.Assign && v.Labels["pool"] == "staff" {
			return errPolicy
		}
		return nil
	}))
	expect[importResponse](t, a.post("/v1/vaults", `{"vaults":[{"id":"HK-1","labels":{"pool":"staff"}}]}`), http.StatusCreated)

	e := expectError(t, a.post("/v1/vaults/HK-1/assign", `{"owner":"contractor"}`), http.StatusForbidden, "rejected")
	if !strings.Contains(e.Error.Message, errPolicy.Error()) {
		t.Errorf("message %q does not give the guard's reason", e.Error.Message)
	}
	if v := expect[vaultResponse](t, a.get("/v1/vaults/HK-1"), http.StatusOK).Vault; v.Version != 1 || v.Status != status.Ready {
		t.Fatalf("after a veto the vault is %v at version %d, want Ready at 1", v.Status, v.Version)
	}
}

// TestGuardVetoWrappingASentinel checks that a veto is 403 even when the
// guard's own error wraps another sentinel.
func TestGuardVetoWrappingASentinel(t *testing.T) {
	a := newTestAPI(t, vault.WithGuard(func(context.Context, *vault.Vault, status.Trigger) error {
		return fmt.Errorf("owner directory: %w", vault.ErrNotFound)
	}))
	expectError(t, a.post("/v1/vaults", `{"vaults":[{"id":"HK-1"}]}`), http.StatusForbidden, "rejected")
}

// ---- Secrets -------------------------------------------------------------

// TestSecretsNeverInResponses drives vaults through every code-issuing
// command and checks that no response ever holds a code's hash or salt,
// and that a code appears only in the response of the command that
// issued it.
func TestSecretsNeverInResponses(t *testing.T) {
	// A whole-second clock keeps timestamps from containing 6-digit runs
	// that could be mistaken for a code.
	clock := &testClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	a := newTestAPI(t, vault.WithClock(clock.Now))
	a.importIDs("HK-1", "HK-2")

	var secrets [][]byte // hashes and salts seen in the store
	var codes []string
	remember := func(id string, r response) {
		t.Helper()
		codes = append(codes, expect[vaultResponse](t, r, http.StatusOK).ActivationCode)
		v, err := a.svc.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if v.Activation == nil || len(v.Activation.Hash) == 0 || len(v.Activation.Salt) == 0 {
			t.Fatalf("%s has no stored activation hash and salt", id)
		}
		secrets = append(secrets, v.Activation.Hash, v.Activation.Salt)
	}
	readAll := func(id string) {
		a.get("/v1/vaults/" + id)
		a.get("/v1/vaults/" + id + "/history")
		a.get("/v1/vaults")
		a.get("/v1/vaults?owner=alice")
	}

	remember("HK-1", a.post("/v1/vaults/HK-1/assign", `{"owner":"alice"}`))
	readAll("HK-1")
	remember("HK-1", a.post("/v1/vaults/HK-1/reissue-code", ""))
	readAll("HK-1")
	a.post("/v1/vaults/HK-1/activate", codeBody(wrongCode(codes[1])))
	a.post("/v1/vaults/HK-1/activate", codeBody(codes[1]))
	remember("HK-1", a.post("/v1/vaults/HK-1/suspend", `{"description":"vacation"}`))
	readAll("HK-1")
	remember("HK-2", a.post("/v1/vaults/HK-2/assign", `{"owner":"alice"}`))
	a.post("/v1/vaults/HK-2/lock", `{"reason":"LockedByInvalidPin"}`)
	remember("HK-2", a.post("/v1/vaults/HK-2/reactivate", ""))
	readAll("HK-2")

	a.mu.Lock()
	bodies := slices.Clone(a.bodies)
	a.mu.Unlock()
	for i, body := range bodies {
		for _, key := range []string{`"hash"`, `"salt"`, `"Hash"`, `"Salt"`} {
			if strings.Contains(body, key) {
				t.Errorf("response %d has a %s field: %s", i, key, body)
			}
		}
		for _, s := range secrets {
			for _, enc := range []string{
				hex.EncodeToString(s), strings.ToUpper(hex.EncodeToString(s)),
				base64.StdEncoding.EncodeToString(s), base64.RawStdEncoding.EncodeToString(s),
				base64.URLEncoding.EncodeToString(s), base64.RawURLEncoding.EncodeToString(s),
				string(s),
			} {
				if strings.Contains(body, enc) {
					t.Fatalf("response %d holds an activation hash or salt (%q): %s", i, enc, body)
				}
			}
		}
		// Codes: only in the response that issued them.
		issued := 0
		for _, c := range codes {
			if strings.Contains(body, `"`+c+`"`) {
				issued++
				if !strings.Contains(body, `"activation_code":"`+c+`"`) {
					t.Errorf("response %d shows code %s outside activation_code: %s", i, c, body)
				}
			}
		}
		if issued > 1 {
			t.Errorf("response %d shows %d codes: %s", i, issued, body)
		}
	}
	for _, c := range codes {
		n := 0
		for _, body := range bodies {
			if strings.Contains(body, `"activation_code":"`+c+`"`) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("code %s appears in %d responses, want exactly 1", c, n)
		}
	}
}

// ---- Internal errors -----------------------------------------------------

// failingStore fails every Get with an error full of internals.
type failingStore struct{ vault.Store }

var errDisk = errors.New("pq: connection to 10.0.0.7:5432 refused (password authentication failed)")

func (failingStore) Get(context.Context, string) (*vault.Vault, error) { return nil, errDisk }

// TestInternalErrorsAreNotLeaked checks that an unexpected error is a 500
// with a generic message, and that its details reach the log only.
func TestInternalErrorsAreNotLeaked(t *testing.T) {
	var logs bytes.Buffer
	srv, _ := newTestServer(t, failingStore{store.NewMemory()}, slog.New(slog.NewTextHandler(&logs, nil)))

	resp, err := srv.Client().Get(srv.URL + "/v1/vaults/HK-1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, header: resp.Header, body: body}
	e := expectError(t, r, http.StatusInternalServerError, "internal")
	if e.Error.Message != "internal error" || strings.Contains(string(body), "10.0.0.7") {
		t.Errorf("500 leaks details: %s", body)
	}
	srv.Close() // flushes the handler's log writes before we read them
	if !strings.Contains(logs.String(), "10.0.0.7") {
		t.Errorf("the log does not hold the error: %q", logs.String())
	}
}

// ---- The program ---------------------------------------------------------

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listeningURL = regexp.MustCompile(`msg=listening url=(http://\S+)`)

// TestRun starts the program on a free port with the demo keys, uses it,
// and stops it the way a signal does: by cancelling its context.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-seed", "-allow-host", "admin.example.com", "-allow-host", "Other.Example:9,[::2]"}, out)
	}()

	var base string
	for deadline := time.Now().Add(10 * time.Second); base == ""; {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("run did not report its address:\n%s", out)
		}
		if m := listeningURL.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		time.Sleep(10 * time.Millisecond)
	}

	resp, err := http.Get(base + "/v1/vaults")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	list := expect[listResponse](t, response{status: resp.StatusCode, header: resp.Header, body: body}, http.StatusOK)
	if len(list.Vaults) != 5 {
		t.Fatalf("seeded %d vaults, want 5", len(list.Vaults))
	}

	// The Host check: the defaults and the -allow-host names pass.
	port := base[strings.LastIndex(base, ":")+1:]
	for host, want := range map[string]int{
		"127.0.0.1:" + port:         http.StatusOK,
		"localhost:" + port:         http.StatusOK,
		"admin.example.com":         http.StatusOK, // no port in the flag: any port, or none
		"admin.example.com:8443":    http.StatusOK,
		"other.example:9":           http.StatusOK,
		"[::2]:" + port:             http.StatusOK,
		"other.example:" + port:     http.StatusMisdirectedRequest, // the flag gave port 9
		"evil.example:" + port:      http.StatusMisdirectedRequest,
		"localhost:" + port + "1":   http.StatusMisdirectedRequest,
		"admin.example.com.evil.io": http.StatusMisdirectedRequest,
	} {
		req, _ := http.NewRequest("GET", base+"/v1/vaults/HK-0001", nil)
		req.Host = host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("Host %q: status %d, want %d", host, resp.StatusCode, want)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run after cancel: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("run did not return after its context was cancelled")
	}
	if !strings.Contains(out.String(), "msg=stopped") {
		t.Errorf("no clean stop in the log:\n%s", out)
	}
}

// TestServeFinishesRequestsInFlight checks that shutting down stops
// accepting connections but lets a request already being served finish.
func TestServeFinishesRequestsInFlight(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	api := newHandler(store.NewMemory(), slog.New(slog.DiscardHandler), options{allowedHosts: testHosts(t, ln)})
	if err := seedDemo(t.Context(), api.svc); err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	var once sync.Once
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(entered) })
		api.ServeHTTP(w, r)
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, slog.New(slog.DiscardHandler)) }()

	// Send the headers and half the body, so that the handler is running,
	// blocked reading the rest.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"owner":"alice@example.com"}`
	fmt.Fprintf(conn, "POST /v1/vaults/HK-0001/assign HTTP/1.1\r\nHost: %s\r\n%s: admin\r\nContent-Length: %d\r\n\r\n%s",
		ln.Addr(), actorHeader, len(body), body[:10])
	<-entered

	cancel()
	// Shutdown closes the listener first: wait for that.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("the listener still accepts connections after cancel")
		}
	}
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) with a request in flight", err)
	default:
	}

	// The request in flight completes.
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assigned := expect[vaultResponse](t, response{status: resp.StatusCode, header: resp.Header, body: b}, http.StatusOK)
	wantVault(t, assigned.Vault, status.Reserved, status.None)

	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve after a graceful shutdown: %v", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatal("serve did not return after the last request finished")
	}
}

func TestRunArguments(t *testing.T) {
	tests := []struct {
		args []string
		want func(error) bool
	}{
		{[]string{"-h"}, func(err error) bool { return errors.Is(err, flag.ErrHelp) }},
		{[]string{"-port", "80"}, func(err error) bool { return err != nil }},
		{[]string{"extra"}, func(err error) bool { return err != nil }},
		{[]string{"-addr", "127.0.0.1:99999"}, func(err error) bool { return err != nil }},
		{[]string{"-allow-host", "http://evil.example"}, func(err error) bool { return err != nil }},
		{[]string{"-allow-host", "a.example,"}, func(err error) bool { return err != nil }},
		{[]string{"-allow-host", "a.example:port"}, func(err error) bool { return err != nil }},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if err := run(t.Context(), tt.args, &out); !tt.want(err) {
			t.Errorf("run(%q) = %v", tt.args, err)
		}
	}
}
