package storetest

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// This file generates Lifecycle's random command sequences. Most commands
// are ones the model expects to succeed, so that sequences walk deep into
// the lifecycle; the rest are refused for every reason the Service has:
// malformed arguments, missing vaults and accounts, statuses that do not
// permit the command, wrong, stale and expired codes, wrong
// confirmations, and guard vetoes.

// cmdKind is what a step does.
type cmdKind uint8

const (
	doImport cmdKind = iota
	doAssign
	doUnassign
	doActivate
	doLock
	doReactivate
	doSuspend
	doWithdraw
	doWipe
	doCompromise
	doReissueCode
	doAddAccount
	doUpdateAccount
	doDeleteAccount
	doGet
	doHistory
	doList
	doAdvanceClock // not a Service call: moves the fake clock
	doToggleVeto   // not a Service call: changes what the guard vetoes
	numKinds
)

var kindNames = [numKinds]string{
	"Import", "Assign", "Unassign", "Activate", "Lock", "Reactivate", "Suspend", "Withdraw", "Wipe",
	"Compromise", "ReissueCode", "AddAccount", "UpdateAccount", "DeleteAccount", "Get", "History", "List",
	"AdvanceClock", "ToggleVeto",
}

// String names the command kind.
func (k cmdKind) String() string { return kindNames[k] }

// command is one generated step.
type command struct {
	kind    cmdKind
	actor   string // WithActor on the call's context
	id      string
	batch   []vault.NewVault // Import
	owner   string           // Assign
	code    string           // Activate
	reason  status.Reason    // Lock, Withdraw, Compromise
	text    string           // Suspend, Withdraw, Compromise: the description
	confirm string           // Compromise
	account vault.Account    // AddAccount, UpdateAccount; DeleteAccount uses account.ID
	filter  vault.Filter     // List
	advance time.Duration    // AdvanceClock
	veto    status.Trigger   // ToggleVeto: which veto flips (0: changes that are not transitions)
	note    string           // how the generator meant it: "right code", "stale confirmation"...
}

