package main

// This file holds the API's wire format: the JSON request and response
// types, and how errors become HTTP statuses and error bodies.

import (
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// ---- Requests ----------------------------------------------------------
//
// Every request body is one JSON object; unknown fields are refused. An
// empty body reads as {}, so a command without parameters may be sent
// without one.

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
//   - status.ErrInvalidReason is also wrapped by ErrInvalidArgument;
//     both are 400 invalid_argument.
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
	{status.ErrInvalidReason, http.StatusBadRequest, "invalid_argument"},
	{status.ErrUnknown, http.StatusBadRequest, "invalid_argument"},
}

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

// classify returns the HTTP status and error code for err, and whether
// err is one the client may see. Anything unexpected is a 500 whose
// details stay in the server log.
func classify(err error) (httpStatus int, code string, public bool) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.code, true
	}
	for _, m := range errorMapping {
		if errors.Is(err, m.target) {
			return m.status, m.code, true
		}
	}
	return http.StatusInternalServerError, "internal", false
}

// writeError answers err as a JSON error body; see [classify].
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	httpStatus, code, public := classify(err)
	body := errorResponse{Error: errorBody{Code: code, Message: err.Error()}}
	if !public {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error.Message = "internal error"
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
