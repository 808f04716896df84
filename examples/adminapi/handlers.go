package main

// This file holds the HTTP side: the routes, one small function per
// endpoint, and the plumbing every request goes through (body limit,
// actor header, JSON decoding).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

const (
	// maxBodyBytes bounds every request body; a larger one is 413.
	maxBodyBytes = 64 << 10
	// actorHeader names who makes a change; it is recorded on its event.
	actorHeader = "X-Actor"
	// maxActor bounds the actor's length in bytes.
	maxActor = 256
)

// server is the admin API over one vault.Service.
type server struct {
	svc   *vault.Service
	log   *slog.Logger
	mux   *http.ServeMux
	hosts []hostRule
}

// options configures newHandler.
type options struct {
	// allowedHosts are the Host header values served (see hostAllowed);
	// requests with any other are 421. Empty allows none: see defaultHosts.
	allowedHosts []hostRule
	// service are the options of the Service the API builds.
	service []vault.Option
}

// newHandler returns the admin API over a Service it builds on st.
// Unexpected errors are logged to log and answered with a generic 500.
//
// It builds the Service itself, over st wrapped by [markStore], so that
// it can tell a store's errors (whose text may hold driver details and is
// never shown) from the Service's own; the result's svc field is that
// Service, for seeding.
func newHandler(st vault.Store, log *slog.Logger, opts options) *server {
	s := &server{
		svc:   vault.NewService(markStore(st), opts.service...),
		log:   log,
		mux:   http.NewServeMux(),
		hosts: slices.Clone(opts.allowedHosts),
	}
	s.routes()
	return s
}

// routes registers every endpoint. Patterns use the Go 1.22 syntax:
// method, path, and {wildcards} read with r.PathValue.
func (s *server) routes() {
	s.handle("GET /v1/vaults", s.list)
	s.handle("POST /v1/vaults", s.importVaults)
	s.handle("GET /v1/vaults/{id}", s.get)
	s.handle("GET /v1/vaults/{id}/history", s.history)
	s.handle("GET /v1/vaults/{id}/permitted", s.permitted)

	s.handle("POST /v1/vaults/{id}/assign", s.assign)
	s.handle("POST /v1/vaults/{id}/unassign", s.unassign)
	s.handle("POST /v1/vaults/{id}/activate", s.activate)
	s.handle("POST /v1/vaults/{id}/lock", s.lock)
	s.handle("POST /v1/vaults/{id}/reactivate", s.reactivate)
	s.handle("POST /v1/vaults/{id}/suspend", s.suspend)
	s.handle("POST /v1/vaults/{id}/reissue-code", s.reissueCode)
	s.handle("POST /v1/vaults/{id}/withdraw", s.withdraw)
	s.handle("POST /v1/vaults/{id}/wipe", s.wipe)
	s.handle("POST /v1/vaults/{id}/compromise", s.compromise)

	s.handle("POST /v1/vaults/{id}/accounts", s.addAccount)
	s.handle("PUT /v1/vaults/{id}/accounts/{account}", s.updateAccount)
	s.handle("DELETE /v1/vaults/{id}/accounts/{account}", s.deleteAccount)

	s.mux.HandleFunc("GET /v1/lifecycle.mmd", text("text/plain; charset=utf-8", status.Mermaid()))
	s.mux.HandleFunc("GET /v1/lifecycle.dot", text("text/vnd.graphviz; charset=utf-8", status.DOT()))
}

// ServeHTTP checks the Host header, limits the request body, then routes
// the request. A request no route matches is answered here, in JSON,
// rather than by the mux's plain-text 404 and 405.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !hostAllowed(s.hosts, r.Host) {
		writeError(w, r, s.log, &httpError{
			status:  http.StatusMisdirectedRequest,
			code:    "misdirected",
			message: fmt.Sprintf("this server does not answer for host %q", r.Host),
		})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		s.noRoute(w, r, h)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// noRoute answers a request that matches no pattern with the status the
// mux would give it (404, or 405 with an Allow header when the path exists
// for other methods) and a JSON error body. h is the mux's handler for r,
// which writes that status.
func (s *server) noRoute(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &statusProbe{header: http.Header{}}
	h.ServeHTTP(probe, r)
	if probe.status == http.StatusMethodNotAllowed {
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeError(w, r, s.log, &httpError{
			status:  http.StatusMethodNotAllowed,
			code:    "method_not_allowed",
			message: fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow),
		})
		return
	}
	writeError(w, r, s.log, &httpError{
		status:  http.StatusNotFound,
		code:    "not_found",
		message: fmt.Sprintf("no endpoint %s %s", r.Method, r.URL.Path),
	})
}

// statusProbe is a ResponseWriter that keeps only the headers and status.
type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(status int)      { p.status = status }

