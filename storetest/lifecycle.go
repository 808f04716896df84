package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// Environment variables that size and seed [Lifecycle].
const (
	// SeedEnv sets the seed of Lifecycle's first run (run i uses seed+i);
	// "random" draws one, which the test logs.
	SeedEnv = "HWVAULT_MODEL_SEED"
	// StepsEnv sets the number of commands per run.
	StepsEnv = "HWVAULT_MODEL_STEPS"
	// RunsEnv sets the number of runs, each on a fresh store.
	RunsEnv = "HWVAULT_MODEL_RUNS"
)

// Lifecycle is a model-based test of the lifecycle Service over the
// stores newStore returns. It drives a [vault.Service] with seeded random
// sequences of commands over several vaults: valid ones mostly, and
// commands that must be refused for every reason the contract names
// (malformed arguments and actors, text hiding formatting characters,
// missing vaults and accounts, statuses that do not permit them, wrong,
// stale and expired activation codes, wrong Compromise confirmations,
// guard vetoes, duplicate imports). After every
// step it compares, with a small reference model of DESIGN.md written
// independently of packages status and vault:
//
//   - the command's result: success, or exactly which sentinel errors
//     the error wraps (and the refused transition, for
//     status.ErrNotPermitted), and the vault and code it returned;
//   - what the guard saw: the pre-change vault and the trigger;
//   - every stored vault, field by field (status, reason, owner,
//     description, accounts and their pending flags, the pending code,
//     its attempts and expiry, labels, version, times), read from the
//     store itself, and that no activation code is stored in clear;
//   - the history: exactly the events the model expects, versions 1..n,
//     each starting where the previous one ended and replaying to the
//     stored status.
//
// Each run starts from a fresh store (newStore is called once per run,
// with the run's subtest t) and uses its own seed, so a failure repeats
// exactly: the message names the seed, the failing step and the commands
// that led there. The Service runs with a fake clock, a seeded code
// source, the policy {6 digits, TTL 1h, MaxAttempts 3}, a code key on
// odd seeds, a guard whose vetoes the sequence switches on and off, and
// an observer, whose events must be exactly those of the changes the
// commands report.
//
// By default Lifecycle makes 8 runs of 600 commands (4 of 300 with
// -short), which takes well under a second on store.Memory under -race;
// a database store pays a few round trips per command. For a long run
// set [StepsEnv] and [RunsEnv] (HWVAULT_MODEL_STEPS=20000
// HWVAULT_MODEL_RUNS=40), and [SeedEnv] to a seed or to "random". When the
// runs that ran (go test -run may select some only) made 4,000 steps or
// more, Lifecycle also fails unless they produced every outcome it is
// meant to explore, so that a generator that drifted cannot pass quietly.
//
// Typical usage, in the store's own package next to [Run]:
//
//	func TestLifecycle(t *testing.T) {
//		storetest.Lifecycle(t, func(t *testing.T) vault.Store {
//			return mystore.New(...) // a fresh, empty store
//		})
//	}
//
// The store is held to the same liberties as in Run: times to the
// microsecond in any location, nil and empty maps and slices alike.
func Lifecycle(t *testing.T, newStore func(t *testing.T) vault.Store) {
	t.Helper()
	cfg := modelConfigFromEnv(t)
	cov := newCoverage()
	for i := range cfg.runs {
		seed := cfg.seed + uint64(i)
		t.Run(fmt.Sprintf("Run%02d", i), func(t *testing.T) {
			st := newStore(t)
			if st == nil {
				t.Fatal("newStore returned a nil vault.Store")
			}
			e := newEngine(st, nil, seed, cov)
			if err := e.run(t.Context(), cfg.steps); err != nil {
				t.Fatalf("%v\nTo repeat this run alone: %s=%d %s=%d go test -run %s",
					err, SeedEnv, seed, StepsEnv, cfg.steps, rerunPattern(t.Name()))
			}
		})
	}
	// Only the steps that ran count: -run may have selected some runs
	// only (as the hint above does), and a short run may miss an outcome
	// by chance.
	if !t.Failed() && cov.steps >= coverageSteps {
		cov.check(t)
	}
}

