package main

import (
	"bytes"
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// small keeps the tests fast; the event rates are raised so that every
// kind of event happens.
var small = Fleet{Keys: 60, Days: 120, Seed: 7, Typo: 0.4, PINLock: 0.01, Vacation: 0.01, Broken: 0.003, Lost: 0.001, Slow: 0.4}

func simulate(t *testing.T, f Fleet, p Policy) Result {
	t.Helper()
	r, err := Simulate(context.Background(), f, p)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSimulateIsDeterministic(t *testing.T) {
	p := Policies[0]
	a, b := simulate(t, small, p), simulate(t, small, p)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("the same seed gave different results:\n%+v\n%+v", a, b)
	}
	other := small
	other.Seed++
	if reflect.DeepEqual(a, simulate(t, other, p)) {
		t.Error("a different seed gave the very same result; the seed is not used")
	}
}

func TestSimulateConservesKeys(t *testing.T) {
	for _, p := range Policies {
		r := simulate(t, small, p)
		n := 0
		for _, s := range status.Statuses() {
			n += r.ByStatus[s]
		}
		if n != small.Keys {
			t.Errorf("%s: %d keys at the end, want %d", p.Name, n, small.Keys)
		}
		if r.Events <= small.Keys {
			t.Errorf("%s: only %d events; the fleet did nothing", p.Name, r.Events)
		}
	}
}

// The experiments the example exists for: each policy knob moves the
// number it should.
func TestPoliciesMoveTheirNumbers(t *testing.T) {
	base := Policy{Name: "base", Codes: vault.CodePolicy{MaxAttempts: 3, TTL: 72 * time.Hour}, WipeBroken: true}
	moreTries := base
	moreTries.Codes.MaxAttempts = 6
	longCodes := base
	longCodes.Codes.TTL = 30 * 24 * time.Hour
	noReuse := base
	noReuse.WipeBroken = false

	b := simulate(t, small, base)
	if r := simulate(t, small, moreTries); r.CodeLocks >= b.CodeLocks {
		t.Errorf("6 attempts gave %d code lockouts, 3 gave %d; more attempts should lock less", r.CodeLocks, b.CodeLocks)
	}
	if r := simulate(t, small, longCodes); r.Reissued >= b.Reissued {
		t.Errorf("30-day codes needed %d reissues, 72h codes %d; longer codes should expire less", r.Reissued, b.Reissued)
	}
	r := simulate(t, small, noReuse)
	if r.LostToPool <= b.LostToPool || r.ByStatus[status.Deactivated] == 0 {
		t.Errorf("without wiping broken keys %d are lost to the pool (%d Deactivated), with it %d", r.LostToPool, r.ByStatus[status.Deactivated], b.LostToPool)
	}
}

func TestRunPrintsOneColumnPerPolicy(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), &out, small, Policies); err != nil {
		t.Fatal(err)
	}
	for _, p := range Policies {
		if !strings.Contains(out.String(), p.Name) {
			t.Errorf("output has no column for %q:\n%s", p.Name, out.String())
		}
	}
	if err := run(context.Background(), &out, Fleet{}, Policies); err == nil {
		t.Error("run accepted an empty fleet")
	}
}
