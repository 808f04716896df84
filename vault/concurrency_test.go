package vault_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// barrierStore makes the first n Gets wait for each other, so that n
// commands all read the same version before any of them writes.
type barrierStore struct {
	vault.Store
	wg sync.WaitGroup
	n  atomic.Int32
}

func newBarrierStore(n int) *barrierStore {
	b := &barrierStore{Store: store.NewMemory()}
	b.wg.Add(n)
	b.n.Store(int32(n))
	return b
}

func (b *barrierStore) Get(ctx context.Context, id string) (*vault.Vault, error) {
	v, err := b.Store.Get(ctx, id)
	if b.n.Add(-1) >= 0 {
		b.wg.Done()
		b.wg.Wait()
	}
	return v, err
}

// Two admins suspend the same key at once: both read Active, one write
// wins, and the other — retried on the fresh state — is refused by it.
func TestTwoAdminsSuspendAtOnce(t *testing.T) {
	f := newFixture(t)
	f.inStatus("HK-1", status.Active)
	bs := newBarrierStore(2)
	bs.Store = f.store
	svc := vault.NewService(bs)

	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			_, _, errs[i] = svc.Suspend(vault.WithActor(context.Background(), fmt.Sprint("admin-", i)), "HK-1", "")
		})
	}
	wg.Wait()
	won, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, status.ErrNotPermitted):
			refused++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 || refused != 1 {
		t.Fatalf("errors %v; want exactly one winner and one refusal by the fresh state", errs)
	}
	f.checkHistory("HK-1")
}

// conflictStore reports ErrConflict on every Update.
type conflictStore struct {
	vault.Store
	updates atomic.Int32
}

func (c *conflictStore) Update(context.Context, *vault.Vault, []vault.Event) error {
	c.updates.Add(1)
	return fmt.Errorf("always: %w", vault.ErrConflict)
}

func TestConflictRetriesThenGivesUp(t *testing.T) {
	f := newFixture(t)
	f.inStatus("HK-1", status.Active)
	cs := &conflictStore{Store: f.store}
	_, err := vault.NewService(cs).Lock(f.ctx, "HK-1", status.LockedByInvalidPin)
	if !errors.Is(err, vault.ErrConflict) {
		t.Fatalf("Lock against a store in constant conflict = %v; want ErrConflict", err)
	}
	if n := cs.updates.Load(); n < 3 {
		t.Fatalf("gave up after %d attempts; the contract asks for at least 3", n)
	}
}

// Many goroutines run random commands on a few vaults. Afterwards every
// history is contiguous and replays to the stored state, and the number
// of stored events equals the number of commands that reported a stored
// change (successes plus counted wrong codes) plus the imports.
func TestConcurrentCommands(t *testing.T) {
	f := newFixture(t, vault.WithCodePolicy(vault.CodePolicy{MaxAttempts: 4}))
	ids := []string{"HK-1", "HK-2", "HK-3"}
	f.importIDs(ids...)
	var mu sync.Mutex
	codes := map[string]string{}
	var stored atomic.Int64
	const workers, steps = 8, 200

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			ctx := vault.WithActor(context.Background(), fmt.Sprint("worker-", w))
			for range steps {
				id := ids[rng.IntN(len(ids))]
				var code string
				var err error
				var v *vault.Vault
				switch rng.IntN(12) {
				case 0:
					v, code, err = f.svc.Assign(ctx, id, "alice")
				case 1:
					mu.Lock()
					c := codes[id]
					mu.Unlock()
					if c == "" || rng.IntN(3) == 0 {
						c = "123456"
					}
					v, err = f.svc.Activate(ctx, id, c)
				case 2:
					v, err = f.svc.Lock(ctx, id, status.LockedByInvalidPin)
				case 3:
					v, code, err = f.svc.Reactivate(ctx, id)
				case 4:
					v, code, err = f.svc.Suspend(ctx, id, "")
				case 5:
					v, code, err = f.svc.ReissueCode(ctx, id)
				case 6:
					v, err = f.svc.Withdraw(ctx, id, status.Broken, "")
				case 7, 8:
					v, err = f.svc.Wipe(ctx, id)
				case 9:
					v, err = f.svc.Unassign(ctx, id)
				case 10:
					v, err = f.svc.AddAccount(ctx, id, vault.Account{ID: fmt.Sprint("a", rng.IntN(4)), Name: "x"})
				case 11:
					if rng.IntN(20) == 0 {
						v, err = f.svc.Compromise(ctx, id, status.Lost, "", id)
					}
				}
				if err != nil && !errors.Is(err, vault.ErrInvalidCode) &&
					!errors.Is(err, status.ErrNotPermitted) && !errors.Is(err, vault.ErrNotAllowed) &&
					!errors.Is(err, vault.ErrExists) && !errors.Is(err, vault.ErrConflict) {
					t.Errorf("unexpected error: %v", err)
				}
				if v != nil {
					stored.Add(1) // a success, or a counted wrong code
				}
				if code != "" {
					mu.Lock()
					codes[id] = code
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()

	var events int64
	for _, id := range ids {
		f.checkHistory(id)
		events += int64(len(f.history(id)))
	}
	if want := stored.Load() + int64(len(ids)); events != want {
		t.Errorf("%d events stored; want %d (one per stored change: %d reported by commands + %d imports)", events, want, stored.Load(), len(ids))
	}
	if n := int64(len(f.events())); n != events {
		t.Errorf("observer saw %d events, store has %d", n, events)
	}
}