// rerunPattern returns the go test -run pattern, quoted for a POSIX
// shell, that selects the subtest Run00 next to the subtest name (a
// t.Name(): its elements joined by "/"), and nothing else: each element
// matched exactly, as a regular expression anchored at both ends, so that
// Lifecycle called inside subtests, or under names with characters that
// mean something in a regular expression, is found again.
func rerunPattern(name string) string {
	elems := strings.Split(name, "/")
	elems[len(elems)-1] = "Run00" // with the seed of the failed run, Run00 repeats it
	for i, e := range elems {
		elems[i] = "^" + regexp.QuoteMeta(e) + "$"
	}
	return "'" + strings.ReplaceAll(strings.Join(elems, "/"), "'", `'\''`) + "'"
}

// modelConfig sizes and seeds the model runs.
type modelConfig struct {
	seed        uint64
	runs, steps int
}

func modelConfigFromEnv(t *testing.T) modelConfig {
	t.Helper()
	cfg := modelConfig{seed: 1, runs: 8, steps: 600}
	if testing.Short() {
		cfg.runs, cfg.steps = 4, 300
	}
	if s := os.Getenv(SeedEnv); s == "random" {
		cfg.seed = rand.Uint64N(1 << 32)
	} else if s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: want a number or \"random\"", SeedEnv, s)
		}
		cfg.seed = n
	}
	for _, v := range []struct {
		env string
		dst *int
	}{{StepsEnv, &cfg.steps}, {RunsEnv, &cfg.runs}} {
		if s := os.Getenv(v.env); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 {
				t.Fatalf("%s=%q: want a positive number", v.env, s)
			}
			*v.dst = n
		}
	}
	t.Logf("model runs: %d of %d steps, seeds %d.. (%s, %s, %s)", cfg.runs, cfg.steps, cfg.seed, SeedEnv, RunsEnv, StepsEnv)
	return cfg
}

// errVeto is the error of the model's guard.
var errVeto = errors.New("storetest: the model's guard vetoes this change")

// modelEpoch is where the fake clock starts: microsecond precision, so a
// database that keeps microseconds keeps every time exactly.
var modelEpoch = time.Date(2026, time.January, 2, 3, 4, 5, 678901000, time.UTC)

// engine runs one seeded sequence of commands against a Service and the
// model, and checks that they agree.
type engine struct {
	st     vault.Store // the store under test; the engine reads the truth from it
	faulty *Faulty     // between the Service and st, or nil
	svc    *vault.Service
	m      *model
	gen    *generator
	seed   uint64
	now    time.Time     // the fake clock
	seen   []guardCall   // what the guard saw during the current step
	heard  []vault.Event // what the observer received during the current step
	trace  []string      // one line per step, for failure reports
	cov    *coverage
}

func newEngine(st vault.Store, faulty *Faulty, seed uint64, cov *coverage) *engine {
	e := &engine{st: st, faulty: faulty, m: newModel(), seed: seed, now: modelEpoch, cov: cov}
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	e.gen = &generator{
		rng:  rand.New(rand.NewPCG(seed, 0x6877766175)),
		m:    e.m,
		pool: []string{"HK-1", "HK-2", "HK-3"},
		now:  func() time.Time { return e.now },
	}
	var svcStore vault.Store = st
	if faulty != nil {
		svcStore = faulty
	}
	var opts []vault.Option
	if seed%2 == 1 {
		opts = append(opts, vault.WithCodeKey(key[:])) // odd seeds hash codes with a key
	}
	e.svc = vault.NewService(svcStore, append(opts,
		vault.WithClock(func() time.Time { return e.now }),
		vault.WithRandom(rand.NewChaCha8(key)),
		vault.WithCodePolicy(modelPolicy),
		vault.WithGuard(func(_ context.Context, v *vault.Vault, t status.Trigger) error {
			e.seen = append(e.seen, guardCall{ID: v.ID, Version: v.Version, Status: v.Status, Trigger: t})
			if e.m.veto[t] {
				return errVeto
			}
			return nil
		}),
		vault.WithObserver(func(ev vault.Event) { e.heard = append(e.heard, ev) }),
	)...)
	return e
}

