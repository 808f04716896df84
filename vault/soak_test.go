package vault_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store"
	"github.com/hwvault/hwvault/vault"
)

// soakEnv sets how long TestSoak runs, as a Go duration ("2m").
const soakEnv = "HWVAULT_SOAK_DURATION"

// writeLog is a store.Memory that keeps a copy of every activation code
// hash and salt it is asked to store, so that the soak can prove that
// no version of any vault ever held a code in clear.
type writeLog struct {
	*store.Memory
	mu      sync.Mutex
	secrets [][]byte // every Activation.Hash and Activation.Salt written
}

func (w *writeLog) Update(ctx context.Context, v *vault.Vault, events []vault.Event) error {
	if a := v.Activation; a != nil {
		w.mu.Lock()
		w.secrets = append(w.secrets, append([]byte(nil), a.Hash...), append([]byte(nil), a.Salt...))
		w.mu.Unlock()
		if len(a.Hash) != sha256.Size || len(a.Salt) == 0 {
			return fmt.Errorf("soak: vault %q written with a %d-byte hash and a %d-byte salt", v.ID, len(a.Hash), len(a.Salt))
		}
	}
	return w.Memory.Update(ctx, v, events)
}

// soakTally is what the workers report.
type soakTally struct {
	mu      sync.Mutex
	stored  int             // commands that reported a stored change
	codes   map[string]bool // every activation code a command returned
	last    map[string]string
	errors  map[string]int // refusals by kind, for the log
	unknown []error        // errors no command may return here
}

func (s *soakTally) issued(id, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.codes[code] = true
	s.last[id] = code
}

func (s *soakTally) code(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last[id]
}

// expectedErrors are the refusals that concurrent random commands with
// valid arguments may meet.
var expectedErrors = []error{
	vault.ErrInvalidCode, vault.ErrCodeExpired, status.ErrNotPermitted, vault.ErrNotAllowed,
	vault.ErrExists, vault.ErrNotFound, vault.ErrConflict, vault.ErrRejected,
}

// TestSoak runs many goroutines issuing random commands on a few vaults,
// through two Services sharing one store (two replicas of a host), while
// the clock runs and a guard's veto comes and goes. It runs for 300ms
// (100ms with -short; set HWVAULT_SOAK_DURATION for longer) and is meant
// for -race. Afterwards, for every vault:
//
//   - versions are contiguous, 1..n, with exactly one event per version;
//   - every transition in the history is an edge status.Next accepts,
//     every other change stays in its status, each event starts where the
//     previous one ended, and the last ends in the stored status;
//   - nothing happened to a vault after it was Compromised;
//   - no activation code was ever stored in clear: every hash written is
//     a SHA-256 and no hash, salt or event field contains a code that a
//     command returned;
//   - the number of events equals the imports plus the stored changes the
//     commands reported (successes and counted wrong codes), and the
//     observers saw each of them once.
func TestSoak(t *testing.T) {
	d := 300 * time.Millisecond
	if testing.Short() {
		d = 100 * time.Millisecond
	}
	if s := os.Getenv(soakEnv); s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			t.Fatalf("%s=%q: %v", soakEnv, s, err)
		}
	}

	st := &writeLog{Memory: store.NewMemory()}
	clk := &clock{now: t0}
	var vetoWipes atomic.Bool
	var observed atomic.Int64
	replica := func() *vault.Service {
		return vault.NewService(st,
			vault.WithClock(clk.Now),
			vault.WithCodePolicy(vault.CodePolicy{TTL: time.Hour, MaxAttempts: 3}),
			vault.WithGuard(func(_ context.Context, _ *vault.Vault, tr status.Trigger) error {
				if tr == status.Wipe && vetoWipes.Load() {
					return errPolicy
				}
				return nil
			}),
			vault.WithObserver(func(vault.Event) { observed.Add(1) }),
		)
	}
	replicas := []*vault.Service{replica(), replica()}

	ids := []string{"HK-1", "HK-2", "HK-3", "HK-4"}
	ctx := vault.WithActor(t.Context(), "soak")
	for _, id := range ids {
		if _, err := replicas[0].Import(ctx, vault.NewVault{ID: id}); err != nil {
			t.Fatal(err)
		}
	}

	tally := &soakTally{codes: map[string]bool{}, last: map[string]string{}, errors: map[string]int{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// The clock runs an hour-long code TTL out every 12 ticks, and the
	// guard vetoes wipes one tick in five.
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(500 * time.Microsecond):
			}
			clk.Advance(5 * time.Minute)
			vetoWipes.Store(i%5 == 0)
		}
	})
	const workers = 8
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			svc := replicas[w%len(replicas)]
			ctx := vault.WithActor(context.Background(), fmt.Sprint("worker-", w))
			for {
				select {
				case <-stop:
					return
				default:
				}
				soakCommand(ctx, svc, rng, ids[rng.IntN(len(ids))], tally)
			}
		})
	}
	time.Sleep(d)
	close(stop)
	wg.Wait()

	for _, err := range tally.unknown {
		t.Errorf("unexpected error: %v", err)
	}
	var events int
	for _, id := range ids {
		h := checkSoakHistory(t, replicas[0], id)
		events += len(h)
		checkNoCodeIn(t, tally.codes, h)
	}
	for _, secret := range st.secrets {
		if code, ok := findCode(secret, tally.codes); ok {
			t.Fatalf("the store was given activation code %s in clear", code)
		}
	}
	if want := len(ids) + tally.stored; events != want {
		t.Errorf("%d events stored; want %d: %d imports + %d stored changes the commands reported", events, want, len(ids), tally.stored)
	}
	if n := observed.Load(); n != int64(events) {
		t.Errorf("observers saw %d events; the store holds %d", n, events)
	}
	t.Logf("%v: %d stored changes, %d codes issued, %d hashes and salts written, refusals %v",
		d, tally.stored, len(tally.codes), len(st.secrets), tally.errors)
}

