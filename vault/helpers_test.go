package vault_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// t0 is the fixed start of every test's clock.
var t0 = time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)

// clock is a fake clock that moves only when told.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// fixture is a Service over a fresh store.Memory with a fake clock, a
// seeded random source and an observer that records committed events.
type fixture struct {
	t     *testing.T
	svc   *vault.Service
	store vault.Store
	clock *clock
	ctx   context.Context

	mu       sync.Mutex
	observed []vault.Event
}

func newFixture(t *testing.T, opts ...vault.Option) *fixture {
	return newFixtureOn(t, store.NewMemory(), opts...)
}

func newFixtureOn(t *testing.T, st vault.Store, opts ...vault.Option) *fixture {
	t.Helper()
	f := &fixture{t: t, store: st, clock: &clock{now: t0}, ctx: vault.WithActor(context.Background(), "admin@example.com")}
	base := []vault.Option{
		vault.WithClock(f.clock.Now),
		vault.WithRandom(rand.NewChaCha8([32]byte{1})),
		vault.WithObserver(func(ev vault.Event) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.observed = append(f.observed, ev)
		}),
	}
	f.svc = vault.NewService(st, append(base, opts...)...)
	return f
}

// must fails the test when err is not nil.
func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func (f *fixture) importIDs(ids ...string) {
	f.t.Helper()
	nvs := make([]vault.NewVault, len(ids))
	for i, id := range ids {
		nvs[i] = vault.NewVault{ID: id}
	}
	if _, err := f.svc.Import(f.ctx, nvs...); err != nil {
		f.t.Fatalf("Import: %v", err)
	}
}

// inStatus brings a freshly imported vault id into status s through the
// Service and returns the pending activation code, if any. An Active
// vault gets one account, "acct-1".
func (f *fixture) inStatus(id string, s status.Status) string {
	f.t.Helper()
	f.importIDs(id)
	if s == status.Ready {
		return ""
	}
	_, code, err := f.svc.Assign(f.ctx, id, "alice@example.com")
	if err != nil {
		f.t.Fatal(err)
	}
	switch s {
	case status.Reserved:
		return code
	case status.Compromised:
		if _, err := f.svc.Compromise(f.ctx, id, status.Lost, "", id); err != nil {
			f.t.Fatal(err)
		}
		return ""
	}
	if _, err := f.svc.Activate(f.ctx, id, code); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.AddAccount(f.ctx, id, vault.Account{ID: "acct-1", Name: "Mail", Login: "alice"}); err != nil {
		f.t.Fatal(err)
	}
	var err2 error
	code = ""
	switch s {
	case status.Active:
	case status.Locked:
		_, err2 = f.svc.Lock(f.ctx, id, status.LockedByInvalidPin)
	case status.Suspended:
		_, code, err2 = f.svc.Suspend(f.ctx, id, "on vacation")
	case status.Deactivated:
		_, err2 = f.svc.Withdraw(f.ctx, id, status.Withdrawal, "")
	default:
		f.t.Fatalf("inStatus: unknown status %v", s)
	}
	if err2 != nil {
		f.t.Fatal(err2)
	}
	v := f.get(id)
	if v.Status != s {
		f.t.Fatalf("inStatus(%s): vault is %v, want %v", id, v.Status, s)
	}
	return code
}

func (f *fixture) get(id string) *vault.Vault {
	f.t.Helper()
	v, err := f.svc.Get(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Get(%s): %v", id, err)
	}
	return v
}

func (f *fixture) history(id string) []vault.Event {
	f.t.Helper()
	evs, err := f.svc.History(f.ctx, id)
	if err != nil {
		f.t.Fatalf("History(%s): %v", id, err)
	}
	return evs
}

// snapshot is every vault and history in the store, to prove that a
// refused command changed nothing.
type snapshot struct {
	Vaults  []*vault.Vault
	History map[string][]vault.Event
}

func (f *fixture) snapshot() snapshot {
	f.t.Helper()
	s := snapshot{History: map[string][]vault.Event{}}
	for after := ""; ; {
		p, err := f.store.List(f.ctx, vault.Filter{After: after, Limit: vault.MaxLimit})
		if err != nil {
			f.t.Fatal(err)
		}
		for _, v := range p.Vaults {
			s.Vaults = append(s.Vaults, v)
			s.History[v.ID] = f.history(v.ID)
		}
		if p.Next == "" {
			return s
		}
		after = p.Next
	}
}

func (f *fixture) unchangedSince(before snapshot, what string) {
	f.t.Helper()
	if d := cmp.Diff(before, f.snapshot()); d != "" {
		f.t.Errorf("%s changed the store (-before +after):\n%s", what, d)
	}
}

// checkHistory asserts that a vault's history is versions 1..n, that the
// last version is the vault's, and that replaying From/To reaches its status.
func (f *fixture) checkHistory(id string) {
	f.t.Helper()
	v := f.get(id)
	evs := f.history(id)
	if uint64(len(evs)) != v.Version {
		f.t.Fatalf("%s: %d events for version %d; want one event per version", id, len(evs), v.Version)
	}
	st := status.Status(0)
	for i, ev := range evs {
		if ev.Version != uint64(i+1) || ev.VaultID != id {
			f.t.Fatalf("%s: event %d is %s v%d; want versions 1..n of this vault", id, i, ev.VaultID, ev.Version)
		}
		if i > 0 && ev.From != st {
			f.t.Fatalf("%s: event v%d starts from %v but the vault was %v", id, ev.Version, ev.From, st)
		}
		if ev.Trigger != 0 {
			if to, err := status.Next(ev.From, ev.Trigger); err != nil || to != ev.To {
				f.t.Fatalf("%s: event v%d records %v -%v-> %v, which the graph does not have", id, ev.Version, ev.From, ev.Trigger, ev.To)
			}
		}
		st = ev.To
	}
	if st != v.Status {
		f.t.Fatalf("%s: history replays to %v, vault is %v", id, st, v.Status)
	}
}

func (f *fixture) events() []vault.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]vault.Event(nil), f.observed...)
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if sub != "" && strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
