package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
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
	rows, err := testPool(t).Query(t.Context(),
		"SELECT version, name FROM "+pgx.Identifier{schema, "schema_migrations"}.Sanitize()+" ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
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
	check("Update with an event numbered like a stored one", err, vault.ErrInvalidArgument)
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
		rows, err := pool.Query(ctx, "EXPLAIN "+s.ListQuery(c.byStatus, c.byOwner), c.args...)
		if err != nil {
			t.Fatal(err)
		}
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
	ctx := t.Context()
	s := newStoreOn(t, openPool(t, withIsolation("repeatable read")))
	schema := s.Schema()
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

// TestDuplicateEventVersionsAreInvalid: a history holds one event per
// version, so events that number two changes of one vault alike are
// refused as an invalid argument before the database is asked (once,
// Create reported the events' primary key as ErrExists, as if a vault
// existed), and so is an Update event numbered like a stored one.
// Nothing is stored then.
func TestDuplicateEventVersionsAreInvalid(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	err := s.Create(ctx, []*vault.Vault{{ID: "KEY-1", Status: status.Ready}, {ID: "KEY-2", Status: status.Ready}},
		[]vault.Event{{VaultID: "KEY-1", Version: 1}, {VaultID: "KEY-2", Version: 1}, {VaultID: "KEY-1", Version: 1}})
	if !errors.Is(err, vault.ErrInvalidArgument) || !strings.Contains(err.Error(), `"KEY-1"`) {
		t.Errorf("Create with two events for version 1 of KEY-1 = %v; want ErrInvalidArgument naming \"KEY-1\"", err)
	}
	if _, err := s.Get(ctx, "KEY-2"); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("a refused Create stored KEY-2: Get = %v; want ErrNotFound", err)
	}

	// Events of different vaults may share a version.
	v := &vault.Vault{ID: "KEY-1", Status: status.Ready}
	noErr(t, s.Create(ctx, []*vault.Vault{v, {ID: "KEY-2", Status: status.Ready}},
		[]vault.Event{{VaultID: "KEY-1", Version: 1}, {VaultID: "KEY-2", Version: 1}}))

	for what, events := range map[string][]vault.Event{
		"two events for version 2":              {{VaultID: "KEY-1", Version: 2}, {VaultID: "KEY-1", Version: 2}},
		"an event numbered like a stored one":   {{VaultID: "KEY-1", Version: 1}},
		"a new event and one like a stored one": {{VaultID: "KEY-1", Version: 2}, {VaultID: "KEY-1", Version: 1}},
	} {
		next := *v
		next.Description = "refused"
		err := s.Update(ctx, &next, events)
		if !errors.Is(err, vault.ErrInvalidArgument) || !strings.Contains(err.Error(), `"KEY-1"`) {
			t.Errorf("Update with %s = %v; want ErrInvalidArgument naming \"KEY-1\"", what, err)
		}
		if next.Version != 1 {
			t.Errorf("Update with %s changed the caller's version to %d", what, next.Version)
		}
	}
	if got := must[*vault.Vault](t)(s.Get(ctx, "KEY-1")); got.Version != 1 || got.Description != "" {
		t.Errorf("refused Updates changed the vault: %+v", got)
	}
	if h := must[[]vault.Event](t)(s.History(ctx, "KEY-1")); len(h) != 1 {
		t.Errorf("refused Updates changed the history: %+v", h)
	}
}

