package vault_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// DESIGN.md's order of checks puts guards last, after existence: an
// Import that names a vault which exists already is ErrExists, whatever
// the guards would say, and the guards are not asked about a vault that
// will not be created. (The model-based runs in storetest hold the
// Service to the same order.)
func TestImportChecksExistenceBeforeGuards(t *testing.T) {
	veto := false
	var asked []string
	f := newFixture(t, vault.WithGuard(func(_ context.Context, v *vault.Vault, _ status.Trigger) error {
		asked = append(asked, v.ID)
		if veto {
			return errPolicy
		}
		return nil
	}))
	f.importIDs("HK-1")
	veto, asked = true, nil
	before := f.snapshot()

	_, err := f.svc.Import(f.ctx, vault.NewVault{ID: "HK-2"}, vault.NewVault{ID: "HK-1"})
	if !errors.Is(err, vault.ErrExists) || errors.Is(err, vault.ErrRejected) {
		t.Errorf("Import of an existing ID while the guard vetoes = %v; want ErrExists, checked before the guards", err)
	}
	if len(asked) != 0 {
		t.Errorf("the guard was asked about %q for an Import that existence refuses", asked)
	}
	f.unchangedSince(before, "a refused Import")
}
