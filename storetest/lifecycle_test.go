package storetest_test

import (
	"testing"

	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/storetest"
	"github.com/hwvault/hwvault/vault"
)

// TestLifecycleMemory holds the Service over store.Memory to the
// reference model.
func TestLifecycleMemory(t *testing.T) {
	storetest.Lifecycle(t, func(*testing.T) vault.Store { return store.NewMemory() })
}