// short quotes s for a trace, shortening long values.
func short(s string) string {
	if len(s) > 24 {
		return fmt.Sprintf("%q...(%d bytes)", s[:16], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// String renders the command as the failure trace shows it.
func (c *command) String() string {
	var args []string
	switch c.kind {
	case doImport:
		for _, nv := range c.batch {
			a := short(nv.ID)
			if len(nv.Labels) > 0 {
				keys := slices.Sorted(maps.Keys(nv.Labels))
				if len(keys) > 2 {
					keys = append(keys[:2], fmt.Sprintf("...%d labels", len(nv.Labels)))
				}
				a += fmt.Sprintf("{%s}", strings.Join(keys, ","))
			}
			args = append(args, a)
		}
	case doAdvanceClock:
		args = append(args, c.advance.String())
	case doToggleVeto:
		if c.veto == 0 {
			args = append(args, "changes that are not transitions")
		} else {
			args = append(args, c.veto.String())
		}
	case doList:
		args = append(args, fmt.Sprintf("%+v", c.filter))
	default:
		args = append(args, short(c.id))
		switch c.kind {
		case doAssign:
			args = append(args, short(c.owner))
		case doActivate:
			args = append(args, short(c.code))
		case doLock:
			args = append(args, c.reason.String())
		case doSuspend:
			args = append(args, short(c.text))
		case doWithdraw, doCompromise:
			args = append(args, c.reason.String(), short(c.text))
			if c.kind == doCompromise {
				args = append(args, short(c.confirm))
			}
		case doAddAccount, doUpdateAccount:
			args = append(args, fmt.Sprintf("{%s %s %s}", short(c.account.ID), short(c.account.Name), short(c.account.Login)))
		case doDeleteAccount:
			args = append(args, short(c.account.ID))
		}
	}
	s := fmt.Sprintf("%v(%s)", c.kind, strings.Join(args, ", "))
	if c.actor != "" {
		s += " as " + c.actor
	}
	if c.note != "" {
		s += " [" + c.note + "]"
	}
	return s
}

// hidden reports whether any text of c holds one of hiddenRunes.
func (c *command) hidden() bool {
	texts := []string{c.actor, c.owner, c.text, c.account.Name, c.account.Login, c.filter.Owner}
	for _, nv := range c.batch {
		for k, v := range nv.Labels {
			texts = append(texts, k, v)
		}
	}
	for _, s := range texts {
		for _, r := range s {
			if hiddenRunes[r] {
				return true
			}
		}
	}
	return false
}

// Values the generator draws from. Each list of bad values breaks the
// rule in a different way; the model, not the list, decides what is
// valid. Right-to-left letters are text like any other; the invisible
// and bidirectional formatting characters (hiddenRunes) are not, so the
// bad lists hide some in otherwise good values. The zero-width joiner of
// an emoji sequence (U+200D) is not one of them.
var (
	goodOwners = []string{"alice@example.com", "bob", "Zoë Ångström", strings.Repeat("o", 256), strings.Repeat("é", 128), "דנה כהן"}
	badOwners  = []string{"", strings.Repeat("o", 257), "a\nb", "nul\x00", "\xff\xfe", "tab\t", "\u2028", "c1\u0085", "del\x7f",
		"admin\u202e\u2066moc.live@", "bob\u200b", "\ufeffalice", "alice\u2069"}

	goodTexts = []string{"", "on vacation", "line one\nline two", "Zoë's key", strings.Repeat("é", 512), "שלום\nlost 👩\u200d💻"}
	badTexts  = []string{strings.Repeat("d", 1025), "tab\t", "cr\r", "\xff", "esc\x1b[0m", "\u2029",
		"\u2067isolated\u2069", "note\u200f", "line one\n\u061c", "\u202bembedded\u202c"}

	goodAccountIDs = []string{"mail", "vpn", "wiki"}
	badIDs         = []string{"", "HK 1", "HK/1", "é", strings.Repeat("x", 65), "nul\x00", "HK-1\n", "HK-1\u200b"}
	goodNames      = []string{"Mail", "VPN", "Wiki: team", strings.Repeat("n", 256), "Team 👩\u200d💻"}
	badNames       = []string{"", strings.Repeat("n", 257), "bell\a", "\xc3", "Mail\u202d", "\u2060"}
	goodLogins     = []string{"", "alice", "alice@corp", strings.Repeat("l", 256)}
	badLogins      = []string{strings.Repeat("l", 257), "new\nline", "\x00", "alice\u200e", "\u202aroot\u202c", "\u2068bob"}

	actors    = []string{"", "admin-1", "admin-2"}
	badActors = []string{strings.Repeat("a", 257), "admin\n", "\xff", "admin\u202e1-", "\u200badmin-1", "admin\ufeff"}
)

// missingID is a well-formed ID the generator never imports.
const missingID = "HK-404"

// generator draws commands from a seeded source, looking at the model to
// aim most of them at something that can succeed.
type generator struct {
	rng  *rand.Rand
	m    *model
	pool []string // the vault IDs it imports and uses
	now  func() time.Time
}

func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func pick[T any](g *generator, xs []T) T { return xs[g.rng.IntN(len(xs))] }

// next returns the next command, now and then on behalf of a malformed
// actor.
func (g *generator) next() *command {
	c := g.draw()
	if c.kind != doAdvanceClock && c.kind != doToggleVeto && g.chance(0.02) {
		c.actor = pick(g, badActors)
		c.note = strings.TrimPrefix(c.note+", bad actor", ", ")
	}
	return c
}

// draw returns a command by a well-formed actor.
func (g *generator) draw() *command {
	c := &command{actor: pick(g, actors)}
	r := g.rng.IntN(100)
	switch {
	case r < 4:
		c.kind = doAdvanceClock
		g.advance(c)
		return c
	case r < 6 || g.vetoing() && r < 20: // vetoes come and go quickly
		c.kind = doToggleVeto
		g.toggleVeto(c)
		return c
	case r < 10 || len(g.live()) < 3 && g.chance(0.3):
		g.importBatch(c)
		return c
	case r < 15:
		g.read(c)
		return c
	}
	c.id = g.vaultID(c)
	v := g.m.vaults[c.id]
	switch {
	case v != nil && v.attempts > 0 && g.chance(0.75):
		// A user mistyping the code tends to try again.
		c.kind = doActivate
	case v != nil && g.chance(0.7):
		// Aim at a command the vault's status permits.
		c.kind = g.permitted(v)
	default:
		c.kind = doAssign + cmdKind(g.rng.IntN(int(doDeleteAccount-doAssign)+1))
	}
	g.arguments(c, v)
	return c
}

// vaultID picks mostly a vault that is not Compromised yet, sometimes
// any ID of the pool (Compromised, or not imported yet), a missing or a
// malformed one.
func (g *generator) vaultID(c *command) string {
	switch {
	case g.chance(0.04):
		c.note = "missing vault"
		return missingID
	case g.chance(0.04):
		c.note = "malformed ID"
		return pick(g, badIDs)
	}
	if live := g.live(); len(live) > 0 && g.chance(0.85) {
		return pick(g, live)
	}
	return pick(g, g.pool)
}

// live returns the pool's vaults that exist and are not Compromised.
func (g *generator) live() []string {
	var ids []string
	for _, id := range g.pool {
		if v := g.m.vaults[id]; v != nil && v.status != status.Compromised {
			ids = append(ids, id)
		}
	}
	return ids
}

// newID adds a fresh ID to the pool and returns it: vaults to replace
// those that reached the end of the lifecycle.
func (g *generator) newID() string {
	id := fmt.Sprintf("HK-%d", len(g.pool)+1)
	g.pool = append(g.pool, id)
	return id
}

// permitted picks a command the model allows in v's status.
func (g *generator) permitted(v *modelVault) cmdKind {
	var ok []cmdKind
	for k := doAssign; k <= doDeleteAccount; k++ {
		switch k {
		case doReissueCode:
			if v.status == status.Reserved || v.status == status.Suspended {
				ok = append(ok, k)
			}
		case doAddAccount:
			if allowsAccounts(v.status, true) {
				ok = append(ok, k, k) // twice as likely: vaults need accounts to edit
			}
		case doUpdateAccount, doDeleteAccount:
			if allowsAccounts(v.status, false) {
				ok = append(ok, k)
			}
		case doCompromise:
			// Rare, or most vaults end Compromised early.
			if v.status != status.Compromised && g.chance(0.15) {
				ok = append(ok, k)
			}
		default:
			if _, can := lifecycleNext(v.status, triggerOf[k]); can {
				ok = append(ok, k)
			}
		}
	}
	if len(ok) == 0 {
		return doGet
	}
	return pick(g, ok)
}

// arguments fills in c's arguments: valid mostly, sometimes not.
func (g *generator) arguments(c *command, v *modelVault) {
	bad := g.chance(0.08) // one malformed argument
	switch c.kind {
	case doAssign:
		c.owner = g.text(goodOwners, badOwners, bad, c)
	case doActivate:
		c.code = g.code(c, v, bad)
	case doLock:
		c.reason = g.reason(status.Lock, bad, c)
	case doSuspend:
		c.text = g.text(goodTexts, badTexts, bad, c)
	case doWithdraw, doCompromise:
		badReason := bad && g.chance(0.5)
		c.reason = g.reason(triggerOf[c.kind], badReason, c)
		c.text = g.text(goodTexts, badTexts, bad && !badReason, c)
		if c.kind == doCompromise {
			c.confirm = g.confirm(c)
		}
	case doAddAccount, doUpdateAccount, doDeleteAccount:
		c.account = g.account(c, v, bad)
	}
}

func (g *generator) text(good, badValues []string, bad bool, c *command) string {
	if bad {
		c.note = "bad text"
		return pick(g, badValues)
	}
	return pick(g, good)
}

// reason picks a reason that fits trigger t, or one that does not.
func (g *generator) reason(t status.Trigger, bad bool, c *command) status.Reason {
	var fits []status.Reason
	for r := status.None; r <= status.Stolen; r++ {
		if reasonFits(t, r) {
			fits = append(fits, r)
		}
	}
	if !bad {
		return pick(g, fits)
	}
	c.note = "wrong reason"
	if g.chance(0.2) {
		return status.Reason(42) // not a reason at all
	}
	for {
		if r := status.Reason(g.rng.IntN(int(status.Stolen) + 1)); !reasonFits(t, r) {
			return r
		}
	}
}

// confirm returns Compromise's confirmation: the ID mostly, else a stale
// or mistyped one.
func (g *generator) confirm(c *command) string {
	if !g.chance(0.2) {
		return c.id
	}
	c.note = "wrong confirmation"
	switch g.rng.IntN(4) {
	case 0:
		return "" // forgot to confirm
	case 1:
		return strings.ToLower(c.id)
	case 2:
		return c.id + " "
	}
	return pick(g, g.pool) // confirmed another vault: stale from a previous dialog
}

// code picks an activation code: the right one when known, else a wrong,
// stale or malformed one.
func (g *generator) code(c *command, v *modelVault, bad bool) string {
	if bad {
		c.note = "malformed code"
		return pick(g, []string{"", "12345", "1234567", "12a456", "١٢٣٤٥٦", " 12345", "+12345"})
	}
	if v != nil && v.hasCode && v.code == "" {
		// The code was lost with a reply: any well-formed code might be
		// right. Send a malformed one instead.
		c.note = "code unknown"
		return "x"
	}
	right := 0.75
	if v != nil && v.attempts > 0 {
		right = 0.25 // after a wrong code, try more wrong ones: the lock is worth reaching
	}
	if v != nil && v.hasCode && g.chance(right) {
		c.note = "right code"
		if !v.expiresAt().After(g.now()) {
			c.note = "right but expired code"
		}
		return v.code
	}
	if v != nil && len(v.oldCodes) > 0 && g.chance(0.3) {
		if old := pick(g, v.oldCodes); v.code != old {
			c.note = "stale code"
			return old
		}
	}
	for {
		code := fmt.Sprintf("%06d", g.rng.IntN(1_000_000))
		if v == nil || code != v.code {
			c.note = "wrong code"
			return code
		}
	}
}

// account picks an account: one the vault has (for updates and deletes)
// or a new one (for additions) mostly, sometimes the other or a malformed
// one.
func (g *generator) account(c *command, v *modelVault, bad bool) vault.Account {
	a := vault.Account{ID: pick(g, goodAccountIDs), Name: pick(g, goodNames), Login: pick(g, goodLogins)}
	if v != nil && !g.chance(0.3) {
		var have, lack []string
		for _, id := range goodAccountIDs {
			if v.findAccount(id) >= 0 {
				have = append(have, id)
			} else {
				lack = append(lack, id)
			}
		}
		want := have
		if c.kind == doAddAccount {
			want = lack
		}
		if len(want) > 0 {
			a.ID = pick(g, want)
		}
	}
	if bad {
		c.note = "bad account"
		switch g.rng.IntN(3) {
		case 0:
			a.ID = pick(g, badIDs)
		case 1:
			a.Name = pick(g, badNames)
		default:
			a.Login = pick(g, badLogins)
		}
	}
	if g.chance(0.1) {
		a.Pending = true // callers cannot set it: the Service decides
	}
	return a
}

// importBatch makes an Import of one to three vaults: new pool IDs
// mostly, sometimes existing, repeated or malformed ones, or bad labels.
func (g *generator) importBatch(c *command) {
	c.kind = doImport
	n := 1 + g.rng.IntN(3)
	if g.chance(0.03) {
		n = 0
		c.note = "empty batch"
	}
	for range n {
		nv := vault.NewVault{ID: pick(g, g.pool)} // exists already, mostly
		switch {
		case g.chance(0.15) || len(g.live()) < 4 && g.chance(0.6):
			nv.ID = g.newID()
		case g.chance(0.05):
			nv.ID = pick(g, badIDs)
			c.note = "malformed ID"
		case g.chance(0.05) && len(c.batch) > 0:
			nv.ID = c.batch[0].ID
			c.note = "ID twice"
		}
		if g.chance(0.5) {
			nv.Labels = map[string]string{"model": "YubiKey 5", "rfid": fmt.Sprintf("04:%02X", g.rng.IntN(256))}
		}
		if g.chance(0.06) {
			c.note = "bad labels"
			nv.Labels = g.badLabels()
		}
		c.batch = append(c.batch, nv)
	}
}

func (g *generator) badLabels() map[string]string {
	switch g.rng.IntN(6) {
	case 0:
		labels := map[string]string{}
		for i := range 33 {
			labels[fmt.Sprint("k", i)] = "v"
		}
		return labels
	case 1:
		return map[string]string{"": "empty key"}
	case 2:
		return map[string]string{strings.Repeat("k", 65): "long key"}
	case 3:
		return map[string]string{"model": "YubiKey\u200b 5"}
	case 4:
		return map[string]string{"\u2066rfid\u2069": "04:A2"}
	}
	return map[string]string{"mac": "00:11\n22"}
}

// read makes a Get, History or List.
func (g *generator) read(c *command) {
	switch g.rng.IntN(3) {
	case 0:
		c.kind, c.id = doGet, g.vaultID(c)
	case 1:
		c.kind, c.id = doHistory, g.vaultID(c)
	default:
		c.kind = doList
		f := &c.filter
		if g.chance(0.5) {
			f.Status = status.Status(g.rng.IntN(int(status.Compromised) + 1))
		}
		if g.chance(0.3) {
			f.Owner = pick(g, goodOwners[:3])
		}
		if g.chance(0.3) {
			f.After = pick(g, g.pool)
		}
		f.Limit = pick(g, []int{0, 1, 2, 3, 5000})
		if g.chance(0.1) {
			c.note = "bad filter"
			switch g.rng.IntN(4) {
			case 0:
				f.Status = 9
			case 1:
				f.Owner = pick(g, badOwners[1:])
			case 2:
				f.After = pick(g, badIDs[1:])
			default:
				f.Limit = -1
			}
		}
	}
}

// advance moves the clock: mostly a little, sometimes past a code's
// expiry, sometimes to exactly the instant a pending code expires.
func (g *generator) advance(c *command) {
	switch r := g.rng.IntN(10); {
	case r < 2:
		for _, id := range g.pool {
			if v := g.m.vaults[id]; v != nil && v.hasCode && v.expiresAt().After(g.now()) {
				c.advance = v.expiresAt().Sub(g.now())
				c.note = "to " + id + "'s code expiry"
				if g.chance(0.5) {
					c.advance -= time.Second
					c.note = "to 1s before " + id + "'s code expiry"
				}
				return
			}
		}
		fallthrough
	case r < 7:
		c.advance = time.Duration(1+g.rng.IntN(600)) * time.Second
	default:
		c.advance = modelPolicy.TTL/2 + time.Duration(g.rng.IntN(3600))*time.Second
	}
}

// vetoing reports whether the guard vetoes anything now.
func (g *generator) vetoing() bool {
	for _, on := range g.m.veto {
		if on {
			return true
		}
	}
	return false
}

// toggleVeto flips one of the guard's vetoes, preferring to lift one
// when some are set so that vetoes stay the exception.
func (g *generator) toggleVeto(c *command) {
	var set []status.Trigger
	for t, on := range g.m.veto {
		if on {
			set = append(set, t)
		}
	}
	slices.Sort(set) // map order is random; the sequence must not be
	if len(set) > 0 && g.chance(0.8) {
		c.veto = pick(g, set)
		return
	}
	c.veto = status.Trigger(g.rng.IntN(int(status.Compromise) + 1))
}