// run imports the first vaults, then runs steps random commands.
func (e *engine) run(ctx context.Context, steps int) error {
	first := &command{kind: doImport, actor: "admin-1", note: "first vaults"}
	for _, id := range e.gen.pool {
		first.batch = append(first.batch, vault.NewVault{ID: id, Labels: map[string]string{"model": "YubiKey 5"}})
	}
	if err := e.step(ctx, 0, first); err != nil {
		return err
	}
	for i := 1; i <= steps; i++ {
		if err := e.step(ctx, i, e.gen.next()); err != nil {
			return err
		}
	}
	// Last, every vault and every history.
	problems := e.scanStore(ctx)
	for _, id := range sortedKeys(e.m.vaults) {
		h, err := e.st.History(ctx, id)
		if err != nil {
			problems = append(problems, fmt.Sprintf("store History(%q): %v", id, err))
			continue
		}
		problems = append(problems, diffEvents(e.m.vaults[id].events, h, fmt.Sprintf("the store's history of %q", id))...)
	}
	if len(problems) > 0 {
		return e.report(steps, &command{kind: doList, note: "final check of every vault and history"}, expectation{label: "the model's state"}, problems)
	}
	return nil
}

// result is what a Service call returned.
type result struct {
	v      *vault.Vault
	vaults []*vault.Vault // Import
	code   string
	events []vault.Event // History
	page   vault.Page    // List
	err    error
}

// exec runs c on the Service.
func (e *engine) exec(ctx context.Context, c *command) (r result) {
	ctx = vault.WithActor(ctx, c.actor)
	s := e.svc
	switch c.kind {
	case doImport:
		r.vaults, r.err = s.Import(ctx, c.batch...)
	case doAssign:
		r.v, r.code, r.err = s.Assign(ctx, c.id, c.owner)
	case doUnassign:
		r.v, r.err = s.Unassign(ctx, c.id)
	case doActivate:
		r.v, r.err = s.Activate(ctx, c.id, c.code)
	case doLock:
		r.v, r.err = s.Lock(ctx, c.id, c.reason)
	case doReactivate:
		r.v, r.code, r.err = s.Reactivate(ctx, c.id)
	case doSuspend:
		r.v, r.code, r.err = s.Suspend(ctx, c.id, c.text)
	case doWithdraw:
		r.v, r.err = s.Withdraw(ctx, c.id, c.reason, c.text)
	case doWipe:
		r.v, r.err = s.Wipe(ctx, c.id)
	case doCompromise:
		r.v, r.err = s.Compromise(ctx, c.id, c.reason, c.text, c.confirm)
	case doReissueCode:
		r.v, r.code, r.err = s.ReissueCode(ctx, c.id)
	case doAddAccount:
		r.v, r.err = s.AddAccount(ctx, c.id, c.account)
	case doUpdateAccount:
		r.v, r.err = s.UpdateAccount(ctx, c.id, c.account)
	case doDeleteAccount:
		r.v, r.err = s.DeleteAccount(ctx, c.id, c.account.ID)
	case doGet:
		r.v, r.err = s.Get(ctx, c.id)
	case doHistory:
		r.events, r.err = s.History(ctx, c.id)
	case doList:
		r.page, r.err = s.List(ctx, c.filter)
	default:
		panic(fmt.Sprintf("storetest: exec of %v", c.kind))
	}
	return r
}