// compromisable is the one soak vault that may be compromised, so that
// the others stay alive for the whole run.
const compromisable = "HK-4"

// soakChoices lists, per status, the soakCommand cases it permits.
var soakChoices = map[status.Status][]int{
	status.Ready:       {0},
	status.Reserved:    {2, 2, 4, 7, 8, 10, 11},
	status.Active:      {4, 6, 8, 11, 12, 13, 14},
	status.Locked:      {5, 8},
	status.Suspended:   {2, 2, 4, 7, 8},
	status.Deactivated: {9},
	status.Compromised: {15},
}

// soakCommand runs one random command with valid arguments and records
// its outcome.
func soakCommand(ctx context.Context, svc *vault.Service, rng *rand.Rand, id string, tally *soakTally) {
	var (
		v     *vault.Vault
		code  string
		err   error
		write = true
		tried string // the code an Activate tried
	)
	pick := rng.IntN(16)
	if rng.IntN(10) < 7 {
		// Mostly a command the vault's status permits, as a user looking
		// at it would choose; by the time it runs another worker may
		// have moved the vault on.
		if cur, err := svc.Get(ctx, id); err == nil {
			options := soakChoices[cur.Status]
			pick = options[rng.IntN(len(options))]
		}
	}
	switch pick {
	case 0, 1:
		v, code, err = svc.Assign(ctx, id, "alice@example.com")
	case 2, 3:
		tried = tally.code(id)
		if tried == "" || rng.IntN(3) == 0 {
			tried = fmt.Sprintf("%06d", rng.IntN(1_000_000))
		}
		v, err = svc.Activate(ctx, id, tried)
	case 4:
		v, err = svc.Lock(ctx, id, status.LockedByInvalidPin)
	case 5:
		v, code, err = svc.Reactivate(ctx, id)
	case 6:
		v, code, err = svc.Suspend(ctx, id, "vacation")
	case 7:
		v, code, err = svc.ReissueCode(ctx, id)
	case 8:
		v, err = svc.Withdraw(ctx, id, status.Broken, "")
	case 9:
		v, err = svc.Wipe(ctx, id)
	case 10:
		v, err = svc.Unassign(ctx, id)
	case 11:
		v, err = svc.AddAccount(ctx, id, vault.Account{ID: fmt.Sprint("a", rng.IntN(3)), Name: "Mail"})
	case 12:
		v, err = svc.UpdateAccount(ctx, id, vault.Account{ID: fmt.Sprint("a", rng.IntN(3)), Name: "Mail", Login: "x"})
	case 13:
		v, err = svc.DeleteAccount(ctx, id, fmt.Sprint("a", rng.IntN(3)))
	case 14:
		if id == compromisable && rng.IntN(20) == 0 { // it ends the vault's life: one vault only
			v, err = svc.Compromise(ctx, id, status.Stolen, "", id)
		} else {
			write = false
			_, err = svc.History(ctx, id)
		}
	default:
		write = false
		_, err = svc.Get(ctx, id)
	}

	tally.mu.Lock()
	defer tally.mu.Unlock()
	if write && v != nil {
		tally.stored++ // a success, or a counted wrong code
	}
	if code != "" {
		tally.codes[code] = true
		tally.last[id] = code
	}
	if err == nil {
		return
	}
	if tried != "" && strings.Contains(err.Error(), tried) {
		tally.unknown = append(tally.unknown, fmt.Errorf("the error repeats the code tried: %w", err))
	}
	for _, e := range expectedErrors {
		if errors.Is(err, e) {
			tally.errors[e.Error()]++
			return
		}
	}
	tally.unknown = append(tally.unknown, err)
}

