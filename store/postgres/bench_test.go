package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store/postgres"
	"github.com/hwvault/hwvault/vault"
)

// BenchmarkCommand measures lifecycle commands per second at 1, 8 and 32
// concurrent workers, each worker on a vault of its own, for the Service
// and for floors that do less:
//
//   - floor-tx: raw pgx doing the minimum the contract needs of a command,
//     the way it states it: one transaction with the compare-and-swap
//     UPDATE of the status and one event INSERT. With pgx that is four
//     round trips: BEGIN, UPDATE, INSERT, COMMIT.
//   - floor-1stmt: the same write as one statement, one round trip: the
//     fastest a correct command can be written.
//   - store: what the Service asks of the store per command, without the
//     Service: Get, then Update of the whole vault with one event.
//   - service: vault.Service commands, Suspend (which issues a new
//     activation code) and Activate with that code, alternately; one
//     stored change each.
//
// The four run interleaved, in slices of a few milliseconds: each round
// runs every one of them in turn for one slice, at the same concurrency,
// so that whatever else the machine does (a checkpoint, other processes)
// weighs on all of them alike, and their ratios come from one run. b.N
// counts the Service's commands; the others run for as long as it does.
// Each reports ops/s, and store and service also their throughput in
// percent of each floor's. ns/op is the Service's.
//
//	go test -run '^$' -bench Command -benchtime 4s
func BenchmarkCommand(b *testing.B) {
	for _, workers := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchCommand(b, workers) })
	}
}

// slice is how long each variant runs before the next one's turn.
const slice = 20 * time.Millisecond

func benchCommand(b *testing.B, workers int) {
	s := newStore(b)
	pool := testPool(b)
	service := newServiceVariant(b, s, workers)
	variants := []*variant{
		newFloorVariant(b, s, pool, workers, "floor-tx", floorTx),
		newFloorVariant(b, s, pool, workers, "floor-1stmt", floorOneStatement),
		newStoreVariant(b, s, workers),
		service,
	}
	b.ResetTimer()
	for r := 0; service.ops() < b.N && !b.Failed(); r++ {
		for k := range variants { // a different one first in each round
			variants[(k+r)%len(variants)].runFor(b, workers, slice)
		}
	}
	b.StopTimer()

	rate := make(map[string]float64)
	for _, v := range variants {
		rate[v.name] = float64(v.ops()) / v.elapsed.Seconds()
		b.ReportMetric(rate[v.name], v.name+"-ops/s")
	}
	for _, name := range []string{"store", "service"} {
		for _, floor := range []string{"floor-tx", "floor-1stmt"} {
			b.ReportMetric(100*rate[name]/rate[floor], name+"-%"+floor)
		}
	}
	b.ReportMetric(float64(service.elapsed.Nanoseconds())/float64(max(1, service.ops())), "ns/op")
}

// variant is one way of running commands, each worker on its own vault.
type variant struct {
	name    string
	op      func(w, i int) error // worker w's i-th command
	done    []int                // commands each worker has run so far
	elapsed time.Duration        // time spent running them
}

// ops returns the number of commands run so far.
func (v *variant) ops() int {
	n := 0
	for _, d := range v.done {
		n += d
	}
	return n
}

// runFor runs commands on workers goroutines for about d: each starts
// commands until d has passed.
func (v *variant) runFor(b *testing.B, workers int, d time.Duration) {
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if err := v.op(w, v.done[w]); err != nil {
					b.Error(err)
					return
				}
				v.done[w]++
			}
		})
	}
	wg.Wait()
	v.elapsed += time.Since(start)
}

