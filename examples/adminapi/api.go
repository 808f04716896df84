package main

// This file holds the API's wire format: the JSON request and response
// types, and how errors become HTTP statuses and error bodies.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// ---- Requests ----------------------------------------------------------
//
// Every request body is one JSON object; unknown fields, keys that match
// a field only without regard to case, and keys given twice are refused
// (see decode). An empty body reads as {}, so a command without
// parameters may be sent without one.

type importRequest struct {
	Vaults []newVault `json:"vaults"`
}

type newVault struct {
	ID     string            `json:"id"`
	Labels map[string]string `json:"labels"`
}

type assignRequest struct {
	Owner string `json:"owner"`
}

type activateRequest struct {
	Code string `json:"code"` // a string: codes may start with 0
}

type lockRequest struct {
	Reason status.Reason `json:"reason"` // InvalidActivationCode or LockedByInvalidPin
}

type suspendRequest struct {
	Description string `json:"description"`
}

type withdrawRequest struct {
	Reason      status.Reason `json:"reason"` // Withdrawal or Broken
	Description string        `json:"description"`
}

type compromiseRequest struct {
	Reason      status.Reason `json:"reason"` // Lost or Stolen
	Description string        `json:"description"`
	Confirm     string        `json:"confirm"` // must repeat the vault ID
}

type addAccountRequest struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Login string `json:"login"`
}

// updateAccountRequest has no ID: the account is named in the path.
type updateAccountRequest struct {
	Name  string `json:"name"`
	Login string `json:"login"`
}

// noParams is the body of commands that take no parameters: {} or nothing.
type noParams struct{}

// ---- Responses ---------------------------------------------------------