// step runs command c and checks the Service and the store against the
// model; it returns a report of every disagreement.
func (e *engine) step(ctx context.Context, i int, c *command) error {
	if e.cov != nil {
		e.cov.steps++
	}
	switch c.kind {
	case doAdvanceClock:
		e.now = e.now.Add(c.advance)
		e.trace = append(e.trace, fmt.Sprintf("%4d %v", i, c))
		return nil
	case doToggleVeto:
		e.m.veto[c.veto] = !e.m.veto[c.veto]
		e.trace = append(e.trace, fmt.Sprintf("%4d %v -> veto %v", i, c, e.m.veto[c.veto]))
		return nil
	}

	exp := e.m.expect(c, e.now)
	e.seen, e.heard = nil, nil
	var before int
	if e.faulty != nil {
		before = len(e.faulty.Injections())
	}
	r := e.exec(ctx, c)
	var injected []Injection
	if e.faulty != nil {
		injected = e.faulty.Injections()[before:]
	}

	var problems []string
	exp, problems = expectFaults(exp, injected, r.err)
	problems = append(problems, checkError(c, exp, r.err)...)
	if len(injected) == 0 && !slices.Equal(e.seen, exp.guard) {
		problems = append(problems, fmt.Sprintf("the guard saw %+v; want %+v", e.seen, exp.guard))
	}
	problems = append(problems, e.checkReturned(c, exp, r)...)
	problems = append(problems, checkObserved(exp, e.heard)...)

	outcome := "ok"
	if r.err != nil {
		outcome = r.err.Error()
		if len(outcome) > 160 {
			outcome = outcome[:160] + "..."
		}
	}
	e.trace = append(e.trace, fmt.Sprintf("%4d %v -> %s", i, c, outcome))
	if len(problems) == 0 {
		// Only a Service that agreed with the model moves it on.
		e.m.commit(exp, r.code)
		problems = e.checkStore(ctx, c, exp, i%fullScanEvery == 0)
	}
	if e.cov != nil {
		e.cov.record(c, exp.label, e.m)
	}
	if len(problems) > 0 {
		return e.report(i, c, exp, problems)
	}
	return nil
}

// expectFaults adjusts the model's expectation to the faults a Faulty
// injected during the command, in order:
//
//   - conflicts make the Service retry on the fresh state, which the
//     model's expectation already describes; when they outlast its retry
//     budget (at least 3 attempts) the command is ErrConflict and
//     changes nothing;
//   - any other fault ends the command with an error wrapping the
//     injected one; when it was a lost acknowledgement (the write was
//     applied), the change is stored all the same, but its activation
//     code, if any, never reached the caller.
func expectFaults(exp expectation, injected []Injection, got error) (expectation, []string) {
	if len(injected) == 0 {
		return exp, nil
	}
	var conflicts int
	var problems []string
	for i, inj := range injected {
		if !inj.Applied && errors.Is(inj.Err, vault.ErrConflict) {
			conflicts++
			continue
		}
		if i != len(injected)-1 {
			problems = append(problems, fmt.Sprintf("the Service kept calling the store after it failed: %v", inj.Err))
		}
		e := expectErr(ErrInjected, "injected "+inj.Op.String())
		if inj.Applied && (inj.Op == OpUpdate || inj.Op == OpCreate) {
			if len(exp.changes) == 0 {
				problems = append(problems, fmt.Sprintf("the Service wrote (%v) although the model expected %s", inj.Op, exp.label))
			}
			e.changes, e.newCode, e.label = exp.changes, exp.newCode, "lost ack of "+exp.label
		}
		return e, problems
	}
	if len(exp.changes) == 0 {
		problems = append(problems, fmt.Sprintf("the Service wrote (%d conflicted Updates) although the model expected %s", conflicts, exp.label))
	}
	if errors.Is(got, vault.ErrConflict) {
		if conflicts < 3 {
			problems = append(problems, fmt.Sprintf("the Service gave up after %d conflicts; the contract asks for at least 3 attempts", conflicts))
		}
		return expectErr(vault.ErrConflict, "ErrConflict(gave up)"), problems
	}
	return exp, problems
}

// checkObserved checks that the observer received the events of the
// changes the Service knows it stored: each change's new event, in order,
// and nothing for a change whose acknowledgement was lost.
func checkObserved(exp expectation, heard []vault.Event) []string {
	var want []vault.Event
	if exp.returns {
		for _, v := range exp.changes {
			want = append(want, v.events[len(v.events)-1])
		}
	}
	return diffEvents(want, heard, "the observer's events")
}