// TestEmptyValuesReadBackNil: empty labels, accounts and activation hash
// and salt read back as nil, as the package documents, whether they were
// given nil or empty (once, an activation's nil Hash read back as []byte{}).
func TestEmptyValuesReadBackNil(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	v := &vault.Vault{ID: "KEY-1", Status: status.Reserved, Owner: "alice", Labels: map[string]string{}, Accounts: []vault.Account{},
		Activation: &vault.Activation{Hash: nil, Salt: []byte{}, IssuedAt: at, ExpiresAt: at.Add(time.Hour)}}
	noErr(t, s.Create(ctx, []*vault.Vault{v}, nil))
	check := func(after string) {
		t.Helper()
		got := must[*vault.Vault](t)(s.Get(ctx, "KEY-1"))
		if got.Labels != nil || got.Accounts != nil || got.Activation == nil || got.Activation.Hash != nil || got.Activation.Salt != nil {
			t.Errorf("after %s: Labels %#v, Accounts %#v, Activation %#v; want nil labels and accounts, an activation with nil hash and salt",
				after, got.Labels, got.Accounts, got.Activation)
		}
	}
	check("Create")
	v.Activation = &vault.Activation{Hash: []byte{}, Salt: nil, IssuedAt: at, ExpiresAt: at.Add(time.Hour)}
	noErr(t, s.Update(ctx, v, nil))
	check("Update")
}

// TestCreateRacingCreateUnderRaisedIsolation: when the host raised the
// isolation level, a Create that waits for a concurrent transaction
// inserting the same ID fails with a serialization failure once that one
// commits. Create must retry and report ErrExists, as the contract says:
// once it reported ErrConflict, which the Service does not retry for an
// Import, so a duplicate Import failed as if it might succeed later.
func TestCreateRacingCreateUnderRaisedIsolation(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		t.Run(strings.ReplaceAll(level, " ", "-"), func(t *testing.T) {
			pool := testPool(t)
			ctx := t.Context()
			s := newStoreOn(t, openPool(t, withIsolation(level)))
			svc := vault.NewService(s)
			for _, c := range []struct {
				name   string
				create func(id string) error
			}{
				{"Store.Create", func(id string) error {
					return s.Create(ctx, []*vault.Vault{{ID: id, Status: status.Ready}}, []vault.Event{{VaultID: id, Version: 1}})
				}},
				{"Service.Import", func(id string) error { _, err := svc.Import(ctx, vault.NewVault{ID: id}); return err }},
			} {
				id := strings.ReplaceAll(c.name, ".", "-")
				tx := must[pgx.Tx](t)(pool.Begin(ctx))
				defer tx.Rollback(context.Background())
				if _, err := tx.Exec(ctx, "INSERT INTO "+pgx.Identifier{s.Schema(), "vaults"}.Sanitize()+
					` (id, status, reason, description, owner, labels, accounts, version, created_at, updated_at)
					VALUES ($1, 1, 0, 'the other writer', '', '{}', '[]', 1, now(), now())`, id); err != nil {
					t.Fatal(err)
				}
				done := make(chan error)
				go func() { done <- c.create(id) }()
				waitForLockWaiter(t, s.Schema())
				noErr(t, tx.Commit(ctx))
				if err := <-done; !errors.Is(err, vault.ErrExists) || errors.Is(err, vault.ErrConflict) {
					t.Errorf("%s of an ID a concurrent transaction inserted under %s = %v; want ErrExists", c.name, level, err)
				}
				if got := must[*vault.Vault](t)(s.Get(ctx, id)); got.Description != "the other writer" {
					t.Errorf("%s changed the other writer's vault: %+v", c.name, got)
				}
			}
		})
	}
}