// checkSoakHistory checks one vault's history against its state and the
// lifecycle graph, and returns it.
func checkSoakHistory(t *testing.T, svc *vault.Service, id string) []vault.Event {
	t.Helper()
	ctx := context.Background()
	v, err := svc.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	h, err := svc.History(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(h)) != v.Version {
		t.Errorf("%s: %d events for version %d; want one event per version", id, len(h), v.Version)
	}
	var at status.Status
	for i, ev := range h {
		switch {
		case ev.Version != uint64(i+1) || ev.VaultID != id:
			t.Errorf("%s: event %d is %s v%d; want versions 1..n without gaps", id, i, ev.VaultID, ev.Version)
		case i == 0 && (ev.Action != vault.ActionImport || ev.To != status.Ready):
			t.Errorf("%s: v1 is %s to %v; want the import, Ready", id, ev.Action, ev.To)
		case i > 0 && ev.From != at:
			t.Errorf("%s: v%d starts from %v, but v%d ended in %v", id, ev.Version, ev.From, ev.Version-1, at)
		case at == status.Compromised:
			t.Errorf("%s: v%d (%s) changed the vault after it was Compromised", id, ev.Version, ev.Action)
		case ev.Trigger != 0:
			if to, err := status.Next(ev.From, ev.Trigger); err != nil || to != ev.To {
				t.Errorf("%s: v%d records %v -%v-> %v, which the graph does not have", id, ev.Version, ev.From, ev.Trigger, ev.To)
			}
		case ev.From != ev.To:
			t.Errorf("%s: v%d moves %v to %v without a trigger", id, ev.Version, ev.From, ev.To)
		}
		at = ev.To
	}
	if at != v.Status {
		t.Errorf("%s: history replays to %v, the vault is %v", id, at, v.Status)
	}
	if a := v.Activation; a != nil && len(a.Hash) != sha256.Size {
		t.Errorf("%s: stored code hash has %d bytes; want a SHA-256", id, len(a.Hash))
	}
	return h
}

// checkNoCodeIn fails when an event's text holds an issued code.
func checkNoCodeIn(t *testing.T, codes map[string]bool, h []vault.Event) {
	t.Helper()
	for _, ev := range h {
		for _, s := range []string{ev.Description, ev.Actor, ev.Account, string(ev.Action)} {
			if code, ok := findCode([]byte(s), codes); ok {
				t.Fatalf("%s v%d holds activation code %s", ev.VaultID, ev.Version, code)
			}
		}
	}
}

// findCode returns a code of the set that occurs in b. Codes have the
// default policy's 6 digits.
func findCode(b []byte, codes map[string]bool) (string, bool) {
	const digits = 6
	for i := 0; i+digits <= len(b); i++ {
		if w := string(b[i : i+digits]); codes[w] {
			return w, true
		}
	}
	return "", false
}