// sentinels are the errors a Service error may wrap; checkError requires
// exactly the expected ones.
var sentinels = []struct {
	name string
	err  error
}{
	{"vault.ErrNotFound", vault.ErrNotFound},
	{"vault.ErrExists", vault.ErrExists},
	{"vault.ErrConflict", vault.ErrConflict},
	{"vault.ErrInvalidCode", vault.ErrInvalidCode},
	{"vault.ErrCodeExpired", vault.ErrCodeExpired},
	{"vault.ErrConfirmation", vault.ErrConfirmation},
	{"vault.ErrNotAllowed", vault.ErrNotAllowed},
	{"vault.ErrInvalidArgument", vault.ErrInvalidArgument},
	{"vault.ErrRejected", vault.ErrRejected},
	{"status.ErrNotPermitted", status.ErrNotPermitted},
	{"status.ErrInvalidReason", status.ErrInvalidReason},
	{"status.ErrUnknown", status.ErrUnknown},
	{"the guard's error", errVeto},
	{"storetest.ErrInjected", ErrInjected},
}

// checkError compares the Service's error with the expectation.
func checkError(c *command, exp expectation, err error) []string {
	if exp.err == nil {
		if err != nil {
			return []string{fmt.Sprintf("the Service returned %v; want success", err)}
		}
		return nil
	}
	if err == nil {
		return []string{fmt.Sprintf("the Service succeeded; want an error wrapping %v (%s)", exp.err, exp.label)}
	}
	var problems []string
	want := append([]error{exp.err}, exp.also...)
	for _, s := range sentinels {
		is, should := errors.Is(err, s.err), slices.Contains(want, s.err)
		if is != should {
			problems = append(problems, fmt.Sprintf("errors.Is(err, %s) = %v, want %v (%s); err: %v", s.name, is, should, exp.label, err))
		}
	}
	if exp.refusal != nil {
		var te *status.TransitionError
		if !errors.As(err, &te) || *te != *exp.refusal {
			problems = append(problems, fmt.Sprintf("errors.As(err, *status.TransitionError) gives %+v, want %+v; err: %v", te, *exp.refusal, err))
		}
	}
	if !namesVault(c, exp, err.Error()) {
		problems = append(problems, fmt.Sprintf("the error does not name the vault: %v", err))
	}
	if c.kind == doActivate && wellFormedCode(c.code) && strings.Contains(err.Error(), c.code) {
		problems = append(problems, fmt.Sprintf("the error repeats the activation code: %v", err))
	}
	return problems
}

// namesVault reports whether an error message names the vault the
// command concerned (for Import, one of the batch), quoted. An Import
// refused for what concerns none of its vaults in particular (an empty
// batch, a malformed actor) need not name one; a command refused for its
// actor need not name an empty ID either.
func namesVault(c *command, exp expectation, msg string) bool {
	switch c.kind {
	case doList:
		return true
	case doImport:
		for _, nv := range c.batch {
			if strings.Contains(msg, strconv.Quote(nv.ID)) {
				return true
			}
		}
		return len(c.batch) == 0 || exp.label == "ErrInvalidArgument(actor)"
	}
	if c.id == "" && exp.label == "ErrInvalidArgument(actor)" {
		return true
	}
	return strings.Contains(msg, strconv.Quote(c.id))
}

