package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// ---- Cancellation and timeouts --------------------------------------------

// blockingStore's Get waits until its context is done, like a driver
// waiting on a slow database, then fails with the context's error in a
// driver's words.
type blockingStore struct {
	vault.Store
	entered chan struct{} // closed when Get starts waiting
}

func (s blockingStore) Get(ctx context.Context, id string) (*vault.Vault, error) {
	close(s.entered)
	<-ctx.Done()
	return nil, fmt.Errorf("pgx: read tcp 10.0.0.7:5432: %w", ctx.Err())
}

// statusRecorder records the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

// TestClientGone: a client that disconnects while its request is served
// is not a server failure. Its request is answered 499 with no body, and
// logged at DEBUG, not as an ERROR.
func TestClientGone(t *testing.T) {
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := blockingStore{Store: store.NewMemory(), entered: make(chan struct{})}
	srv := httptest.NewUnstartedServer(nil)
	api := newHandler(st, log, options{allowedHosts: testHosts(t, srv.Listener)})
	wrote := make(chan int, 1)
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		api.ServeHTTP(rec, r)
		wrote <- rec.status
	})
	srv.Start()
	defer srv.Close()

	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/v1/vaults/HK-1", nil)
	go func() {
		<-st.entered
		cancel() // the client gives up and closes the connection
	}()
	if _, err := srv.Client().Do(req); !errors.Is(err, context.Canceled) {
		t.Fatalf("client: %v, want context.Canceled", err)
	}
	if got := <-wrote; got != statusClientClosedRequest {
		t.Errorf("the handler wrote status %d, want %d", got, statusClientClosedRequest)
	}
	srv.Close() // waits for the handler, and its log writes
	out := logs.String()
	if strings.Contains(out, "level=ERROR") || strings.Contains(out, "level=WARN") {
		t.Errorf("a client that went away is logged as a failure:\n%s", out)
	}
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "status=499") {
		t.Errorf("no DEBUG record of the 499:\n%s", out)
	}

	// Written to a recorder, the 499 has no body.
	st = blockingStore{Store: store.NewMemory(), entered: make(chan struct{})}
	api = newHandler(st, slog.New(slog.DiscardHandler), options{allowedHosts: defaultHosts("80")})
	ctx, cancel = context.WithCancel(t.Context())
	go func() {
		<-st.entered
		cancel()
	}()
	rec := httptest.NewRecorder()
	req = httptest.NewRequestWithContext(ctx, "GET", "http://localhost/v1/vaults/HK-1", nil)
	api.ServeHTTP(rec, req)
	if rec.Code != statusClientClosedRequest || rec.Body.Len() != 0 {
		t.Errorf("status %d, body %q; want 499 and none", rec.Code, rec.Body)
	}
}

// deadlineStore's Get runs out of a deadline of its own, as a store with
// a query timeout does.
type deadlineStore struct{ vault.Store }

func (deadlineStore) Get(ctx context.Context, id string) (*vault.Vault, error) {
	ctx, cancel := context.WithTimeout(ctx, 0)
	defer cancel()
	<-ctx.Done()
	return nil, fmt.Errorf("pgx: query on 10.0.0.7:5432: %w", ctx.Err())
}

// canceledStore fails with context.Canceled while the request goes on:
// something inside was cancelled, not the client.
type canceledStore struct{ vault.Store }

func (canceledStore) Get(context.Context, string) (*vault.Vault, error) {
	return nil, fmt.Errorf("pgx: pool closed on 10.0.0.7:5432: %w", context.Canceled)
}

// TestTimeout: a deadline that runs out is 504 timeout, without the
// store's words, logged as a warning rather than an ERROR.
func TestTimeout(t *testing.T) {
	var logs bytes.Buffer
	srv, _ := newTestServer(t, deadlineStore{store.NewMemory()}, slog.New(slog.NewTextHandler(&logs, nil)))
	r := get(t, srv, "/v1/vaults/HK-1")
	expectError(t, r, http.StatusGatewayTimeout, "timeout")
	if strings.Contains(string(r.body), "10.0.0.7") || strings.Contains(string(r.body), "pgx") {
		t.Errorf("504 leaks the store's error: %s", r.body)
	}
	srv.Close()
	if out := logs.String(); strings.Contains(out, "level=ERROR") || !strings.Contains(out, "level=WARN") || !strings.Contains(out, "10.0.0.7") {
		t.Errorf("want the timeout logged as a WARN with its cause, not as an ERROR:\n%s", out)
	}

	// context.Canceled while the client is still there is not a 499: it
	// is unexpected, and the client gets the usual 500.
	logs.Reset()
	srv, _ = newTestServer(t, canceledStore{store.NewMemory()}, slog.New(slog.NewTextHandler(&logs, nil)))
	r = get(t, srv, "/v1/vaults/HK-1")
	if e := expectError(t, r, http.StatusInternalServerError, "internal"); e.Error.Message != "internal error" {
		t.Errorf("500 leaks details: %s", r.body)
	}
}