// An endpoint serves one route: it returns the HTTP status and the value
// to answer with as JSON, or an error that [writeError] maps.
type endpoint func(r *http.Request) (httpStatus int, body any, err error)

// handle registers fn for pattern, with what every JSON endpoint needs:
// the actor on the context, and the result or error written as JSON.
func (s *server) handle(pattern string, fn endpoint) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, err := actorOf(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if actor != "" {
			r = r.WithContext(vault.WithActor(r.Context(), actor))
		}
		httpStatus, body, err := fn(r)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if l, ok := body.(locator); ok {
			if loc := l.location(); loc != "" {
				w.Header().Set("Location", loc)
			}
		}
		writeJSON(w, s.log, httpStatus, body)
	})
}

// actorOf returns the actor the X-Actor header names.
//
// Requests that change something (POST, PUT, DELETE) must name one, so
// that every event in the audit trail says who made it; a missing header
// is 400. Reads store nothing and need none, but a header they do send is
// checked all the same. Requiring a custom header also means that a
// browser cannot send a change cross-site without a CORS preflight, which
// this server never grants (and the Host check keeps a rebound name from
// making the request same-site).
//
// The header is a claim, not an identity: nothing here authenticates it.
// A real deployment derives the actor from its authentication instead.
func actorOf(r *http.Request) (string, error) {
	values := r.Header.Values(actorHeader)
	switch {
	case len(values) == 0 && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		return "", nil
	case len(values) == 0:
		return "", badRequest("the " + actorHeader + " header must name who makes this change")
	case len(values) > 1:
		return "", badRequest("the " + actorHeader + " header is given more than once")
	}
	a := strings.TrimSpace(values[0])
	if a == "" || len(a) > maxActor || !utf8.ValidString(a) || strings.ContainsFunc(a, unicode.IsControl) {
		return "", badRequest(fmt.Sprintf("the %s header must be 1-%d bytes of UTF-8 text", actorHeader, maxActor))
	}
	return a, nil
}

// decode reads the request body into dst, which must be a pointer to a
// request struct. The body must be exactly one JSON object, or empty,
// which reads as {}. Decoding is strict, more so than encoding/json's
// DisallowUnknownFields, which still matches keys without regard to case
// and lets the last of repeated keys win: see [checkKeys].
func decode(r *http.Request, dst any) error {
	var raw json.RawMessage
	dec := json.NewDecoder(r.Body)
	switch err := dec.Decode(&raw); {
	case errors.Is(err, io.EOF):
		return nil // an empty body: dst keeps its zero value
	case err != nil:
		return bodyError(err)
	}
	// Exactly one value: anything after it but white space is refused.
	if err := dec.Decode(&json.RawMessage{}); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return bodyError(err)
		}
		return badRequest("request body: unexpected data after the JSON object")
	}
	if raw[0] != '{' {
		return badRequest("request body must be a JSON object")
	}
	// raw is well-formed JSON, so only checkKeys' own findings are errors.
	if err := checkKeys(json.NewDecoder(bytes.NewReader(raw)), reflect.TypeOf(dst), ""); err != nil {
		return err
	}
	strict := json.NewDecoder(bytes.NewReader(raw))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		return bodyError(err)
	}
	return nil
}

// checkKeys reads one JSON value from dec, which holds well-formed JSON,
// and checks the keys of its objects against t, the Go type it decodes
// into:
//
//   - an object that decodes into a struct may have only the fields'
//     JSON names as keys, spelled exactly;
//   - no object, at any depth, may give a key twice; that includes maps
//     (import's labels), whose keys are otherwise free.
//
// Values whose JSON does not fit t are left to the decoder, which refuses
// them with a clearer message. path names the value in messages.
func checkKeys(dec *json.Decoder, t reflect.Type, path string) error {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != nil && reflect.PointerTo(t).Implements(unmarshalerType) {
		t = nil // decodes itself: its keys, if any, are its own business
	}
	tok, err := dec.Token()
	if err != nil {
		return badRequest("request body: " + err.Error())
	}
	switch tok {
	case json.Delim('['):
		var elem reflect.Type
		if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if err := checkKeys(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ]
	case json.Delim('{'):
		var (
			fields map[string]reflect.Type // the struct's fields by JSON name; nil: any key
			elem   reflect.Type            // a map's values
		)
		switch {
		case t == nil:
		case t.Kind() == reflect.Struct:
			fields = jsonFields(t)
		case t.Kind() == reflect.Map:
			elem = t.Elem()
		}
		seen := make(map[string]bool)
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return badRequest("request body: " + err.Error())
			}
			key := tok.(string) // an object's keys are strings
			at := strings.TrimPrefix(path+"."+key, ".")
			if seen[key] {
				return badRequest(fmt.Sprintf("request body: field %q is given more than once", at))
			}
			seen[key] = true
			if fields != nil {
				ft, ok := fields[key]
				if !ok {
					return unknownField(fields, at, key)
				}
				elem = ft
			}
			if err := checkKeys(dec, elem, at); err != nil {
				return err
			}
		}
		_, err = dec.Token() // }
	}
	if err != nil {
		return badRequest("request body: " + err.Error())
	}
	return nil
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// unknownField is the error for key, which names no field of a struct,
// whose fields are by JSON name. The one that differs only in case, if
// any, is named: keys are case-sensitive here, unlike in encoding/json.
func unknownField(fields map[string]reflect.Type, at, key string) error {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return badRequest(fmt.Sprintf("request body: unknown field %q (field names are case-sensitive: did you mean %q?)", at, name))
		}
	}
	return badRequest(fmt.Sprintf("request body: unknown field %q", at))
}