// checkReturned compares what the command returned with the model.
func (e *engine) checkReturned(c *command, exp expectation, r result) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if r.err != nil && exp.err == nil {
		return nil // reported by checkError
	}
	switch c.kind {
	case doGet:
		if r.err == nil {
			problems = diffVault(e.m.vaults[c.id], r.v, "Get returned")
		}
	case doHistory:
		if r.err == nil {
			problems = diffEvents(e.m.vaults[c.id].events, r.events, "History returned")
		}
	case doList:
		if r.err == nil {
			ids, next := e.m.page(c.filter)
			got := make([]string, len(r.page.Vaults))
			for i, v := range r.page.Vaults {
				got[i] = v.ID
				if m := e.m.vaults[v.ID]; m != nil {
					problems = append(problems, diffVault(m, v, "List returned")...)
				}
			}
			if !slices.Equal(got, ids) || r.page.Next != next {
				add("List returned %q, Next %q; want %q, Next %q", got, r.page.Next, ids, next)
			}
		}
	case doImport:
		if !exp.returns {
			if r.vaults != nil {
				add("a refused Import returned vaults")
			}
			break
		}
		if len(r.vaults) != len(exp.changes) {
			add("Import returned %d vaults; want %d", len(r.vaults), len(exp.changes))
			break
		}
		for i, v := range r.vaults {
			problems = append(problems, diffVault(exp.changes[i], v, "Import returned")...)
		}
	default:
		if !exp.returns {
			if r.v != nil || r.code != "" {
				add("a command that stored nothing returned vault %v and code %q; want nil and \"\"", r.v != nil, r.code)
			}
			break
		}
		if r.v == nil {
			add("the command stored a change but returned no vault")
			break
		}
		if exp.newCode && !wellFormedCode(r.code) {
			add("the command returned code %q; want %d digits", r.code, modelPolicy.Digits)
		}
		if !exp.newCode && r.code != "" {
			add("the command returned code %q; want none", r.code)
		}
		want := exp.changes[0].clone()
		if exp.newCode {
			want.code = r.code
		}
		problems = append(problems, diffVault(want, r.v, "the command returned")...)
	}
	return problems
}

// fullScanEvery is how often (in steps) checkStore compares every vault
// in the store with the model, to catch changes to vaults a command did
// not concern; in between it reads only the vaults the command concerned.
const fullScanEvery = 16

// checkStore reads the vaults the command concerned from the store and
// compares them and their histories with the model; with all, it
// compares every vault in the store too.
func (e *engine) checkStore(ctx context.Context, c *command, exp expectation, all bool) []string {
	var problems []string
	if all {
		problems = e.scanStore(ctx)
	}
	touched := map[string]bool{}
	if e.m.vaults[c.id] != nil {
		touched[c.id] = true
	}
	for _, v := range exp.changes {
		touched[v.id] = true
	}
	for _, id := range sortedKeys(touched) {
		mv := e.m.vaults[id]
		v, err := e.st.Get(ctx, id)
		if err != nil {
			problems = append(problems, fmt.Sprintf("store Get(%q): %v", id, err))
			continue
		}
		problems = append(problems, diffVault(mv, v, "the store holds")...)
		h, err := e.st.History(ctx, id)
		if err != nil {
			problems = append(problems, fmt.Sprintf("store History(%q): %v", id, err))
			continue
		}
		problems = append(problems, replay(v, h)...)
		problems = append(problems, diffEvents(mv.events, h, "the store's history")...)
	}
	return problems
}