// get sends a GET to srv.
func get(t *testing.T, srv *httptest.Server, path string) response {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// ---- What error messages show -------------------------------------------

// leakyStore wraps the in-memory store and fails the methods named in
// fail with errors that wrap vault sentinels, as a database store's do,
// in a driver's words.
type leakyStore struct {
	vault.Store
	fail map[string]error
}

// driver is the text of a database driver's errors.
const driver = "SQLSTATE"

var (
	errDriverJSON     = fmt.Errorf("postgres: Get \"HK-1\": %w: ERROR: invalid input syntax for type json (SQLSTATE 22P02)", vault.ErrInvalidArgument)
	errDriverNoRows   = fmt.Errorf("postgres: History \"HK-1\": %w: no rows in result set (SQLSTATE 02000) on 10.0.0.7", vault.ErrNotFound)
	errDriverSerial   = fmt.Errorf("postgres: Update \"HK-1\": %w: ERROR: could not serialize access due to concurrent update (SQLSTATE 40001)", vault.ErrConflict)
	errDriverUnique   = fmt.Errorf("postgres: Create: %w: ERROR: duplicate key value violates unique constraint \"vaults_pkey\" (SQLSTATE 23505)", vault.ErrExists)
	errDriverListArgs = fmt.Errorf("postgres: List: %w: ERROR: invalid byte sequence for encoding \"UTF8\": 0x00 (SQLSTATE 22021)", vault.ErrInvalidArgument)
)

func (s leakyStore) Create(ctx context.Context, vs []*vault.Vault, evs []vault.Event) error {
	if err := s.fail["Create"]; err != nil {
		return err
	}
	return s.Store.Create(ctx, vs, evs)
}

func (s leakyStore) Get(ctx context.Context, id string) (*vault.Vault, error) {
	if err := s.fail["Get"]; err != nil {
		return nil, err
	}
	return s.Store.Get(ctx, id)
}

func (s leakyStore) Update(ctx context.Context, v *vault.Vault, evs []vault.Event) error {
	if err := s.fail["Update"]; err != nil {
		return err
	}
	return s.Store.Update(ctx, v, evs)
}

func (s leakyStore) List(ctx context.Context, f vault.Filter) (vault.Page, error) {
	if err := s.fail["List"]; err != nil {
		return vault.Page{}, err
	}
	return s.Store.List(ctx, f)
}

func (s leakyStore) History(ctx context.Context, id string) ([]vault.Event, error) {
	if err := s.fail["History"]; err != nil {
		return nil, err
	}
	return s.Store.History(ctx, id)
}

// TestStoreErrorsAreNotLeaked: a store's errors map to their sentinel's
// status and code, but the client sees only the command, the vault ID
// and the sentinel's meaning, never the driver's text, which goes to the
// log.
func TestStoreErrorsAreNotLeaked(t *testing.T) {
	tests := []struct {
		name         string
		fail         map[string]error
		method, path string
		body         string
		status       int
		code         string
		message      string
	}{
		{"InvalidArgument", map[string]error{"Get": errDriverJSON}, "GET", "/v1/vaults/HK-1", "",
			400, "invalid_argument", `vault: Get "HK-1": invalid argument`},
		{"InvalidArgumentInCommand", map[string]error{"Get": errDriverJSON}, "POST", "/v1/vaults/HK-1/assign", `{"owner":"bob"}`,
			400, "invalid_argument", `vault: Assign "HK-1": invalid argument`},
		{"NotFound", map[string]error{"History": errDriverNoRows}, "GET", "/v1/vaults/HK-1/history", "",
			404, "not_found", `vault: History "HK-1": not found`},
		{"ConflictAfterRetries", map[string]error{"Update": errDriverSerial}, "POST", "/v1/vaults/HK-1/assign", `{"owner":"bob"}`,
			409, "conflict", `vault: Assign "HK-1": concurrent update conflict`},
		{"Exists", map[string]error{"Create": errDriverUnique}, "POST", "/v1/vaults", `{"vaults":[{"id":"HK-2"},{"id":"HK-3"}]}`,
			409, "exists", `vault: Import: already exists`},
		{"ListInvalidArgument", map[string]error{"List": errDriverListArgs}, "GET", "/v1/vaults", "",
			400, "invalid_argument", `vault: List: invalid argument`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			st := leakyStore{Store: store.NewMemory(), fail: map[string]error{}}
			srv, api := newTestServer(t, st, slog.New(slog.NewTextHandler(&logs, nil)))
			if _, err := api.svc.Import(vault.WithActor(t.Context(), "test"), vault.NewVault{ID: "HK-1"}); err != nil {
				t.Fatal(err)
			}
			for op, err := range tt.fail {
				st.fail[op] = err
			}
			a := &testAPI{t: t, srv: srv, svc: api.svc}
			e := expectError(t, a.do(tt.method, tt.path, admin, tt.body), tt.status, tt.code)
			if e.Error.Message != tt.message {
				t.Errorf("message %q, want %q", e.Error.Message, tt.message)
			}
			srv.Close()
			if !strings.Contains(logs.String(), driver) {
				t.Errorf("the log does not hold the store's error:\n%s", logs.String())
			}
		})
	}
}

