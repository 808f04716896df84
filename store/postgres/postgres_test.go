package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store/postgres"
	"github.com/hwvault/hwvault/vault"
)

func TestNewRefusesBadArguments(t *testing.T) {
	pool := testPool(t)
	ctx := t.Context()
	if _, err := postgres.New(ctx, nil); !errors.Is(err, vault.ErrInvalidArgument) {
		t.Errorf("New with a nil pool = %v; want ErrInvalidArgument", err)
	}
	if _, err := postgres.New(ctx, pool, nil); !errors.Is(err, vault.ErrInvalidArgument) {
		t.Errorf("New with a nil option = %v; want ErrInvalidArgument", err)
	}
	for _, name := range []string{"", "1abc", "a-b", "a b", `a"b`, "pg_vaults", "PG_x", "ä", strings.Repeat("s", 64)} {
		if _, err := postgres.New(ctx, pool, postgres.WithSchema(name)); !errors.Is(err, vault.ErrInvalidArgument) {
			t.Errorf("New with schema name %q = %v; want ErrInvalidArgument", name, err)
		}
	}
}

func TestNewMigratesTheSchema(t *testing.T) {
	pool := testPool(t)
	ctx := t.Context()
	schema := freshSchema(t, pool)

	if _, err := postgres.New(ctx, pool, postgres.WithSchema(schema), postgres.WithoutMigration()); err == nil ||
		!strings.Contains(err.Error(), "Migrate") {
		t.Fatalf("New WithoutMigration on a schema that does not exist = %v; want an error that says to migrate", err)
	}
	s := must[*postgres.Store](t)(postgres.New(ctx, pool, postgres.WithSchema(schema)))
	if s.Schema() != schema {
		t.Errorf("Schema() = %q; want %q", s.Schema(), schema)
	}
	must[*postgres.Store](t)(postgres.New(ctx, pool, postgres.WithSchema(schema), postgres.WithoutMigration()))
	if err := s.Migrate(ctx); err != nil {
		t.Fatalf("Migrate of a current schema must do nothing and succeed; got %v", err)
	}
	checkMigrations(t, schema)

	// A later release migrated the schema further: this one still works
	// with it, and does not try to undo anything.
	if _, err := pool.Exec(ctx, "INSERT INTO "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+
		" (version, name) VALUES (1000, '1000_future.sql')"); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(ctx); err != nil {
		t.Errorf("Migrate of a schema newer than the package = %v; want nil", err)
	}
	if _, err := postgres.New(ctx, pool, postgres.WithSchema(schema), postgres.WithoutMigration()); err != nil {
		t.Errorf("New WithoutMigration on a schema newer than the package = %v; want nil", err)
	}
}

func TestMigrateConcurrently(t *testing.T) {
	pool := testPool(t)
	schema := freshSchema(t, pool)
	const replicas = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, 2*replicas)
	for range replicas {
		wg.Go(func() {
			<-start
			s, err := postgres.New(t.Context(), pool, postgres.WithSchema(schema)) // creates the schema, or finds it
			if err != nil {
				errs <- err
				return
			}
			errs <- s.Migrate(t.Context())
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("New and Migrate run by %d replicas at once on a new schema must all succeed; got %v", replicas, err)
		}
	}
	checkMigrations(t, schema)
}

// checkMigrations checks that the schema recorded each migration once.
func checkMigrations(t *testing.T, schema string) {
	t.Helper()
	rows, _ := testPool(t).Query(t.Context(),
		"SELECT version, name FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" ORDER BY version")
	type applied struct {
		Version int
		Name    string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[applied])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != (applied{1, "0001_init.sql"}) {
		t.Errorf("schema_migrations = %v; want each migration recorded once: [{1 0001_init.sql}]", got)
	}
}

func TestErrorsWrapSentinelsAndNameTheVault(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	v := &vault.Vault{ID: "KEY-1", Status: status.Ready}
	if err := s.Create(ctx, []*vault.Vault{v}, []vault.Event{{VaultID: "KEY-1", Version: 1, Action: vault.ActionImport}}); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err, sentinel error) {
		t.Helper()
		if !errors.Is(err, sentinel) || !strings.Contains(fmt.Sprint(err), `"KEY-1"`) {
			t.Errorf("%s = %v; want an error wrapping %v that names \"KEY-1\"", what, err, sentinel)
		}
	}

	err := s.Create(ctx, []*vault.Vault{{ID: "KEY-0", Status: status.Ready}, {ID: "KEY-1", Status: status.Ready}}, nil)
	check("Create of a stored ID", err, vault.ErrExists)

	stale := *v
	stale.Version = 7
	err = s.Update(ctx, &stale, nil)
	check("Update at a version ahead of the stored one", err, vault.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), "version 7 was given, version 1 is stored") {
		t.Errorf("a conflict must say which version was given and which is stored; got %v", err)
	}
	huge := *v
	huge.Version = math.MaxUint64
	check("Update at a version beyond bigint", s.Update(ctx, &huge, nil), vault.ErrConflict)

	again := *v
	err = s.Update(ctx, &again, []vault.Event{{VaultID: "KEY-1", Version: 1}})
	check("Update with an event numbered like a stored one", err, vault.ErrExists)
	if again.Version != 1 {
		t.Errorf("a refused Update changed the caller's version to %d", again.Version)
	}

	bad := *v
	bad.Description = "nul \x00 byte"
	check("Update with a NUL byte in the description", s.Update(ctx, &bad, nil), vault.ErrInvalidArgument)
	bad = *v
	bad.Labels = map[string]string{"model": "\xff"}
	check("Update with a label that is not UTF-8", s.Update(ctx, &bad, nil), vault.ErrInvalidArgument)

	if got := must[*vault.Vault](t)(s.Get(ctx, "KEY-1")); got.Version != 1 || got.Description != "" {
		t.Errorf("refused Updates changed the vault: %+v", got)
	}
	if h := must[[]vault.Event](t)(s.History(ctx, "KEY-1")); len(h) != 1 {
		t.Errorf("refused Updates changed the history: %+v", h)
	}

	for _, id := range []string{"bad id", "\xff", strings.Repeat("K", 65)} {
		if _, err := s.Get(ctx, id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("Get of malformed ID %q = %v; want ErrNotFound", id, err)
		}
		if _, err := s.History(ctx, id); !errors.Is(err, vault.ErrNotFound) {
			t.Errorf("History of malformed ID %q = %v; want ErrNotFound", id, err)
		}
	}
}