// scanStore lists every vault in the store and compares it with the
// model.
func (e *engine) scanStore(ctx context.Context) []string {
	var problems []string
	got := map[string]*vault.Vault{}
	for f := (vault.Filter{Limit: vault.MaxLimit}); ; {
		p, err := e.st.List(ctx, f)
		if err != nil {
			return []string{fmt.Sprintf("store List: %v", err)}
		}
		for _, v := range p.Vaults {
			got[v.ID] = v
			if e.m.vaults[v.ID] == nil {
				problems = append(problems, fmt.Sprintf("the store holds vault %q, which the model does not", v.ID))
			}
		}
		if p.Next == "" {
			break
		}
		f.After = p.Next
	}
	for _, id := range sortedKeys(e.m.vaults) {
		if got[id] == nil {
			problems = append(problems, fmt.Sprintf("the store lost vault %q", id))
			continue
		}
		problems = append(problems, diffVault(e.m.vaults[id], got[id], "the store holds")...)
	}
	return problems
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// diffVault compares a vault with the model's, field by field.
func diffVault(want *modelVault, got *vault.Vault, what string) []string {
	if got == nil {
		return []string{fmt.Sprintf("%s no vault; want %q", what, want.id)}
	}
	var problems []string
	add := func(field string, g, w any) {
		problems = append(problems, fmt.Sprintf("%s vault %q with %s %v; want %v", what, want.id, field, g, w))
	}
	if got.ID != want.id {
		add("ID", got.ID, want.id)
	}
	if got.Status != want.status {
		add("Status", got.Status, want.status)
	}
	if got.Reason != want.reason {
		add("Reason", got.Reason, want.reason)
	}
	if got.Owner != want.owner {
		add("Owner", strconv.Quote(got.Owner), strconv.Quote(want.owner))
	}
	if got.Description != want.description {
		add("Description", strconv.Quote(got.Description), strconv.Quote(want.description))
	}
	if !slices.Equal(got.Accounts, want.accounts) {
		add("Accounts", formatAccounts(got.Accounts), formatAccounts(want.accounts))
	}
	if len(got.Labels) != len(want.labels) || !equalLabels(got.Labels, want.labels) {
		add("Labels", got.Labels, want.labels)
	}
	if got.Version != want.version {
		add("Version", got.Version, want.version)
	}
	if !got.CreatedAt.Equal(want.createdAt) {
		add("CreatedAt", got.CreatedAt, want.createdAt)
	}
	if !got.UpdatedAt.Equal(want.updatedAt) {
		add("UpdatedAt", got.UpdatedAt, want.updatedAt)
	}
	a := got.Activation
	switch {
	case (a != nil) != want.hasCode:
		add("a pending code", a != nil, want.hasCode)
	case a != nil:
		if a.Attempts != want.attempts {
			add("Activation.Attempts", a.Attempts, want.attempts)
		}
		if !a.IssuedAt.Equal(want.issuedAt) {
			add("Activation.IssuedAt", a.IssuedAt, want.issuedAt)
		}
		if !a.ExpiresAt.Equal(want.expiresAt()) {
			add("Activation.ExpiresAt", a.ExpiresAt, want.expiresAt())
		}
		if len(a.Hash) != sha256.Size || len(a.Salt) == 0 {
			add("a code hash and salt of lengths", fmt.Sprint(len(a.Hash), len(a.Salt)), "32 and more than 0")
		}
		if want.code != "" && (bytes.Contains(a.Hash, []byte(want.code)) || bytes.Contains(a.Salt, []byte(want.code))) {
			add("its activation code", "in clear in Hash or Salt", "only a hash")
		}
	}
	return problems
}

// formatAccounts prints accounts compactly, long names shortened.
func formatAccounts(as []vault.Account) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = fmt.Sprintf("{%s %s %s pending=%v}", short(a.ID), short(a.Name), short(a.Login), a.Pending)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func equalLabels(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// sameEvent compares events, times as instants.
func sameEvent(a, b vault.Event) bool {
	ta, tb := a.Time, b.Time
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b && ta.Equal(tb)
}

// diffEvents compares a history with the model's.
func diffEvents(want, got []vault.Event, what string) []string {
	if len(want) == len(got) {
		same := true
		for i := range want {
			same = same && sameEvent(want[i], got[i])
		}
		if same {
			return nil
		}
	}
	return []string{fmt.Sprintf("%s differs from the model's (-want +got):\n%s", what, cmp.Diff(want, got, compareOpts...))}
}

// replay checks a history's shape against the vault it belongs to, by
// the lifecycle table alone: versions 1..n with one event each, an
// import first, each event starting where the previous one ended, every
// transition an edge of the lifecycle and every other change staying in
// its status, and the last event ending in the vault's status.
func replay(v *vault.Vault, h []vault.Event) []string {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf("history of %q: ", v.ID)+fmt.Sprintf(format, args...))
	}
	if uint64(len(h)) != v.Version {
		add("%d events for version %d; want one event per version", len(h), v.Version)
	}
	var at status.Status
	for i, ev := range h {
		switch {
		case ev.Version != uint64(i+1) || ev.VaultID != v.ID:
			add("event %d is %q v%d; want versions 1..n of this vault", i, ev.VaultID, ev.Version)
		case i == 0 && (ev.Action != vault.ActionImport || ev.From != status.Ready || ev.To != status.Ready):
			add("v1 is %s %v->%v; want the import, Ready", ev.Action, ev.From, ev.To)
		case i > 0 && ev.From != at:
			add("v%d starts from %v, but v%d ended in %v", ev.Version, ev.From, ev.Version-1, at)
		case ev.Trigger != 0:
			if to, ok := lifecycleNext(ev.From, ev.Trigger); !ok || to != ev.To {
				add("v%d records %v -%v-> %v, which the lifecycle does not have", ev.Version, ev.From, ev.Trigger, ev.To)
			}
		case ev.From != ev.To:
			add("v%d changes %v to %v without a trigger", ev.Version, ev.From, ev.To)
		}
		at = ev.To
	}
	if len(h) > 0 && at != v.Status {
		add("replays to %v, but the vault is %v", at, v.Status)
	}
	return problems
}