// jsonFields returns the JSON names of struct type t's exported fields,
// with their types. The request types have only plain fields: no
// embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = f.Type
	}
	return fields
}

// bodyError turns a JSON decoding error into the error the client sees.
func bodyError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		typeErr  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return &httpError{
			status:  http.StatusRequestEntityTooLarge,
			code:    "too_large",
			message: fmt.Sprintf("request body exceeds %d bytes", tooLarge.Limit),
		}
	case errors.As(err, &typeErr):
		// The decoder's own message names Go types; say it in JSON terms.
		return badRequest(fmt.Sprintf("request body: field %q cannot be a JSON %s", typeErr.Field, typeErr.Value))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("request body: the JSON ends too early")
	case errors.Is(err, status.ErrUnknown):
		// A status, reason or trigger that is not a canonical name, or
		// not a string: classify maps it to 400 invalid_argument.
		return fmt.Errorf("request body: %w", err)
	}
	// Syntax errors and unknown fields.
	return badRequest("request body: " + err.Error())
}

// ---- Answers -----------------------------------------------------------

// vaultResult answers with the vault, or the error.
func vaultResult(v *vault.Vault, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, vaultResponse{Vault: viewOf(v)}, nil
}

// codeResult answers a command that issued an activation code: the vault
// and the code, which this response is the only one to show.
func codeResult(v *vault.Vault, code string, err error) (int, any, error) {
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, vaultResponse{Vault: viewOf(v), ActivationCode: code}, nil
}

// ---- Reads -------------------------------------------------------------

// list serves GET /v1/vaults?status=&owner=&after=&limit=.
func (s *server) list(r *http.Request) (int, any, error) {
	f, err := filterOf(r.URL.RawQuery)
	if err != nil {
		return 0, nil, err
	}
	page, err := s.svc.List(r.Context(), f)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, listResponse{Vaults: viewsOf(page.Vaults), Next: page.Next}, nil
}

// filterOf parses the list query. Unknown or repeated parameters are
// refused, so that a typo does not silently list everything; an empty
// value is the same as an absent one.
func filterOf(rawQuery string) (vault.Filter, error) {
	var f vault.Filter
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return f, badRequest("malformed query: " + err.Error())
	}
	for _, key := range slices.Sorted(maps.Keys(q)) {
		values := q[key]
		if len(values) > 1 {
			return f, badRequest(fmt.Sprintf("query parameter %q is given %d times", key, len(values)))
		}
		v := values[0]
		if v == "" {
			continue
		}
		switch key {
		case "status":
			if f.Status, err = status.ParseStatus(v); err != nil {
				return f, err // wraps status.ErrUnknown: 400
			}
		case "owner":
			f.Owner = v
		case "after":
			f.After = v
		case "limit":
			if f.Limit, err = strconv.Atoi(v); err != nil {
				return f, badRequest(fmt.Sprintf("limit must be an integer, is %q", v))
			}
			// A negative limit is refused by the Service (400).
		default:
			return f, badRequest(fmt.Sprintf("unknown query parameter %q (want status, owner, after or limit)", key))
		}
	}
	return f, nil
}

// get serves GET /v1/vaults/{id}.
func (s *server) get(r *http.Request) (int, any, error) {
	v, err := s.svc.Get(r.Context(), r.PathValue("id"))
	return vaultResult(v, err)
}