// vaultView is the JSON form of a vault. It is a type of its own, not
// vault.Vault with tags, so that what the API shows is decided here: in
// particular the activation code's hash and salt are never part of it.
type vaultView struct {
	ID          string            `json:"id"`
	Labels      map[string]string `json:"labels"`
	Status      status.Status     `json:"status"`
	Reason      status.Reason     `json:"reason"`
	Description string            `json:"description"`
	Owner       string            `json:"owner"`
	Accounts    []accountView     `json:"accounts"`
	Activation  *activationView   `json:"activation"` // null when no code is pending
	Version     uint64            `json:"version"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

type accountView struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Login   string `json:"login"`
	Pending bool   `json:"pending"` // added while Reserved, reaches the key on activation
}

// activationView says that a code is pending, until when, and how many
// wrong codes were entered. Deliberately without Hash and Salt.
type activationView struct {
	IssuedAt  time.Time `json:"issued_at"`
	ExpiresAt time.Time `json:"expires_at"`
	Attempts  int       `json:"attempts"`
}

// viewOf converts a vault to its JSON view. Empty labels and accounts are
// {} and [] rather than null, so clients need no special case.
func viewOf(v *vault.Vault) *vaultView {
	view := &vaultView{
		ID:          v.ID,
		Labels:      map[string]string{},
		Status:      v.Status,
		Reason:      v.Reason,
		Description: v.Description,
		Owner:       v.Owner,
		Accounts:    make([]accountView, 0, len(v.Accounts)),
		Version:     v.Version,
		CreatedAt:   v.CreatedAt,
		UpdatedAt:   v.UpdatedAt,
	}
	maps.Copy(view.Labels, v.Labels)
	for _, a := range v.Accounts {
		view.Accounts = append(view.Accounts, accountView{ID: a.ID, Name: a.Name, Login: a.Login, Pending: a.Pending})
	}
	if a := v.Activation; a != nil {
		view.Activation = &activationView{IssuedAt: a.IssuedAt, ExpiresAt: a.ExpiresAt, Attempts: a.Attempts}
	}
	return view
}

func viewsOf(vs []*vault.Vault) []*vaultView {
	views := make([]*vaultView, 0, len(vs))
	for _, v := range vs {
		views = append(views, viewOf(v))
	}
	return views
}

// vaultResponse answers every request about one vault. ActivationCode is
// set only by the commands that issue a code, and only in that response:
// the code is stored as a hash and cannot be shown again.
type vaultResponse struct {
	Vault          *vaultView `json:"vault"`
	ActivationCode string     `json:"activation_code,omitempty"`
}

type importResponse struct {
	Vaults []*vaultView `json:"vaults"` // in the order of the request
}

// A locator is a response body that names the resource a request
// created, for the Location header.
type locator interface{ location() string }

// location is the created vault's URL path when the import created one
// vault. A batch of several has no one URL to give, so none is given;
// the body lists them all.
func (r importResponse) location() string {
	if len(r.Vaults) != 1 {
		return ""
	}
	return "/v1/vaults/" + url.PathEscape(r.Vaults[0].ID)
}

type listResponse struct {
	Vaults []*vaultView `json:"vaults"`
	Next   string       `json:"next"` // pass as ?after= for the next page; "" on the last page
}

type historyResponse struct {
	Events []eventView `json:"events"`
}

// eventView is the JSON form of a vault.Event.
type eventView struct {
	Version     uint64        `json:"version"`
	Action      vault.Action  `json:"action"`
	Trigger     string        `json:"trigger,omitempty"` // absent for changes that are not transitions
	From        status.Status `json:"from"`
	To          status.Status `json:"to"`
	Reason      status.Reason `json:"reason"`
	Description string        `json:"description"`
	Account     string        `json:"account,omitempty"`
	Actor       string        `json:"actor"`
	Time        time.Time     `json:"time"`
}

func eventViewOf(e vault.Event) eventView {
	ev := eventView{
		Version: e.Version, Action: e.Action, From: e.From, To: e.To, Reason: e.Reason,
		Description: e.Description, Account: e.Account, Actor: e.Actor, Time: e.Time,
	}
	if e.Trigger.IsValid() {
		ev.Trigger = e.Trigger.String()
	}
	return ev
}

type permittedResponse struct {
	ID        string           `json:"id"`
	Status    status.Status    `json:"status"`
	Permitted []status.Trigger `json:"permitted"` // [] for Compromised
}

// ---- Errors ------------------------------------------------------------

// errorResponse is the body of every error response:
//
//	{"error": {"code": "not_permitted", "message": "..."}}
//
// A wrong activation code is a stored change (the attempt is counted, and
// the last one locks the vault), so that error also carries the vault.
type errorResponse struct {
	Error errorBody  `json:"error"`
	Vault *vaultView `json:"vault,omitempty"`
}

type errorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// errorMapping maps the SDK's sentinel errors to HTTP. The first entry
// that matches (errors.Is) wins, so the order matters:
//   - ErrRejected comes first because it also wraps the guard's own
//     error, which may wrap anything, even another sentinel.
//
// status.ErrInvalidReason has no row: the Service checks reasons before
// anything else and wraps that error in ErrInvalidArgument, and decoding
// a reason that is not one is status.ErrUnknown.
var errorMapping = []struct {
	target error
	status int
	code   string
}{
	{vault.ErrRejected, http.StatusForbidden, "rejected"},
	{status.ErrNotPermitted, http.StatusConflict, "not_permitted"},
	{vault.ErrNotFound, http.StatusNotFound, "not_found"},
	{vault.ErrConflict, http.StatusConflict, "conflict"},
	{vault.ErrExists, http.StatusConflict, "exists"},
	{vault.ErrNotAllowed, http.StatusConflict, "not_allowed"},
	{vault.ErrInvalidCode, http.StatusUnprocessableEntity, "invalid_code"},
	{vault.ErrCodeExpired, http.StatusUnprocessableEntity, "code_expired"},
	{vault.ErrConfirmation, http.StatusUnprocessableEntity, "confirmation"},
	{vault.ErrInvalidArgument, http.StatusBadRequest, "invalid_argument"},
	{status.ErrUnknown, http.StatusBadRequest, "invalid_argument"},
}

// statusClientClosedRequest is nginx's status for a request whose client
// went away before the answer; nobody reads it, but logs and middleware
// can tell it from an answer.
const statusClientClosedRequest = 499

// httpError is an error this program raises itself (a malformed body, a
// missing header...) with the HTTP status and code it answers with.
type httpError struct {
	status  int
	code    string
	message string
}

func (e *httpError) Error() string { return e.message }

func badRequest(message string) error {
	return &httpError{status: http.StatusBadRequest, code: "invalid_argument", message: message}
}

// changedError is an error from a command that nevertheless stored a
// change: a wrong activation code. The response shows the vault after it.
type changedError struct {
	err   error
	vault *vault.Vault
}

func (e *changedError) Error() string { return e.err.Error() }
func (e *changedError) Unwrap() error { return e.err }

// storeError marks an error that the Store returned: its text is the
// store's, and may hold driver or database details. It wraps the error
// unchanged, so the Service and errors.Is see through it.
type storeError struct{ err error }

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

// markStore returns st with every error it returns marked as a
// *storeError. newHandler builds its Service over it, so that
// [publicMessage] can tell where an error's text comes from.
func markStore(st vault.Store) vault.Store { return markedStore{st} }

type markedStore struct{ st vault.Store }

func mark(err error) error {
	if err == nil {
		return nil
	}
	return &storeError{err}
}

func (m markedStore) Create(ctx context.Context, vaults []*vault.Vault, events []vault.Event) error {
	return mark(m.st.Create(ctx, vaults, events))
}

func (m markedStore) Get(ctx context.Context, id string) (*vault.Vault, error) {
	v, err := m.st.Get(ctx, id)
	return v, mark(err)
}

func (m markedStore) Update(ctx context.Context, v *vault.Vault, events []vault.Event) error {
	return mark(m.st.Update(ctx, v, events))
}

func (m markedStore) List(ctx context.Context, f vault.Filter) (vault.Page, error) {
	p, err := m.st.List(ctx, f)
	return p, mark(err)
}

func (m markedStore) History(ctx context.Context, id string) ([]vault.Event, error) {
	evs, err := m.st.History(ctx, id)
	return evs, mark(err)
}

// classify returns the HTTP status and error code for err, and the
// sentinel it matched (nil for this program's own errors). Anything
// unexpected is a 500 whose details stay in the server log.
func classify(err error) (httpStatus int, code string, target error) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.code, nil
	}
	for _, m := range errorMapping {
		if errors.Is(err, m.target) {
			return m.status, m.code, m.target
		}
	}
	return http.StatusInternalServerError, "internal", nil
}

// publicMessage returns the message the client sees for err, a 4xx that
// matched the sentinel target, and whether it withheld text of err. The
// rule is where the text comes from:
//
//   - An error that holds a *storeError came from the store, whose text
//     may be a driver's ("ERROR: invalid input syntax for type json
//     (SQLSTATE 22P02)"). The client sees only what the *vault.Error and
//     the sentinel say: `vault: Get "HK-1": not found`. Stores may return
//     ErrNotFound, ErrExists, ErrConflict and ErrInvalidArgument; the
//     Service's retries wrap a store's ErrConflict; a guard that calls
//     the store may wrap any of it; the rule is the same for all.
//   - Anything else is the Service's own making, shown whole: its
//     validation ("owner must be 1-256 bytes, is 0"), the lifecycle's
//     refusals (*status.TransitionError), the code checks, and under
//     ErrRejected the guard's error, which is host policy written for
//     users. This program's own errors (httpError, a status name that
//     does not parse) describe the request and are shown whole too.
//
// The criterion is exact because newHandler builds the Service over
// [markStore]: every error the store returns is marked, whatever it wraps.
func publicMessage(err, target error) (message string, withheld bool) {
	var se *storeError
	if target == nil || !errors.As(err, &se) {
		return err.Error(), false
	}
	ve := &vault.Error{Err: target}
	var e *vault.Error
	if errors.As(err, &e) {
		ve.Op, ve.ID = e.Op, e.ID
		if e.Op == "Import" {
			// The Service names the batch's first vault, which need not
			// be the one the store refused.
			ve.ID = ""
		}
	}
	if ve.Op == "" {
		return target.Error(), true
	}
	return ve.Error(), true
}

// writeError answers err as a JSON error body; see [classify] and
// [publicMessage]. Context errors are told apart first:
//
//   - context.Canceled while the request's context is done: the client
//     went away (or the server closed its connection). Nobody reads the
//     answer, so it is a bare 499, logged at DEBUG only.
//   - context.DeadlineExceeded: a deadline ran out, in the store, say.
//     The answer is 504 timeout, logged as a warning.
//
// Unexpected errors are 500s, logged as errors. A 4xx whose store text
// was withheld is logged at INFO with the whole chain.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	switch {
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		log.Debug("client closed request", "method", r.Method, "path", r.URL.Path, "status", statusClientClosedRequest, "err", err)
		w.WriteHeader(statusClientClosedRequest)
		return
	case errors.Is(err, context.DeadlineExceeded):
		log.Warn("request timed out", "method", r.Method, "path", r.URL.Path, "err", err)
		writeJSON(w, log, http.StatusGatewayTimeout, errorResponse{Error: errorBody{
			Code: "timeout", Message: "the request ran out of time; try again",
		}})
		return
	}
	httpStatus, code, target := classify(err)
	body := errorResponse{Error: errorBody{Code: code}}
	if httpStatus == http.StatusInternalServerError {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Message = "internal error"
	} else {
		message, withheld := publicMessage(err, target)
		if withheld {
			log.Info("store error detail withheld", "method", r.Method, "path", r.URL.Path, "status", httpStatus, "err", err)
		}
		body.Error.Message = message
	}
	var ce *changedError
	if errors.As(err, &ce) {
		body.Vault = viewOf(ce.vault)
	}
	writeJSON(w, log, httpStatus, body)
}

// writeJSON answers with body as JSON. It encodes before it writes, so
// that a value that cannot be encoded becomes a clean 500 rather than a
// truncated 200.
func writeJSON(w http.ResponseWriter, log *slog.Logger, httpStatus int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		log.Error("encoding response", "err", err)
		httpStatus = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store") // responses may hold an activation code
	w.WriteHeader(httpStatus)
	w.Write(append(b, '\n'))
}
