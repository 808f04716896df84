package storetest_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/storetest"
	"github.com/hwvault/hwvault/vault"
)

// countingStore is a host's own Store: here, store.Memory with a counter
// of writes, standing in for a database adapter.
type countingStore struct {
	*store.Memory
	writes atomic.Int64
}

func (c *countingStore) Create(ctx context.Context, vs []*vault.Vault, evs []vault.Event) error {
	c.writes.Add(1)
	return c.Memory.Create(ctx, vs, evs)
}

func (c *countingStore) Update(ctx context.Context, v *vault.Vault, evs []vault.Event) error {
	c.writes.Add(1)
	return c.Memory.Update(ctx, v, evs)
}

var _ vault.Store = (*countingStore)(nil)

// TestCountingStore is how a host proves its store keeps the contract:
// one call, a fresh store per subtest.
func TestCountingStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) vault.Store {
		return &countingStore{Memory: store.NewMemory()}
	})
}

// A host's own store, checked by storetest.Run in TestCountingStore
// above, behind the lifecycle Service.
func Example_customStore() {
	st := &countingStore{Memory: store.NewMemory()}
	svc := vault.NewService(st)
	ctx := context.Background()

	svc.Import(ctx, vault.NewVault{ID: "HK-1"}, vault.NewVault{ID: "HK-2"})
	svc.Assign(ctx, "HK-1", "alice@example.com")
	svc.Wipe(ctx, "HK-2") // refused: Ready keys need no wipe, and nothing is written

	fmt.Println("writes:", st.writes.Load())
	// Output: writes: 2
}