// TestNewAsSchemaOwnerWithoutCreateOnDatabase: a role that owns its
// schema but may not create schemas in the database (no CREATE on it, as
// for any new role) migrates its schema, empty or current. Once Migrate
// ran CREATE SCHEMA IF NOT EXISTS, which needs that privilege even when
// the schema exists.
func TestNewAsSchemaOwnerWithoutCreateOnDatabase(t *testing.T) {
	pool := testPool(t)
	ctx := t.Context()
	role := "hwvault_test_role_" + strings.ToLower(rand.Text()[:12])
	password := rand.Text() // for servers that do not trust local connections
	if _, err := pool.Exec(ctx, "CREATE ROLE "+role+" LOGIN PASSWORD '"+password+"'"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // after the schema's cleanup and the pool's, registered later
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP ROLE "+role); err != nil {
			t.Errorf("dropping test role %s: %v", role, err)
		}
	})
	var canCreate bool
	if err := pool.QueryRow(ctx, "SELECT has_database_privilege($1, current_database(), 'CREATE')", role).Scan(&canCreate); err != nil {
		t.Fatal(err)
	}
	if canCreate {
		t.Skip("every role may create schemas in this database (CREATE is granted to PUBLIC): nothing to test")
	}
	schema := freshSchema(t, pool)
	if _, err := pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()+" AUTHORIZATION "+role); err != nil {
		t.Fatal(err)
	}
	owner := openPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.User, cfg.ConnConfig.Password = role, password })

	var s *postgres.Store
	for _, state := range []string{"empty", "current"} {
		var err error
		if s, err = postgres.New(ctx, owner, postgres.WithSchema(schema)); err != nil {
			t.Fatalf("New as the owner of the %s schema, without CREATE on the database = %v; want nil", state, err)
		}
	}
	checkMigrations(t, schema)
	svc := vault.NewService(s)
	must[[]*vault.Vault](t)(svc.Import(ctx, vault.NewVault{ID: "HK-0001"}))
	if h, err := svc.History(ctx, "HK-0001"); err != nil || len(h) != 1 {
		t.Errorf("History after an Import as the schema's owner = %v, %v; want the import", h, err)
	}
}

// TestHistoryOfAVaultImportedMeanwhile: History tells a missing vault
// from one without events, and must do so from the snapshot it reads the
// events from. Once it took two statements, and an Import that committed
// between them made it return an empty history, and no error, for a
// vault whose history was never empty. Here a tracer commits an Import
// as soon as History's first statement ends: History must see that
// Import whole, or not at all.
func TestHistoryOfAVaultImportedMeanwhile(t *testing.T) {
	ctx := t.Context()
	hook := new(afterStatement)
	s := newStoreOn(t, openPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.Tracer = hook }))
	other := must[*postgres.Store](t)(postgres.New(ctx, testPool(t), postgres.WithSchema(s.Schema()), postgres.WithoutMigration()))
	const id = "HK-0001"
	hook.fn = func() {
		if _, err := vault.NewService(other).Import(context.Background(), vault.NewVault{ID: id}); err != nil {
			t.Errorf("the concurrent Import: %v", err)
		}
	}
	hook.armed.Store(true)
	h, err := s.History(ctx, id)
	if hook.armed.Load() {
		t.Fatal("History ran no statement")
	}
	if !errors.Is(err, vault.ErrNotFound) && (err != nil || len(h) != 1) {
		t.Errorf("History while an Import commits = %+v, %v; want ErrNotFound, or the import event", h, err)
	}
	if h := must[[]vault.Event](t)(s.History(ctx, id)); len(h) != 1 {
		t.Errorf("History after the Import = %+v; want the import event", h)
	}
}

// afterStatement is a pgx tracer that runs fn when the first statement
// ends after it is armed.
type afterStatement struct {
	armed atomic.Bool
	fn    func()
}

func (a *afterStatement) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (a *afterStatement) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {
	if a.armed.CompareAndSwap(true, false) {
		a.fn()
	}
}

// TestHistoryDuringConcurrentImports asks for the histories of vaults
// while they are being imported, one by one: each answer is ErrNotFound
// or the import event, never an empty history.
func TestHistoryDuringConcurrentImports(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	const vaults, readers = 200, 4
	id := func(i int64) string { return fmt.Sprintf("HK-%04d", i) }
	var next atomic.Int64 // the vault imported next
	done := make(chan struct{})
	go func() {
		defer close(done)
		svc := vault.NewService(s)
		for i := range int64(vaults) {
			if _, err := svc.Import(ctx, vault.NewVault{ID: id(i)}); err != nil {
				t.Errorf("Import: %v", err)
				return
			}
			next.Store(i + 1)
		}
	}()
	var wg sync.WaitGroup
	for range readers {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				i := next.Load()
				h, err := s.History(ctx, id(i))
				if !errors.Is(err, vault.ErrNotFound) && (err != nil || len(h) != 1) {
					t.Errorf("History of %s while it is imported = %+v, %v; want ErrNotFound, or the import event", id(i), h, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
