package postgres_test

import (
	"testing"

	"github.com/hwvault/hwvault/storetest"
	"github.com/hwvault/hwvault/vault"
)

// TestConformance runs the vault.Store conformance suite, each subtest in
// a schema of its own.
func TestConformance(t *testing.T) {
	testPool(t) // skip or fail here once, rather than in every subtest
	storetest.Run(t, func(t *testing.T) vault.Store { return newStore(t) })
}

// TestLifecycle runs the model-based test of vault.Service over this
// store, each run in a schema of its own.
func TestLifecycle(t *testing.T) {
	testPool(t)
	storetest.Lifecycle(t, func(t *testing.T) vault.Store { return newStore(t) })
}