func TestContextDeadlineWhileWaiting(t *testing.T) {
	s := newStore(t)
	pool := testPool(t)
	ctx := t.Context()
	v := &vault.Vault{ID: "KEY-1", Status: status.Ready}
	noErr(t, s.Create(ctx, []*vault.Vault{v}, nil))

	// Another transaction holds the vault's row lock, so the Update
	// waits in the database until its deadline passes.
	tx := must[pgx.Tx](t)(pool.Begin(ctx))
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "SELECT 1 FROM "+pgx.Identifier{s.Schema(), "vaults"}.Sanitize()+" WHERE id = 'KEY-1' FOR UPDATE"); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	next := *v
	next.Description = "waits"
	err := s.Update(short, &next, []vault.Event{{VaultID: "KEY-1", Version: 2}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Update that waits past its deadline = %v; want an error matching context.DeadlineExceeded", err)
	}
	if next.Version != 1 {
		t.Errorf("an Update that timed out changed the caller's version to %d", next.Version)
	}
}

func TestTimesRoundTripInUTCToTheMicrosecond(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	zone := time.FixedZone("UTC+5:30", 5*3600+1800)
	at := time.Date(2026, 3, 4, 5, 6, 7, 123456789, zone)
	v := &vault.Vault{
		ID: "KEY-1", Status: status.Suspended, CreatedAt: at, UpdatedAt: at.Add(time.Hour),
		Activation: &vault.Activation{Hash: []byte{1}, Salt: []byte{2}, IssuedAt: at, ExpiresAt: at.Add(72 * time.Hour)},
	}
	ev := vault.Event{VaultID: "KEY-1", Version: 1, Action: vault.ActionImport, Time: at}
	noErr(t, s.Create(ctx, []*vault.Vault{v}, []vault.Event{ev}))

	want := at.Truncate(time.Microsecond).UTC()
	got := must[*vault.Vault](t)(s.Get(ctx, "KEY-1"))
	h := must[[]vault.Event](t)(s.History(ctx, "KEY-1"))
	for what, tm := range map[string]time.Time{
		"CreatedAt": got.CreatedAt, "UpdatedAt": got.UpdatedAt.Add(-time.Hour),
		"Activation.IssuedAt": got.Activation.IssuedAt, "Activation.ExpiresAt": got.Activation.ExpiresAt.Add(-72 * time.Hour),
		"Event.Time": h[0].Time,
	} {
		if !tm.Equal(want) || tm.Location() != time.UTC {
			t.Errorf("%s read back as %v; want %v: the same instant to the microsecond, in UTC", what, tm, want)
		}
	}
}

// TestListPlansUseTheIndexes checks with EXPLAIN that List by status and by
// owner walks an index in ID order from the cursor and stops at the page,
// rather than reading and sorting every matching vault, let alone the
// fleet. The fleet is shaped like a real one: most vaults Active, a few
// Locked, one owner with many vaults; both more than a page.
func TestListPlansUseTheIndexes(t *testing.T) {
	s := newStore(t)
	pool := testPool(t)
	ctx := t.Context()
	const n = 5000
	vaults := make([]*vault.Vault, n)
	for i := range vaults {
		vaults[i] = &vault.Vault{ID: fmt.Sprintf("KEY-%05d", i), Status: status.Active}
		if i%20 == 0 {
			vaults[i].Status = status.Locked
		}
		if i%5 == 0 {
			vaults[i].Owner = "alice@example.com"
		}
	}
	noErr(t, s.Create(ctx, vaults, nil))
	if _, err := pool.Exec(ctx, "ANALYZE "+pgx.Identifier{s.Schema(), "vaults"}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		byStatus, byOwner bool
		args              []any
		index             string
	}{
		{false, false, []any{"KEY-01000", 101}, "vaults_pkey"},
		{true, false, []any{"", 101, int16(status.Locked)}, "vaults_status_id"},
		{false, true, []any{"KEY-00100", 101, "alice@example.com"}, "vaults_owner_id"},
	} {
		rows, _ := pool.Query(ctx, "EXPLAIN "+s.ListQuery(c.byStatus, c.byOwner), c.args...)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if !strings.Contains(plan, "Index Scan using "+c.index) || strings.Contains(plan, "Sort") || strings.Contains(plan, "Seq Scan") {
			t.Errorf("List(by status %v, by owner %v) must walk %s in ID order, without sorting or scanning the table; plan:\n%s",
				c.byStatus, c.byOwner, c.index, plan)
		}
	}
}

