package vault_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// Benchmarks of the Service on store.Memory beside their floors: the
// simplest code that does the same work. Compare ratios, not times:
//
//	go test ./vault -run '^$' -bench . -benchmem

// floorVault is the least a lifecycle record needs.
type floorVault struct {
	status  status.Status
	salt    [16]byte
	hash    [32]byte
	version uint64
	events  []vault.Event
}

// floorStore is a mutex-guarded map doing, per command, the status check,
// a code from crypto/rand, a salted SHA-256, a constant-time compare, the
// version bump and the event append.
type floorStore struct {
	mu sync.Mutex
	m  map[string]*floorVault
}

func (fs *floorStore) suspend(id string) (string, error) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	v := fs.m[id]
	if v.status != status.Active {
		return "", fmt.Errorf("not active")
	}
	var buf [24]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", err
	}
	code := fmt.Sprintf("%06d", binary.LittleEndian.Uint64(buf[:8])%1_000_000)
	copy(v.salt[:], buf[8:])
	v.hash = sha256.Sum256(append(v.salt[:], code...))
	v.status = status.Suspended
	v.version++
	v.events = append(v.events, vault.Event{VaultID: id, Version: v.version, Trigger: status.Suspend, Time: time.Now()})
	return code, nil
}

func (fs *floorStore) activate(id, code string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	v := fs.m[id]
	if v.status != status.Suspended {
		return fmt.Errorf("not suspended")
	}
	h := sha256.Sum256(append(v.salt[:], code...))
	if subtle.ConstantTimeCompare(h[:], v.hash[:]) != 1 {
		return fmt.Errorf("wrong code")
	}
	v.status = status.Active
	v.version++
	v.events = append(v.events, vault.Event{VaultID: id, Version: v.version, Trigger: status.Activate, Time: time.Now()})
	return nil
}

// fleet is how many Active keys the Suspend+Activate benchmarks cycle
// through, so that neither side measures one ever-growing history.
const fleet = 1000

func fleetIDs() []string {
	ids := make([]string, fleet)
	for i := range ids {
		ids[i] = fmt.Sprintf("HK-%04d", i)
	}
	return ids
}

func BenchmarkFloorSuspendActivate(b *testing.B) {
	ids := fleetIDs()
	fs := &floorStore{m: map[string]*floorVault{}}
	for _, id := range ids {
		fs.m[id] = &floorVault{status: status.Active, version: 3}
	}
	for i := 0; b.Loop(); i++ {
		id := ids[i%fleet]
		code, err := fs.suspend(id)
		if err != nil {
			b.Fatal(err)
		}
		if err := fs.activate(id, code); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSuspendActivate(b *testing.B) {
	ids := fleetIDs()
	svc := vault.NewService(store.NewMemory())
	ctx := context.Background()
	for _, id := range ids {
		svc.Import(ctx, vault.NewVault{ID: id})
		_, code, _ := svc.Assign(ctx, id, "alice@example.com")
		if _, err := svc.Activate(ctx, id, code); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; b.Loop(); i++ {
		id := ids[i%fleet]
		_, code, err := svc.Suspend(ctx, id, "")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Activate(ctx, id, code); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStoreSuspendActivate is not a floor but a breakdown: the same
// two changes made directly on store.Memory, without the Service — the
// store's share of BenchmarkSuspendActivate (two deep copies and an
// index update per change, which the Store contract requires).
func BenchmarkStoreSuspendActivate(b *testing.B) {
	ids := fleetIDs()
	st := store.NewMemory()
	ctx := context.Background()
	t0 := time.Now()
	for _, id := range ids {
		v := &vault.Vault{ID: id, Status: status.Active, Owner: "alice@example.com", CreatedAt: t0, UpdatedAt: t0}
		if err := st.Create(ctx, []*vault.Vault{v}, []vault.Event{{VaultID: id, Version: 1}}); err != nil {
			b.Fatal(err)
		}
	}
	act := &vault.Activation{Hash: make([]byte, 32), Salt: make([]byte, 16), IssuedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	change := func(id string, to status.Status, a *vault.Activation) {
		v, err := st.Get(ctx, id)
		if err != nil {
			b.Fatal(err)
		}
		from := v.Status
		v.Status, v.Activation, v.UpdatedAt = to, a, time.Now()
		ev := vault.Event{VaultID: id, Version: v.Version + 1, From: from, To: to, Time: v.UpdatedAt}
		if err := st.Update(ctx, v, []vault.Event{ev}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; b.Loop(); i++ {
		id := ids[i%fleet]
		change(id, status.Suspended, act)
		change(id, status.Active, nil)
	}
}

// BenchmarkAssignUnassign issues a key and cancels the issue: Assign
// draws and hashes a code; Unassign is a plain transition.
func BenchmarkAssignUnassign(b *testing.B) {
	svc := vault.NewService(store.NewMemory())
	ctx := context.Background()
	svc.Import(ctx, vault.NewVault{ID: "HK-1"})
	for b.Loop() {
		if _, _, err := svc.Assign(ctx, "HK-1", "alice@example.com"); err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Unassign(ctx, "HK-1"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList compares a page of 100 through the Service with the same
// call on the store: the floor is the store itself.
func BenchmarkList(b *testing.B) {
	st := store.NewMemory()
	svc := vault.NewService(st)
	ctx := context.Background()
	batch := make([]vault.NewVault, 10_000)
	for i := range batch {
		batch[i] = vault.NewVault{ID: fmt.Sprintf("HK-%05d", i)}
	}
	if _, err := svc.Import(ctx, batch...); err != nil {
		b.Fatal(err)
	}
	f := vault.Filter{Status: status.Ready, After: "HK-05000", Limit: 100}
	b.Run("floor=Store", func(b *testing.B) {
		for b.Loop() {
			if _, err := st.List(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Service", func(b *testing.B) {
		for b.Loop() {
			if _, err := svc.List(ctx, f); err != nil {
				b.Fatal(err)
			}
		}
	})
}
