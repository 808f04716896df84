package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// Policy is one way of running the fleet, expressed with the SDK's own
// options: a code policy, and guards that encode the host's rules.
type Policy struct {
	Name       string
	Codes      vault.CodePolicy
	WipeBroken bool // may broken keys be wiped back into the pool?
}

// Fleet describes the world the policies are tried in. Probabilities are
// per key per day.
type Fleet struct {
	Keys     int
	Days     int
	Seed     uint64
	Typo     float64 // a user mistypes an activation code
	PINLock  float64 // an Active key locks itself after wrong PINs
	Vacation float64 // an Active key's holder leaves on vacation
	Broken   float64 // an Active key breaks
	Lost     float64 // an Active key is lost or stolen
	Slow     float64 // a user with a pending code does not get to it today
}

// DefaultFleet is a mid-sized company over one year.
var DefaultFleet = Fleet{
	Keys: 300, Days: 365, Seed: 1,
	Typo: 0.35, PINLock: 0.004, Vacation: 0.003, Broken: 0.0008, Lost: 0.0003, Slow: 0.4,
}

// Result is where the fleet ends up under one policy.
type Result struct {
	Policy     string
	ByStatus   map[status.Status]int // keys per status at the end
	CodeLocks  int                   // locks after too many wrong activation codes
	PINLocks   int                   // locks reported by devices
	Reissued   int                   // codes reissued after they expired
	LostToPool int                   // keys that can no longer be issued: Compromised, or broken and not wiped
	Events     int                   // stored changes, from the audit trail
}

// day draws are fixed per key and day, independent of the policy, so that
// every policy faces exactly the same stream of events.
type draws struct{ r *rand.Rand }

func (d draws) hit(p float64) bool { return d.r.Float64() < p }

func drawsFor(seed uint64, key, day int) draws {
	return draws{rand.New(rand.NewPCG(seed, uint64(key)<<32|uint64(day)))}
}

// keyState is what the simulated people know about a key.
type keyState struct {
	code       string // the code the user holds, if any
	backOnDay  int    // the holder's vacation ends
	adminOnDay int    // the admin gets to a locked key
}

// Simulate runs the fleet for its days under policy p.
func Simulate(ctx context.Context, f Fleet, p Policy) (Result, error) {
	now := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	res := Result{Policy: p.Name, ByStatus: map[status.Status]int{}}
	guard := func(_ context.Context, v *vault.Vault, t status.Trigger) error {
		if t == status.Wipe && v.Reason == status.Broken && !p.WipeBroken {
			return errors.New("broken keys go back to the vendor, not into the pool")
		}
		return nil
	}
	svc := vault.NewService(store.NewMemory(),
		vault.WithClock(func() time.Time { return now }),
		vault.WithRandom(rand.NewChaCha8([32]byte{byte(f.Seed)})),
		vault.WithCodePolicy(p.Codes),
		vault.WithGuard(guard),
		vault.WithObserver(func(ev vault.Event) {
			res.Events++
			if ev.Trigger == status.Lock && ev.Reason == status.InvalidActivationCode {
				res.CodeLocks++
			}
			if ev.Trigger == status.Lock && ev.Reason == status.LockedByInvalidPin {
				res.PINLocks++
			}
		}),
	)

	ids := make([]string, f.Keys)
	batch := make([]vault.NewVault, f.Keys)
	for i := range ids {
		ids[i] = fmt.Sprintf("HK-%05d", i)
		batch[i] = vault.NewVault{ID: ids[i]}
	}
	if _, err := svc.Import(ctx, batch...); err != nil {
		return res, err
	}
	keys := make([]keyState, f.Keys)

	for day := range f.Days {
		for i, id := range ids {
			d := drawsFor(f.Seed, i, day)
			k := &keys[i]
			v, err := svc.Get(ctx, id)
			if err != nil {
				return res, err
			}
			if err := step(ctx, svc, f, d, now, day, v, k, &res); err != nil {
				return res, fmt.Errorf("day %d: %w", day, err)
			}
		}
		now = now.Add(24 * time.Hour)
	}

	for after := ""; ; {
		page, err := svc.List(ctx, vault.Filter{After: after, Limit: vault.MaxLimit})
		if err != nil {
			return res, err
		}
		for _, v := range page.Vaults {
			res.ByStatus[v.Status]++
			if v.Status == status.Compromised || v.Status == status.Deactivated && v.Reason == status.Broken {
				res.LostToPool++
			}
		}
		if after = page.Next; after == "" {
			return res, nil
		}
	}
}

// expected reports the errors a simulated command may legitimately meet.
func expected(err error) bool {
	return err == nil || errors.Is(err, vault.ErrInvalidCode) || errors.Is(err, vault.ErrRejected)
}

// step plays one key's day.
func step(ctx context.Context, svc *vault.Service, f Fleet, d draws, now time.Time, day int, v *vault.Vault, k *keyState, res *Result) error {
	id := v.ID
	var err error
	switch v.Status {
	case status.Ready:
		if d.hit(0.05) { // a new employee needs a key
			_, k.code, err = svc.Assign(ctx, id, fmt.Sprintf("user-%s-%d", id, day))
		}
	case status.Reserved, status.Suspended:
		if day < k.backOnDay || d.hit(f.Slow) {
			return nil // on vacation, or busy today
		}
		if !now.Before(v.Activation.ExpiresAt) {
			// The code ran out: the user calls the admin for a new one.
			_, k.code, err = svc.ReissueCode(ctx, id)
			res.Reissued++
			break
		}
		// The user types the code, with typos, until it works or locks.
		for range 6 {
			code := k.code
			if d.hit(f.Typo) {
				code = typo(code)
			}
			if v, err = svc.Activate(ctx, id, code); err == nil || v.Status == status.Locked {
				k.adminOnDay = day + 1
				break
			}
		}
	case status.Active:
		switch {
		case d.hit(f.Lost):
			reason := status.Lost
			if d.hit(0.3) {
				reason = status.Stolen
			}
			_, err = svc.Compromise(ctx, id, reason, "", id)
		case d.hit(f.Broken):
			_, err = svc.Withdraw(ctx, id, status.Broken, "")
		case d.hit(f.PINLock):
			_, err = svc.Lock(ctx, id, status.LockedByInvalidPin)
			k.adminOnDay = day + 1
		case d.hit(f.Vacation):
			_, k.code, err = svc.Suspend(ctx, id, "vacation")
			k.backOnDay = day + 7 + d.r.IntN(14)
		}
	case status.Locked:
		if day >= k.adminOnDay { // the admin runs "Activate device"
			_, k.code, err = svc.Reactivate(ctx, id)
		}
	case status.Deactivated:
		_, err = svc.Wipe(ctx, id)
	}
	if !expected(err) {
		return err
	}
	return nil
}

// typo changes one digit of code.
func typo(code string) string {
	b := []byte(code)
	b[len(b)-1] = '0' + (b[len(b)-1]-'0'+1)%10
	return string(b)
}