// TestCreateOverlappingBatchesConcurrently races batches that name the
// same vaults in different orders: the store inserts in ID order, so they
// queue behind each other instead of deadlocking, and exactly one batch
// wins while every other fails with ErrExists and stores nothing.
func TestCreateOverlappingBatchesConcurrently(t *testing.T) {
	s := newStore(t)
	const batches, size = 8, 20
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		won  []int
		errs = make([]error, batches)
	)
	for b := range batches {
		wg.Go(func() {
			vaults := make([]*vault.Vault, size)
			events := make([]vault.Event, size)
			for i := range size {
				id := fmt.Sprintf("KEY-%02d", (i*7+b*3)%size) // a different order per batch
				vaults[i] = &vault.Vault{ID: id, Status: status.Ready, Description: fmt.Sprint("batch ", b)}
				events[i] = vault.Event{VaultID: id, Version: 1, Action: vault.ActionImport, Description: fmt.Sprint("batch ", b)}
			}
			errs[b] = s.Create(t.Context(), vaults, events)
			if errs[b] == nil {
				mu.Lock()
				won = append(won, b)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("batches %v succeeded; want exactly one (errors: %v)", won, errs)
	}
	for b, err := range errs {
		if b != won[0] && !errors.Is(err, vault.ErrExists) {
			t.Errorf("batch %d = %v; want ErrExists", b, err)
		}
	}
	page := must[vault.Page](t)(s.List(t.Context(), vault.Filter{}))
	for _, v := range page.Vaults {
		h := must[[]vault.Event](t)(s.History(t.Context(), v.ID))
		want := fmt.Sprint("batch ", won[0])
		if v.Description != want || len(h) != 1 || h[0].Description != want {
			t.Errorf("vault %s: %q with history %+v; want only batch %d's vault and event", v.ID, v.Description, h, won[0])
		}
	}
	if len(page.Vaults) != size {
		t.Errorf("%d vaults stored; want %d", len(page.Vaults), size)
	}
}

// TestRepeatableReadConflicts runs the store on connections whose default
// isolation is REPEATABLE READ, as some hosts configure their database:
// an Update that loses a race then fails with a serialization failure,
// which the store reports as ErrConflict, so the Service retries it.
func TestRepeatableReadConflicts(t *testing.T) {
	pool := testPool(t)
	d, _ := dsn()
	cfg, err := pgxpool.ParseConfig(d)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "repeatable read"
	rr, err := pgxpool.NewWithConfig(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	ctx := t.Context()
	schema := freshSchema(t, pool)
	s := must[*postgres.Store](t)(postgres.New(ctx, rr, postgres.WithSchema(schema)))
	v := &vault.Vault{ID: "KEY-1", Status: status.Ready}
	noErr(t, s.Create(ctx, []*vault.Vault{v}, nil))

	// Another writer changes the vault and holds its row lock; the
	// store's Update waits for it, then finds the row changed.
	tx := must[pgx.Tx](t)(pool.Begin(ctx))
	defer tx.Rollback(context.Background())
	if _, err := tx.Exec(ctx, "UPDATE "+pgx.Identifier{schema, "vaults"}.Sanitize()+
		" SET description = 'other writer' WHERE id = 'KEY-1'"); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		next := *v
		next.Description = "mine"
		done <- s.Update(ctx, &next, []vault.Event{{VaultID: "KEY-1", Version: 2}})
	}()
	waitForLockWaiter(t, schema)
	noErr(t, tx.Commit(ctx))
	if err := <-done; !errors.Is(err, vault.ErrConflict) {
		t.Errorf("an Update that lost the race under REPEATABLE READ = %v; want ErrConflict", err)
	}

	// The Service on this store works as on any other.
	svc := vault.NewService(s)
	must[[]*vault.Vault](t)(svc.Import(ctx, vault.NewVault{ID: "KEY-2"}))
	if _, _, err := svc.Assign(ctx, "KEY-2", "alice"); err != nil {
		t.Errorf("Assign under REPEATABLE READ = %v", err)
	}
}

// waitForLockWaiter waits until a statement on the schema waits for a lock.
func waitForLockWaiter(t *testing.T, schema string) {
	t.Helper()
	for range 500 {
		var waiting bool
		err := testPool(t).QueryRow(t.Context(), `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE wait_event_type = 'Lock' AND position($1 in query) > 0)`, schema).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
		if waiting {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no statement on schema %s came to wait for a lock", schema)
}