// TestStoreErrorsUnderAGuard: what a store returns is told only by its
// sentinel whatever wraps it, even when a guard passes it on under
// ErrRejected.
func TestStoreErrorsUnderAGuard(t *testing.T) {
	st := leakyStore{Store: store.NewMemory(), fail: map[string]error{}}
	var svc *vault.Service
	guard := func(ctx context.Context, v *vault.Vault, tr status.Trigger) error {
		if tr != status.Assign {
			return nil
		}
		st.fail["Get"] = errDriverJSON
		defer delete(st.fail, "Get")
		_, err := svc.Get(ctx, "HK-OTHER") // say, a look-up of the owner's other keys
		return fmt.Errorf("owner's other keys: %w", err)
	}
	srv, api := newTestServer(t, st, slog.New(slog.DiscardHandler), vault.WithGuard(guard))
	svc = api.svc
	a := &testAPI{t: t, srv: srv, svc: svc}
	a.importIDs("HK-1")
	e := expectError(t, a.post("/v1/vaults/HK-1/assign", `{"owner":"bob"}`), http.StatusForbidden, "rejected")
	if want := `vault: Assign "HK-1": rejected by guard`; e.Error.Message != want {
		t.Errorf("message %q, want %q", e.Error.Message, want)
	}
}

// TestServiceMessagesAreShown: what the Service says itself (validation,
// the lifecycle's refusals, the code checks) reaches the client whole,
// with the command and the vault ID.
func TestServiceMessagesAreShown(t *testing.T) {
	a := newTestAPI(t)
	a.importIDs("HK-1")
	tests := []struct {
		path, body string
		status     int
		code       string
		message    string
	}{
		{"/v1/vaults/HK-1/assign", `{"owner":""}`, 400, "invalid_argument", `vault: Assign "HK-1": owner must be 1-256 bytes, is 0: invalid argument`},
		{"/v1/vaults/HK-1/wipe", ``, 409, "not_permitted", `vault: Wipe "HK-1": status: Wipe is not permitted from Ready`},
		{"/v1/vaults/HK-1/compromise", `{"reason":"Lost","confirm":"HK-2"}`, 422, "confirmation", `vault: Compromise "HK-1": to compromise a vault irreversibly, confirm with its ID: confirmation does not match the vault ID`},
		{"/v1/vaults/HK-1/lock", `{"reason":"Lost"}`, 400, "invalid_argument", `vault: Lock "HK-1": invalid argument: status: invalid reason Lost for Locked`},
		{"/v1/vaults/HK-404/assign", `{"owner":"bob"}`, 404, "not_found", `vault: Assign "HK-404": not found`}, // from the store: its words are not shown
	}
	for _, tt := range tests {
		e := expectError(t, a.post(tt.path, tt.body), tt.status, tt.code)
		if !strings.HasPrefix(e.Error.Message, tt.message) {
			t.Errorf("POST %s %s: message %q, want %q", tt.path, tt.body, e.Error.Message, tt.message)
		}
	}
}
