package storetest

import (
	"maps"
	"slices"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// This file is the reference model that Lifecycle holds the Service to:
// the rules of DESIGN.md written out a second time, as plain switch
// statements over a map of vaults. It deliberately uses neither package
// status's graph (Next, Can, Allows, CheckReason) nor the vault package's
// validation, so that a mistake in either shows up as a disagreement
// instead of being copied into the expectation.

// modelPolicy is the activation code policy of the Service under test.
// MaxAttempts is small and TTL short so that random sequences lock vaults
// and let codes expire often.
var modelPolicy = vault.CodePolicy{Digits: 6, TTL: time.Hour, MaxAttempts: 3}

// lifecycleNext is the transition table of DESIGN.md: the status trigger t
// leads to from status from, and whether the lifecycle permits it at all.
func lifecycleNext(from status.Status, t status.Trigger) (status.Status, bool) {
	switch t {
	case status.Assign:
		return status.Reserved, from == status.Ready
	case status.Unassign:
		return status.Ready, from == status.Reserved
	case status.Activate:
		return status.Active, from == status.Reserved || from == status.Suspended
	case status.Lock:
		return status.Locked, from == status.Reserved || from == status.Active || from == status.Suspended
	case status.Reactivate:
		return status.Suspended, from == status.Locked
	case status.Suspend:
		return status.Suspended, from == status.Active
	case status.Withdraw:
		return status.Deactivated, from == status.Reserved || from == status.Active ||
			from == status.Locked || from == status.Suspended
	case status.Wipe:
		return status.Ready, from == status.Deactivated
	case status.Compromise:
		return status.Compromised, from != status.Compromised && from != 0
	}
	return 0, false
}

// reasonFits reports whether a command for trigger t may carry reason r:
// the reasons its destination status may carry.
func reasonFits(t status.Trigger, r status.Reason) bool {
	switch t {
	case status.Lock:
		return r == status.InvalidActivationCode || r == status.LockedByInvalidPin
	case status.Withdraw:
		return r == status.Withdrawal || r == status.Broken
	case status.Compromise:
		return r == status.Lost || r == status.Stolen
	}
	return r == status.None
}

// allowsAccounts reports whether a vault in status s allows an account
// operation: adding while Reserved or Active, editing and deleting only
// while Active.
func allowsAccounts(s status.Status, adding bool) bool {
	if adding {
		return s == status.Reserved || s == status.Active
	}
	return s == status.Active
}

// validID is the rule for vault and account IDs: 1–64 bytes of
// [A-Za-z0-9._:-].
func validID(id string) bool {
	if len(id) < 1 || len(id) > 64 {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

// validText is the rule for free text (owners, names, logins,
// descriptions, labels, actors): min to max bytes of valid UTF-8 without
// control characters; a newline only where multiline. U+2028 and U+2029
// (line and paragraph separators) count as control characters: they break
// lines too. So do the invisible and bidirectional formatting characters
// in hiddenRunes, which make text display as something it is not.
func validText(s string, min, max int, multiline bool) bool {
	if len(s) < min || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case r == '\n' && multiline:
		case unicode.IsControl(r), r == '\u2028', r == '\u2029', hiddenRunes[r]:
			return false
		}
	}
	return true
}

// hiddenRunes are the formatting characters free text may not contain,
// written out here rather than taken from package vault: the bidirectional
// marks, embeddings, overrides and isolates, the zero-width space and word
// joiner, and the byte order mark (zero-width no-break space).
var hiddenRunes = map[rune]bool{
	'\u061C': true, // ARABIC LETTER MARK
	'\u200B': true, // ZERO WIDTH SPACE
	'\u200E': true, // LEFT-TO-RIGHT MARK
	'\u200F': true, // RIGHT-TO-LEFT MARK
	'\u202A': true, // LEFT-TO-RIGHT EMBEDDING
	'\u202B': true, // RIGHT-TO-LEFT EMBEDDING
	'\u202C': true, // POP DIRECTIONAL FORMATTING
	'\u202D': true, // LEFT-TO-RIGHT OVERRIDE
	'\u202E': true, // RIGHT-TO-LEFT OVERRIDE
	'\u2060': true, // WORD JOINER
	'\u2066': true, // LEFT-TO-RIGHT ISOLATE
	'\u2067': true, // RIGHT-TO-LEFT ISOLATE
	'\u2068': true, // FIRST STRONG ISOLATE
	'\u2069': true, // POP DIRECTIONAL ISOLATE
	'\uFEFF': true, // ZERO WIDTH NO-BREAK SPACE (byte order mark)
}

func validOwner(s string) bool       { return validText(s, 1, 256, false) }
func validActor(s string) bool       { return validText(s, 0, 256, false) }
func validDescription(s string) bool { return validText(s, 0, 1024, true) }

func validAccount(a vault.Account) bool {
	return validID(a.ID) && validText(a.Name, 1, 256, false) && validText(a.Login, 0, 256, false)
}

func validLabels(labels map[string]string) bool {
	if len(labels) > 32 {
		return false
	}
	for k, v := range labels {
		if !validText(k, 1, 64, false) || !validText(v, 0, 256, false) {
			return false
		}
	}
	return true
}

// wellFormedCode reports whether code has the policy's shape: exactly
// Digits ASCII digits.
func wellFormedCode(code string) bool {
	if len(code) != modelPolicy.Digits {
		return false
	}
	for _, c := range []byte(code) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// modelVault is everything the model knows about one vault, and what the
// store must hold for it.
type modelVault struct {
	id          string
	labels      map[string]string
	status      status.Status
	reason      status.Reason
	owner       string
	description string
	accounts    []vault.Account

	// The pending activation code. hasCode says one is pending; code is
	// its value, or "" when the caller never learnt it (a lost
	// acknowledgement swallowed the command's reply).
	hasCode  bool
	code     string
	issuedAt time.Time
	attempts int
	oldCodes []string // codes issued to this vault before, for stale-code commands

	version   uint64
	createdAt time.Time
	updatedAt time.Time
	events    []vault.Event // the history the store must hold, versions 1..n
}

func (v *modelVault) clone() *modelVault {
	c := *v
	c.labels = maps.Clone(v.labels)
	c.accounts = slices.Clone(v.accounts)
	c.oldCodes = slices.Clone(v.oldCodes)
	c.events = slices.Clone(v.events)
	return &c
}

func (v *modelVault) expiresAt() time.Time { return v.issuedAt.Add(modelPolicy.TTL) }

// clearCode cancels the pending code.
func (v *modelVault) clearCode() {
	if v.hasCode && v.code != "" {
		v.oldCodes = append(v.oldCodes, v.code)
	}
	v.hasCode, v.code, v.attempts, v.issuedAt = false, "", 0, time.Time{}
}

// clearLinks removes what ties a vault to a user.
func (v *modelVault) clearLinks() {
	v.owner, v.accounts = "", nil
	v.clearCode()
}

// newCode makes a fresh code pending; its value is filled in when the
// command returns it.
func (v *modelVault) newCode(now time.Time) {
	v.clearCode()
	v.hasCode, v.issuedAt = true, now
}

func (v *modelVault) findAccount(id string) int {
	return slices.IndexFunc(v.accounts, func(a vault.Account) bool { return a.ID == id })
}

// record makes v the next version, stored at now by actor with event ev,
// whose vault-derived fields it fills in.
func (v *modelVault) record(ev vault.Event, actor string, now time.Time) {
	v.version++
	v.updatedAt = now
	ev.VaultID, ev.Version = v.id, v.version
	ev.Reason, ev.Description = v.reason, v.description
	ev.Actor, ev.Time = actor, now
	v.events = append(v.events, ev)
}

// guardCall is what a guard saw: the vault's ID, version and status, and
// the trigger.
type guardCall struct {
	ID      string
	Version uint64
	Status  status.Status
	Trigger status.Trigger
}

// expectation is what the model says a command must do.
type expectation struct {
	err     error                   // the sentinel the error must wrap; nil for success
	also    []error                 // further errors it must wrap (status.ErrInvalidReason, the guard's error)
	refusal *status.TransitionError // for status.ErrNotPermitted: what errors.As must find
	guard   []guardCall             // the guard calls the command makes, in order
	changes []*modelVault           // the vaults as the command stores them; none when it stores nothing
	newCode bool                    // the command returns a fresh code, pending in changes[0]
	returns bool                    // the command returns the stored vault (success, or a counted wrong code)
	label   string                  // a short name of the outcome, for coverage and traces
}

func expectErr(err error, label string, also ...error) expectation {
	return expectation{err: err, also: also, label: label}
}

// model is the reference state: every vault the Service stored, and the
// guard's current vetoes.
type model struct {
	vaults map[string]*modelVault
	// veto lists what the test's guard refuses: transitions by trigger,
	// and under key 0 the changes that are not transitions (imports,
	// code reissues, account changes).
	veto map[status.Trigger]bool
}

func newModel() *model {
	return &model{vaults: map[string]*modelVault{}, veto: map[status.Trigger]bool{}}
}

// commit makes the expected changes the model's state. code is the
// activation code the command returned, "" when unknown.
func (m *model) commit(exp expectation, code string) {
	for i, v := range exp.changes {
		if i == 0 && exp.newCode {
			v.code = code
		}
		m.vaults[v.id] = v
	}
}

// guarded returns the expectation for a change the guard must approve:
// the guard is called with the pre-change vault (or, for imports, the
// vault about to be created), and vetoes it when t is vetoed.
func (m *model) guarded(before *modelVault, t status.Trigger, exp expectation) expectation {
	call := guardCall{ID: before.id, Version: before.version, Status: before.status, Trigger: t}
	if m.veto[t] {
		e := expectErr(vault.ErrRejected, "ErrRejected", errVeto)
		e.guard = []guardCall{call}
		return e
	}
	exp.guard = append([]guardCall{call}, exp.guard...)
	return exp
}

// expect returns what command c must do on the model's state at time now.
// It changes nothing: the caller commits the expectation once the Service
// agreed with it.
func (m *model) expect(c *command, now time.Time) expectation {
	// The actor, which the command's events would record, first of all:
	// every command checks it, reads included.
	if !validActor(c.actor) {
		return expectErr(vault.ErrInvalidArgument, "ErrInvalidArgument(actor)")
	}
	switch c.kind {
	case doImport:
		return m.expectImport(c, now)
	case doList:
		return m.expectList(c)
	}

	// Arguments first, without the store.
	if !validID(c.id) {
		return expectErr(vault.ErrInvalidArgument, "ErrInvalidArgument(id)")
	}
	if exp, bad := checkArguments(c); bad {
		return exp
	}
	// Then existence.
	v := m.vaults[c.id]
	if v == nil {
		return expectErr(vault.ErrNotFound, "ErrNotFound")
	}
	// Then the status, accounts and guards, command by command.
	switch c.kind {
	case doGet, doHistory:
		return expectation{label: "ok"}
	case doActivate:
		return m.expectActivate(c, v, now)
	case doReissueCode:
		if v.status != status.Reserved && v.status != status.Suspended {
			return expectErr(vault.ErrNotAllowed, "ErrNotAllowed")
		}
		n := v.clone()
		n.newCode(now)
		n.record(vault.Event{Action: vault.ActionCodeIssued, From: v.status, To: v.status}, c.actor, now)
		return m.guarded(v, 0, expectation{changes: []*modelVault{n}, newCode: true, returns: true, label: "ok"})
	case doAddAccount, doUpdateAccount, doDeleteAccount:
		return m.expectAccount(c, v, now)
	}
	return m.expectTransition(c, v, now)
}

// checkArguments checks a command's arguments other than the vault ID, in
// the order the Service checks them; bad is true when one is refused.
func checkArguments(c *command) (exp expectation, bad bool) {
	badReason := func(t status.Trigger) bool { return !reasonFits(t, c.reason) }
	switch c.kind {
	case doAssign:
		bad = !validOwner(c.owner)
	case doActivate:
		bad = !wellFormedCode(c.code)
	case doLock:
		if badReason(status.Lock) {
			return expectErr(vault.ErrInvalidArgument, "ErrInvalidReason", status.ErrInvalidReason), true
		}
	case doSuspend:
		bad = !validDescription(c.text)
	case doWithdraw:
		if badReason(status.Withdraw) {
			return expectErr(vault.ErrInvalidArgument, "ErrInvalidReason", status.ErrInvalidReason), true
		}
		bad = !validDescription(c.text)
	case doCompromise:
		if badReason(status.Compromise) {
			return expectErr(vault.ErrInvalidArgument, "ErrInvalidReason", status.ErrInvalidReason), true
		}
		if !validDescription(c.text) {
			return expectErr(vault.ErrInvalidArgument, "ErrInvalidArgument"), true
		}
		if c.confirm != c.id {
			return expectErr(vault.ErrConfirmation, "ErrConfirmation"), true
		}
	case doAddAccount, doUpdateAccount:
		bad = !validAccount(c.account)
	case doDeleteAccount:
		bad = !validID(c.account.ID)
	}
	if bad {
		return expectErr(vault.ErrInvalidArgument, "ErrInvalidArgument"), true
	}
	return expectation{}, false
}

// triggerOf maps the transition commands to their triggers.
var triggerOf = map[cmdKind]status.Trigger{
	doAssign:     status.Assign,
	doUnassign:   status.Unassign,
	doActivate:   status.Activate,
	doLock:       status.Lock,
	doReactivate: status.Reactivate,
	doSuspend:    status.Suspend,
	doWithdraw:   status.Withdraw,
	doWipe:       status.Wipe,
	doCompromise: status.Compromise,
}

// refused is the expectation for a transition the lifecycle does not have.
func refused(from status.Status, t status.Trigger) expectation {
	e := expectErr(status.ErrNotPermitted, "ErrNotPermitted")
	e.refusal = &status.TransitionError{From: from, Trigger: t}
	return e
}

// expectTransition handles every transition command but Activate.
func (m *model) expectTransition(c *command, v *modelVault, now time.Time) expectation {
	t := triggerOf[c.kind]
	to, ok := lifecycleNext(v.status, t)
	if !ok {
		return refused(v.status, t)
	}
	n := v.clone()
	n.status, n.reason, n.description = to, status.None, ""
	newCode := false
	switch c.kind {
	case doAssign:
		n.owner = c.owner
		n.newCode(now)
		newCode = true
	case doUnassign, doWipe:
		n.clearLinks()
	case doLock:
		n.reason = c.reason
		n.clearCode()
	case doReactivate:
		n.newCode(now)
		newCode = true
	case doSuspend:
		n.description = c.text
		n.newCode(now)
		newCode = true
	case doWithdraw, doCompromise:
		n.reason, n.description = c.reason, c.text
		n.clearLinks()
	}
	n.record(vault.Event{Action: vault.ActionTransition, Trigger: t, From: v.status, To: to}, c.actor, now)
	return m.guarded(v, t, expectation{changes: []*modelVault{n}, newCode: newCode, returns: true, label: "ok"})
}

// expectActivate checks the code: the status, then whether a code is
// pending, then expiry, then the code itself. A wrong code is counted
// (and the last allowed one locks the vault) without asking the guard.
func (m *model) expectActivate(c *command, v *modelVault, now time.Time) expectation {
	if _, ok := lifecycleNext(v.status, status.Activate); !ok {
		return refused(v.status, status.Activate)
	}
	if !v.hasCode {
		return expectErr(vault.ErrNotAllowed, "ErrNotAllowed(no code)")
	}
	if !now.Before(v.expiresAt()) {
		return expectErr(vault.ErrCodeExpired, "ErrCodeExpired")
	}
	n := v.clone()
	if c.code != v.code {
		n.attempts++
		exp := expectErr(vault.ErrInvalidCode, "ErrInvalidCode(counted)")
		if n.attempts >= modelPolicy.MaxAttempts {
			n.status, n.reason, n.description = status.Locked, status.InvalidActivationCode, ""
			n.clearCode()
			n.record(vault.Event{Action: vault.ActionTransition, Trigger: status.Lock, From: v.status, To: status.Locked}, c.actor, now)
			exp.label = "ErrInvalidCode(locked)"
		} else {
			n.record(vault.Event{Action: vault.ActionCodeRejected, From: v.status, To: v.status}, c.actor, now)
		}
		exp.changes, exp.returns = []*modelVault{n}, true
		return exp
	}
	n.status, n.reason, n.description = status.Active, status.None, ""
	n.clearCode()
	for i := range n.accounts {
		n.accounts[i].Pending = false
	}
	n.record(vault.Event{Action: vault.ActionTransition, Trigger: status.Activate, From: v.status, To: status.Active}, c.actor, now)
	return m.guarded(v, status.Activate, expectation{changes: []*modelVault{n}, returns: true, label: "ok"})
}

// expectAccount handles AddAccount, UpdateAccount and DeleteAccount.
func (m *model) expectAccount(c *command, v *modelVault, now time.Time) expectation {
	adding := c.kind == doAddAccount
	if !allowsAccounts(v.status, adding) {
		return expectErr(vault.ErrNotAllowed, "ErrNotAllowed")
	}
	i := v.findAccount(c.account.ID)
	switch {
	case adding && i >= 0:
		return expectErr(vault.ErrExists, "ErrExists(account)")
	case !adding && i < 0:
		return expectErr(vault.ErrNotFound, "ErrNotFound(account)")
	}
	n := v.clone()
	ev := vault.Event{From: v.status, To: v.status, Account: c.account.ID}
	switch c.kind {
	case doAddAccount:
		a := c.account
		a.Pending = v.status == status.Reserved
		n.accounts = append(n.accounts, a)
		ev.Action = vault.ActionAccountAdded
	case doUpdateAccount:
		n.accounts[i].Name, n.accounts[i].Login = c.account.Name, c.account.Login
		ev.Action = vault.ActionAccountUpdated
	case doDeleteAccount:
		n.accounts = slices.Delete(n.accounts, i, i+1)
		ev.Action = vault.ActionAccountDeleted
	}
	n.record(ev, c.actor, now)
	return m.guarded(v, 0, expectation{changes: []*modelVault{n}, returns: true, label: "ok"})
}

// expectImport: the batch's arguments first (non-empty, valid IDs named
// once, valid labels), then existence, then the guard for each new vault
// in order; all or nothing. That is DESIGN.md's order of checks, guards
// last.
func (m *model) expectImport(c *command, now time.Time) expectation {
	if len(c.batch) == 0 {
		return expectErr(vault.ErrInvalidArgument, "ErrInvalidArgument(empty)")
	}
	seen := map[string]bool{}
	for _, nv := range c.batch {
		if !validID(nv.ID) || seen[nv.ID] || !validLabels(nv.Labels) {
			return expectErr(vault.ErrInvalidArgument, "ErrInvalidArgument")
		}
		seen[nv.ID] = true
	}
	for _, nv := range c.batch {
		if m.vaults[nv.ID] != nil {
			return expectErr(vault.ErrExists, "ErrExists")
		}
	}
	var calls []guardCall
	for _, nv := range c.batch {
		calls = append(calls, guardCall{ID: nv.ID, Status: status.Ready})
		if m.veto[0] {
			e := expectErr(vault.ErrRejected, "ErrRejected", errVeto)
			e.guard = calls
			return e
		}
	}
	exp := expectation{guard: calls, returns: true, label: "ok"}
	for _, nv := range c.batch {
		n := &modelVault{id: nv.ID, labels: maps.Clone(nv.Labels), status: status.Ready, createdAt: now}
		n.record(vault.Event{Action: vault.ActionImport, From: status.Ready, To: status.Ready}, c.actor, now)
		exp.changes = append(exp.changes, n)
	}
	return exp
}

// expectList checks the filter; the engine computes the page itself.
func (m *model) expectList(c *command) expectation {
	f := c.filter
	switch {
	case f.Status != 0 && (f.Status < status.Ready || f.Status > status.Compromised),
		f.Owner != "" && !validOwner(f.Owner),
		f.After != "" && !validID(f.After),
		f.Limit < 0:
		return expectErr(vault.ErrInvalidArgument, "ErrInvalidArgument")
	}
	return expectation{label: "ok"}
}

// page returns the IDs a valid filter selects, and the cursor of the
// following page: the last ID when more matching vaults follow it.
func (m *model) page(f vault.Filter) (ids []string, next string) {
	size := f.Limit
	switch {
	case size == 0:
		size = vault.DefaultLimit
	case size > vault.MaxLimit:
		size = vault.MaxLimit
	}
	var match []string
	for id, v := range m.vaults {
		if id > f.After && (f.Status == 0 || v.status == f.Status) && (f.Owner == "" || v.owner == f.Owner) {
			match = append(match, id)
		}
	}
	slices.Sort(match)
	if len(match) > size {
		return match[:size], match[size-1]
	}
	return match, ""
}