// activeVaults imports one vault per worker, named after the variant, and
// makes each Active at version 3 (Import, Assign, Activate).
func activeVaults(b *testing.B, svc *vault.Service, name string, workers int) []string {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, workers)
	for w := range ids {
		ids[w] = fmt.Sprintf("%s-%04d", name, w)
		if _, err := svc.Import(ctx, vault.NewVault{ID: ids[w]}); err != nil {
			b.Fatal(err)
		}
		_, code, err := svc.Assign(ctx, ids[w], "alice")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.Activate(ctx, ids[w], code); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// toggle returns the statuses of a worker's i-th command: Active ->
// Suspended, then back, and so on.
func toggle(i int) (from, to status.Status) {
	if i%2 == 0 {
		return status.Active, status.Suspended
	}
	return status.Suspended, status.Active
}

// trigger returns the trigger of the toggle into to.
func trigger(to status.Status) status.Trigger {
	if to == status.Suspended {
		return status.Suspend
	}
	return status.Activate
}

// floorWrite writes one floor command: vault id, at version, moves from
// one status to another, and its event is appended.
type floorWrite func(ctx context.Context, pool *pgxpool.Pool, schema, id string, version int64, from, to status.Status) error

func newFloorVariant(b *testing.B, s *postgres.Store, pool *pgxpool.Pool, workers int, name string, write floorWrite) *variant {
	ids := activeVaults(b, vault.NewService(s), name, workers)
	schema := pgx.Identifier{s.Schema()}.Sanitize()
	ctx := context.Background()
	return &variant{name: name, done: make([]int, workers), op: func(w, i int) error {
		from, to := toggle(i)
		return write(ctx, pool, schema, ids[w], int64(3+i), from, to)
	}}
}

// floorTx writes a command as the contract states it: one transaction
// with the compare-and-swap UPDATE and the event INSERT.
func floorTx(ctx context.Context, pool *pgxpool.Pool, schema, id string, version int64, from, to status.Status) error {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	tag, err := tx.Exec(ctx, `UPDATE `+schema+`.vaults SET status = $3, version = version + 1 WHERE id = $1 AND version = $2`,
		id, version, int16(to))
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("floor-tx: %s is not at version %d", id, version)
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+schema+`.events
		(vault_id, version, action, trigger, from_status, to_status, reason, description, account, actor, time)
		VALUES ($1, $2, 'transition', $3, $4, $5, 0, '', '', '', $6)`,
		id, version+1, int16(trigger(to)), int16(from), int16(to), time.Now())
	if err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// floorOneStatement writes the same as floorTx in one statement.
func floorOneStatement(ctx context.Context, pool *pgxpool.Pool, schema, id string, version int64, from, to status.Status) error {
	tag, err := pool.Exec(ctx, `WITH changed AS (
			UPDATE `+schema+`.vaults SET status = $5, version = version + 1 WHERE id = $1 AND version = $2 RETURNING version
		)
		INSERT INTO `+schema+`.events
			(vault_id, version, action, trigger, from_status, to_status, reason, description, account, actor, time)
		SELECT $1, version, 'transition', $3, $4, $5, 0, '', '', '', $6 FROM changed`,
		id, version, int16(trigger(to)), int16(from), int16(to), time.Now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("floor-1stmt: %s is not at version %d", id, version)
	}
	return nil
}

// newStoreVariant runs what the Service asks of the store per command,
// Get and Update with one event, without the Service.
func newStoreVariant(b *testing.B, s *postgres.Store, workers int) *variant {
	ids := activeVaults(b, vault.NewService(s), "store", workers)
	ctx := context.Background()
	return &variant{name: "store", done: make([]int, workers), op: func(w, i int) error {
		v, err := s.Get(ctx, ids[w])
		if err != nil {
			return err
		}
		from, to := toggle(i)
		v.Status, v.UpdatedAt = to, time.Now()
		e := vault.Event{VaultID: v.ID, Version: v.Version + 1, Action: vault.ActionTransition,
			Trigger: trigger(to), From: from, To: to, Time: v.UpdatedAt}
		return s.Update(ctx, v, []vault.Event{e})
	}}
}

// newServiceVariant runs Suspend and Activate alternately through the
// Service.
func newServiceVariant(b *testing.B, s *postgres.Store, workers int) *variant {
	svc := vault.NewService(s)
	ids := activeVaults(b, svc, "service", workers)
	ctx := context.Background()
	codes := make([]string, workers) // each worker's own
	return &variant{name: "service", done: make([]int, workers), op: func(w, i int) error {
		var err error
		if i%2 == 0 {
			_, codes[w], err = svc.Suspend(ctx, ids[w], "")
		} else {
			_, err = svc.Activate(ctx, ids[w], codes[w])
		}
		return err
	}}
}
