package postgres_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store/postgres"
	"github.com/hwvault/hwvault/vault"
)

// TestMultiProcess is what several replicas of a host service do to one
// database: OS processes, each with its own pool and Service, run random
// lifecycle commands from many goroutines against the same few vaults.
// The test binary re-executes itself as the replicas: a child runs this
// test with childSchemaEnv naming the schema they share, prints how many
// of its commands were stored, and exits.
//
// Afterwards every vault's history must run through versions 1..n,
// replaying it through the lifecycle graph must reproduce the stored
// status, reason and description, and the events beyond the imports must
// number exactly the commands that the replicas were told were stored.
func TestMultiProcess(t *testing.T) {
	if schema := os.Getenv(childSchemaEnv); schema != "" {
		runReplica(t, schema)
		return
	}
	const (
		replicas = 3
		vaults   = 5
	)
	pool := testPool(t)
	ctx := t.Context()
	schema := freshSchema(t, pool)
	s := must[*postgres.Store](t)(postgres.New(ctx, pool, postgres.WithSchema(schema)))
	svc := vault.NewService(s)
	for i := range vaults {
		must[[]*vault.Vault](t)(svc.Import(ctx, vault.NewVault{ID: fmt.Sprintf("HK-%04d", i)}))
	}

	type child struct {
		cmd            *exec.Cmd
		stdout, stderr bytes.Buffer
	}
	children := make([]*child, replicas)
	for i := range children {
		c := &child{cmd: exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMultiProcess$", "-test.count=1")}
		// A race-enabled child otherwise sleeps a second before it exits.
		c.cmd.Env = append(os.Environ(), childSchemaEnv+"="+schema, "GORACE=atexit_sleep_ms=0")
		c.cmd.Stdout, c.cmd.Stderr = &c.stdout, &c.stderr
		if err := c.cmd.Start(); err != nil {
			t.Fatalf("starting replica %d: %v", i, err)
		}
		children[i] = c
	}
	stored := 0
	for i, c := range children {
		err := c.cmd.Wait()
		if err != nil {
			t.Errorf("replica %d failed: %v\nstdout:\n%s\nstderr:\n%s", i, err, c.stdout.String(), c.stderr.String())
			continue
		}
		n, report, err := parseReplicaReport(c.stdout.String())
		if err != nil {
			t.Errorf("replica %d: %v\nstdout:\n%s", i, err, c.stdout.String())
			continue
		}
		t.Logf("replica %d: %s", i, report)
		stored += n
	}
	if t.Failed() {
		return
	}

	events := 0
	for i := range vaults {
		id := fmt.Sprintf("HK-%04d", i)
		h := must[[]vault.Event](t)(s.History(ctx, id))
		v := must[*vault.Vault](t)(s.Get(ctx, id))
		if err := replay(v, h); err != nil {
			t.Errorf("vault %s: %v", id, err)
		}
		events += len(h)
	}
	if events-vaults != stored {
		t.Errorf("the replicas were told %d commands were stored; the histories hold %d events beyond the %d imports",
			stored, events-vaults, vaults)
	}
	if stored < 10 {
		t.Errorf("only %d commands were stored in all: the replicas did not exercise the store", stored)
	}
}

// childSchemaEnv names, in a replica process, the schema the replicas share.
const childSchemaEnv = "HWVAULT_POSTGRES_TEST_REPLICA_SCHEMA"

// replicaReport is the line a replica prints to report its results.
const replicaReport = "replica stored="

// parseReplicaReport returns the stored count a replica printed, and the
// whole line.
func parseReplicaReport(stdout string) (int, string, error) {
	sc := bufio.NewScanner(strings.NewReader(stdout))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), replicaReport); ok {
			field, _, _ := strings.Cut(rest, " ")
			n, err := strconv.Atoi(field)
			return n, sc.Text(), err
		}
	}
	return 0, "", errors.New("no report line")
}

// replay checks a vault's history against the lifecycle graph and the
// stored vault: versions 1..n, an import first, each event starting where
// the one before ended, each transition one the graph permits, other
// changes leaving the status alone, and the last event describing the
// stored vault.
func replay(v *vault.Vault, h []vault.Event) error {
	if len(h) == 0 || h[0].Action != vault.ActionImport || h[0].To != status.Ready {
		return fmt.Errorf("history must start with the import into Ready; got %+v", h[:min(1, len(h))])
	}
	cur := h[0].To
	for i, e := range h {
		if e.Version != uint64(i+1) || e.VaultID != v.ID {
			return fmt.Errorf("event %d is vault %q version %d; want %q version %d: a gap or a repeat", i, e.VaultID, e.Version, v.ID, i+1)
		}
		if i == 0 {
			continue
		}
		if e.From != cur {
			return fmt.Errorf("version %d starts from %v, but version %d ended in %v", e.Version, e.From, e.Version-1, cur)
		}
		if e.Action == vault.ActionTransition {
			to, err := status.Next(e.From, e.Trigger)
			if err != nil || to != e.To {
				return fmt.Errorf("version %d: %v -%v-> %v, but the graph says %v, %v", e.Version, e.From, e.Trigger, e.To, to, err)
			}
		} else if e.To != e.From || e.Trigger != 0 {
			return fmt.Errorf("version %d: %q changed the status %v -> %v (trigger %v)", e.Version, e.Action, e.From, e.To, e.Trigger)
		}
		cur = e.To
	}
	last := h[len(h)-1]
	if v.Version != uint64(len(h)) || v.Status != cur || v.Reason != last.Reason || v.Description != last.Description {
		return fmt.Errorf("stored vault is version %d, %v, %v, %q; the history replays to version %d, %v, %v, %q",
			v.Version, v.Status, v.Reason, v.Description, len(h), cur, last.Reason, last.Description)
	}
	return nil
}