// history serves GET /v1/vaults/{id}/history: every stored change, oldest first.
func (s *server) history(r *http.Request) (int, any, error) {
	events, err := s.svc.History(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	resp := historyResponse{Events: make([]eventView, 0, len(events))}
	for _, e := range events {
		resp.Events = append(resp.Events, eventViewOf(e))
	}
	return http.StatusOK, resp, nil
}

// permitted serves GET /v1/vaults/{id}/permitted: the triggers the
// lifecycle permits from the vault's current status.
func (s *server) permitted(r *http.Request) (int, any, error) {
	v, err := s.svc.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return 0, nil, err
	}
	triggers := status.Permitted(v.Status)
	if triggers == nil {
		triggers = []status.Trigger{} // [] rather than null
	}
	return http.StatusOK, permittedResponse{ID: v.ID, Status: v.Status, Permitted: triggers}, nil
}

// text serves a constant text body.
func text(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		io.WriteString(w, body)
	}
}

// ---- Commands ----------------------------------------------------------
//
// Each command decodes its body, calls the Service with the vault ID from
// the path, and answers {"vault": ...}: the vault after the change.

// importVaults serves POST /v1/vaults: a batch of new Ready vaults, all
// or none.
func (s *server) importVaults(r *http.Request) (int, any, error) {
	var req importRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	batch := make([]vault.NewVault, len(req.Vaults))
	for i, nv := range req.Vaults {
		batch[i] = vault.NewVault{ID: nv.ID, Labels: nv.Labels}
	}
	created, err := s.svc.Import(r.Context(), batch...)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, importResponse{Vaults: viewsOf(created)}, nil
}

func (s *server) assign(r *http.Request) (int, any, error) {
	var req assignRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	return codeResult(s.svc.Assign(r.Context(), r.PathValue("id"), req.Owner))
}

func (s *server) unassign(r *http.Request) (int, any, error) {
	if err := decode(r, &noParams{}); err != nil {
		return 0, nil, err
	}
	return vaultResult(s.svc.Unassign(r.Context(), r.PathValue("id")))
}

// activate checks the user's code. A wrong code is counted, which is a
// stored change, so that error response carries the vault too: it shows
// the attempts, or that the last attempt locked it.
func (s *server) activate(r *http.Request) (int, any, error) {
	var req activateRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	v, err := s.svc.Activate(r.Context(), r.PathValue("id"), req.Code)
	if err != nil && v != nil {
		return 0, nil, &changedError{err: err, vault: v}
	}
	return vaultResult(v, err)
}

func (s *server) lock(r *http.Request) (int, any, error) {
	var req lockRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	return vaultResult(s.svc.Lock(r.Context(), r.PathValue("id"), req.Reason))
}

func (s *server) reactivate(r *http.Request) (int, any, error) {
	if err := decode(r, &noParams{}); err != nil {
		return 0, nil, err
	}
	return codeResult(s.svc.Reactivate(r.Context(), r.PathValue("id")))
}

func (s *server) suspend(r *http.Request) (int, any, error) {
	var req suspendRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	return codeResult(s.svc.Suspend(r.Context(), r.PathValue("id"), req.Description))
}

func (s *server) reissueCode(r *http.Request) (int, any, error) {
	if err := decode(r, &noParams{}); err != nil {
		return 0, nil, err
	}
	return codeResult(s.svc.ReissueCode(r.Context(), r.PathValue("id")))
}

func (s *server) withdraw(r *http.Request) (int, any, error) {
	var req withdrawRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	return vaultResult(s.svc.Withdraw(r.Context(), r.PathValue("id"), req.Reason, req.Description))
}

func (s *server) wipe(r *http.Request) (int, any, error) {
	if err := decode(r, &noParams{}); err != nil {
		return 0, nil, err
	}
	return vaultResult(s.svc.Wipe(r.Context(), r.PathValue("id")))
}

func (s *server) compromise(r *http.Request) (int, any, error) {
	var req compromiseRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	return vaultResult(s.svc.Compromise(r.Context(), r.PathValue("id"), req.Reason, req.Description, req.Confirm))
}

// addAccount serves POST /v1/vaults/{id}/accounts; 201 on success.
func (s *server) addAccount(r *http.Request) (int, any, error) {
	var req addAccountRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	v, err := s.svc.AddAccount(r.Context(), r.PathValue("id"), vault.Account{ID: req.ID, Name: req.Name, Login: req.Login})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, vaultResponse{Vault: viewOf(v)}, nil
}

func (s *server) updateAccount(r *http.Request) (int, any, error) {
	var req updateAccountRequest
	if err := decode(r, &req); err != nil {
		return 0, nil, err
	}
	a := vault.Account{ID: r.PathValue("account"), Name: req.Name, Login: req.Login}
	return vaultResult(s.svc.UpdateAccount(r.Context(), r.PathValue("id"), a))
}

func (s *server) deleteAccount(r *http.Request) (int, any, error) {
	if err := decode(r, &noParams{}); err != nil {
		return 0, nil, err
	}
	return vaultResult(s.svc.DeleteAccount(r.Context(), r.PathValue("id"), r.PathValue("account")))
}