// report formats a failed step with the steps that led to it.
func (e *engine) report(i int, c *command, exp expectation, problems []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Service and model disagree: seed %d, step %d: %v\nthe model expected: %s\n", e.seed, i, c, exp.label)
	for _, p := range problems {
		fmt.Fprintf(&b, "  - %s\n", p)
	}
	const tail = 40
	from := max(0, len(e.trace)-tail)
	fmt.Fprintf(&b, "the steps that led here (%d of %d; clock now %v):\n", len(e.trace)-from, len(e.trace), e.now.Format(time.RFC3339))
	for _, line := range e.trace[from:] {
		fmt.Fprintf(&b, "  %s\n", line)
	}
	return errors.New(b.String())
}

// coverageSteps is the smallest number of steps, over the runs that
// actually ran, after which Lifecycle insists that the generator reached
// every outcome in mustCover.
const coverageSteps = 4000

// mustCover lists outcomes a long enough run must have produced, so that
// a generator that drifted into testing nothing fails loudly.
var mustCover = []string{
	"Import:ok", "Assign:ok", "Unassign:ok", "Activate:ok", "Lock:ok", "Reactivate:ok",
	"Suspend:ok", "Withdraw:ok", "Wipe:ok", "Compromise:ok", "ReissueCode:ok",
	"AddAccount:ok", "UpdateAccount:ok", "DeleteAccount:ok", "Get:ok", "History:ok", "List:ok",
	"Activate:ErrInvalidCode(counted)", "Activate:ErrInvalidCode(locked)", "Activate:ErrCodeExpired",
	"Compromise:ErrConfirmation", "Import:ErrExists", "AddAccount:ErrExists(account)",
	"*:ErrInvalidReason", "*:ErrInvalidArgument", "*:ErrInvalidArgument(id)", "*:ErrNotFound",
	"*:ErrNotFound(account)", "*:ErrNotPermitted", "*:ErrNotAllowed", "*:ErrRejected",
	"*:ErrInvalidArgument(actor)",
	// Text with invisible or bidirectional formatting characters, refused.
	"hidden:ErrInvalidArgument", "hidden:ErrInvalidArgument(actor)",
}

// coverage counts the outcomes the runs produced and the statuses the
// model's vaults reached.
type coverage struct {
	steps    int // steps run, of every kind
	outcomes map[string]int
	statuses map[status.Status]bool
}

func newCoverage() *coverage {
	return &coverage{outcomes: map[string]int{}, statuses: map[status.Status]bool{}}
}

func (c *coverage) record(cmd *command, label string, m *model) {
	c.outcomes[cmd.kind.String()+":"+label]++
	c.outcomes["*:"+label]++
	if cmd.hidden() {
		c.outcomes["hidden:"+label]++
	}
	for _, v := range m.vaults {
		c.statuses[v.status] = true
	}
}

func (c *coverage) check(t *testing.T) {
	t.Helper()
	for _, o := range mustCover {
		if c.outcomes[o] == 0 {
			t.Errorf("the command generator never produced %s; it no longer explores what it should", o)
		}
	}
	for _, s := range status.Statuses() {
		if !c.statuses[s] {
			t.Errorf("no vault ever reached %v; the command generator no longer explores the lifecycle", s)
		}
	}
}