// runReplica is the body of a replica process: its own pool and Service,
// goroutines running random commands on the shared vaults until a
// deadline, then the report line on stdout.
func runReplica(t *testing.T, schema string) {
	const (
		workers  = 6
		duration = 2 * time.Second
		maxCmds  = 1000 // per worker, in case the machine is fast
	)
	pool, err := connect(workers)
	if err != nil {
		t.Fatalf("replica connecting: %v", err)
	}
	defer pool.Close()
	// The context is never cancelled: a command cut off after the
	// database stored it would be a success the replica does not count.
	ctx := vault.WithActor(t.Context(), fmt.Sprintf("replica-%d", os.Getpid()))
	s := must[*postgres.Store](t)(postgres.New(ctx, pool, postgres.WithSchema(schema), postgres.WithoutMigration()))
	svc := vault.NewService(s)
	page := must[vault.Page](t)(svc.List(ctx, vault.Filter{}))
	var ids []string
	for _, v := range page.Vaults {
		ids = append(ids, v.ID)
	}

	r := &replica{svc: svc, codes: make(map[string]string), outcomes: make(map[string]int)}
	deadline := time.Now().Add(duration)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(os.Getpid()), uint64(w)))
			for range maxCmds {
				if time.Now().After(deadline) {
					return
				}
				if err := r.random(ctx, rng, ids[rng.IntN(len(ids))]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Printf("%s%d outcomes=%v\n", replicaReport, r.stored, r.outcomes)
}

// replica runs random commands through its Service and counts those the
// Service reports stored.
type replica struct {
	svc *vault.Service

	mu       sync.Mutex
	codes    map[string]string // per vault, the last activation code this replica was given
	stored   int               // commands that stored a change
	outcomes map[string]int    // by "command outcome", for the log
}

// random runs one random command on vault id and records its outcome. It
// returns an error only for an outcome the contract does not allow.
func (r *replica) random(ctx context.Context, rng *rand.Rand, id string) error {
	r.mu.Lock()
	known := r.codes[id]
	r.mu.Unlock()
	randomCode := fmt.Sprintf("%06d", rng.IntN(1_000_000))
	account := vault.Account{ID: []string{"mail", "vpn", "crm"}[rng.IntN(3)], Name: "Account", Login: "user"}

	var (
		name string
		v    *vault.Vault
		code string // a new activation code, from the commands that issue one
		err  error
	)
	switch n := rng.IntN(100); {
	case n < 10:
		name = "Assign"
		v, code, err = r.svc.Assign(ctx, id, []string{"alice", "bob", "carol"}[rng.IntN(3)])
	case n < 14:
		name = "Unassign"
		v, err = r.svc.Unassign(ctx, id)
	case n < 34:
		name = "Activate"
		if known == "" {
			known = randomCode
		}
		v, err = r.svc.Activate(ctx, id, known)
	case n < 38:
		name = "ActivateWrongCode"
		v, err = r.svc.Activate(ctx, id, randomCode)
	case n < 45:
		name = "Lock"
		v, err = r.svc.Lock(ctx, id, status.LockedByInvalidPin)
	case n < 53:
		name = "Reactivate"
		v, code, err = r.svc.Reactivate(ctx, id)
	case n < 60:
		name = "Suspend"
		v, code, err = r.svc.Suspend(ctx, id, "frozen by "+vault.ActorFrom(ctx))
	case n < 65:
		name = "ReissueCode"
		v, code, err = r.svc.ReissueCode(ctx, id)
	case n < 72:
		name = "Withdraw"
		v, err = r.svc.Withdraw(ctx, id, []status.Reason{status.Withdrawal, status.Broken}[rng.IntN(2)], "returned")
	case n < 80:
		name = "Wipe"
		v, err = r.svc.Wipe(ctx, id)
	case n < 88:
		name = "AddAccount"
		v, err = r.svc.AddAccount(ctx, id, account)
	case n < 93:
		name = "UpdateAccount"
		account.Login = "renamed"
		v, err = r.svc.UpdateAccount(ctx, id, account)
	case n < 98:
		name = "DeleteAccount"
		v, err = r.svc.DeleteAccount(ctx, id, account.ID)
	case rng.IntN(200) == 0: // rarely: nothing leaves Compromised
		name = "Compromise"
		v, err = r.svc.Compromise(ctx, id, status.Lost, "lost", id)
	default:
		name = "Get"
		_, err = r.svc.Get(ctx, id)
		if err != nil {
			return fmt.Errorf("Get %s: %w", id, err)
		}
		return nil
	}

	// A wrong code is a stored change too: the Service returns the
	// vault it stored along with ErrInvalidCode.
	stored := err == nil || errors.Is(err, vault.ErrInvalidCode) && v != nil
	var outcome string
	switch {
	case stored:
		outcome = "stored"
	case errors.Is(err, status.ErrNotPermitted), errors.Is(err, vault.ErrNotAllowed):
		outcome = "refused"
	case errors.Is(err, vault.ErrConflict):
		outcome = "conflict" // lost the race five times over
	case strings.HasSuffix(name, "Account") && (errors.Is(err, vault.ErrExists) || errors.Is(err, vault.ErrNotFound)):
		outcome = "refused"
	default:
		return fmt.Errorf("%s %s: an outcome the contract does not allow: vault %v, error %w", name, id, v, err)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[name+" "+outcome]++
	if stored {
		r.stored++
		switch {
		case code != "":
			r.codes[id] = code
		case v.Activation == nil:
			delete(r.codes, id)
		}
	}
	return nil
}
