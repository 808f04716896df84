package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// This file proves Lifecycle's teeth: each store below breaks the
// contract in one quiet way that the conformance suite's fixed scenarios
// would not necessarily meet, and the model-based run must catch it.

// flawedStore is store.Memory with one flaw in what Update and Get do.
type flawedStore struct {
	*store.Memory
	flaw string
}

func (s *flawedStore) Update(ctx context.Context, caller *vault.Vault, events []vault.Event) error {
	v := caller.Clone()
	switch s.flaw {
	case "ClearsPendingFlags":
		for i := range v.Accounts {
			v.Accounts[i].Pending = false
		}
	case "DropsRejectedCodeEvents":
		if len(events) == 1 && events[0].Action == vault.ActionCodeRejected {
			events = nil
		}
	case "ForgetsDescription":
		v.Description = ""
	case "TruncatesTimesToSeconds":
		v.UpdatedAt = v.UpdatedAt.Truncate(time.Second)
		if v.Activation != nil {
			v.Activation.ExpiresAt = v.Activation.ExpiresAt.Truncate(time.Second)
		}
	case "ReordersAccounts":
		if n := len(v.Accounts); n > 1 {
			v.Accounts[0], v.Accounts[n-1] = v.Accounts[n-1], v.Accounts[0]
		}
	case "KeepsOldCode":
		if old, err := s.Memory.Get(ctx, v.ID); err == nil && old.Activation != nil && v.Activation != nil {
			v.Activation.Hash, v.Activation.Salt = old.Activation.Hash, old.Activation.Salt
		}
	}
	err := s.Memory.Update(ctx, v, events)
	caller.Version = v.Version
	return err
}

func (s *flawedStore) Get(ctx context.Context, id string) (*vault.Vault, error) {
	v, err := s.Memory.Get(ctx, id)
	if err == nil && s.flaw == "GetDropsLabels" {
		v.Labels = nil
	}
	return v, err
}

func TestLifecycleCatchesFlawedStores(t *testing.T) {
	// Each flaw, and a word the report must contain: the model must not
	// only fail the store but say what broke.
	for _, c := range []struct{ flaw, says string }{
		{"ClearsPendingFlags", "pending=false"},
		{"DropsRejectedCodeEvents", "events for version"},
		{"ForgetsDescription", "with Description"},
		{"TruncatesTimesToSeconds", "with UpdatedAt"},
		{"ReordersAccounts", "with Accounts"},
		{"KeepsOldCode", "invalid activation code"},
		{"GetDropsLabels", "with Labels"},
	} {
		t.Run(c.flaw, func(t *testing.T) {
			st := &flawedStore{Memory: store.NewMemory(), flaw: c.flaw}
			err := newEngine(st, nil, 1, nil).run(t.Context(), 600)
			if err == nil {
				t.Fatalf("a store that %s passed 600 model steps", c.flaw)
			}
			if !strings.Contains(err.Error(), c.says) {
				t.Fatalf("the report on a store that %s does not say %q:\n%v", c.flaw, c.says, err)
			}
		})
	}
}
