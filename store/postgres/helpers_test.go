package postgres_test

import (
	"context"
	"crypto/rand"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hwvault/hwvault/store/postgres"
)

// The tests need a PostgreSQL server. They connect to $HWVAULT_POSTGRES_DSN,
// or to defaultDSN when it is unset. When the server cannot be reached,
// they skip if the variable is unset (a developer's machine without a
// database) and fail if it is set (CI, which must not pass by skipping).
const (
	dsnEnv     = "HWVAULT_POSTGRES_DSN"
	defaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// shared is the test binary's pool, opened by the first test that needs
// it and closed by TestMain. Every test works in schemas of its own.
var shared struct {
	once sync.Once
	pool *pgxpool.Pool
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.pool != nil {
		shared.pool.Close()
	}
	os.Exit(code)
}

// dsn returns the server to test against and whether the environment
// named it.
func dsn() (string, bool) {
	if d := os.Getenv(dsnEnv); d != "" {
		return d, true
	}
	return defaultDSN, false
}

// testPool returns the shared pool, skipping or failing tb when the
// server cannot be reached (see dsnEnv).
func testPool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	shared.once.Do(func() { shared.pool, shared.err = connect(40) })
	if shared.err != nil {
		if _, set := dsn(); set { // not printed: it may hold a password
			tb.Fatalf("PostgreSQL at $%s cannot be reached: %v", dsnEnv, shared.err)
		}
		tb.Skipf("PostgreSQL at %s cannot be reached (%v); to run these tests start a server there "+
			"(trust auth, database test), or point $%s at one", defaultDSN, shared.err, dsnEnv)
	}
	return shared.pool
}

// connect opens a pool of at most maxConns connections to the test
// server and checks that it answers.
func connect(maxConns int32) (*pgxpool.Pool, error) {
	d, _ := dsn()
	cfg, err := pgxpool.ParseConfig(d)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = maxConns
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// openPool opens a pool of its own to the test server, configured by
// configure, and closes it when tb ends. It skips or fails tb as
// testPool does when the server cannot be reached.
func openPool(tb testing.TB, configure func(*pgxpool.Config)) *pgxpool.Pool {
	tb.Helper()
	testPool(tb)
	d, _ := dsn()
	cfg, err := pgxpool.ParseConfig(d)
	if err != nil {
		tb.Fatal(err)
	}
	configure(cfg)
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatalf("opening a pool: %v", err)
	}
	tb.Cleanup(pool.Close)
	return pool
}

// withIsolation returns a pool configuration whose transactions default
// to the isolation level, "repeatable read" or "serializable", as some
// hosts configure their database.
func withIsolation(level string) func(*pgxpool.Config) {
	return func(cfg *pgxpool.Config) { cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = level }
}

// freshSchema returns the name of a schema no one uses, which is dropped
// with everything in it when tb ends. The schema itself is not created:
// New (or Migrate) does that.
func freshSchema(tb testing.TB, pool *pgxpool.Pool) string {
	tb.Helper()
	name := "hwvault_test_" + strings.ToLower(rand.Text()[:12])
	tb.Cleanup(func() {
		// tb's own context is cancelled by the time cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{name}.Sanitize()+" CASCADE"); err != nil {
			tb.Errorf("dropping test schema %s: %v", name, err)
		}
	})
	return name
}

// newStore returns a Store on the shared pool in a fresh schema, migrated.
func newStore(tb testing.TB) *postgres.Store {
	tb.Helper()
	return newStoreOn(tb, testPool(tb))
}

// newStoreOn returns a Store on pool in a fresh schema, migrated.
func newStoreOn(tb testing.TB, pool *pgxpool.Pool) *postgres.Store {
	tb.Helper()
	s, err := postgres.New(context.Background(), pool, postgres.WithSchema(freshSchema(tb, testPool(tb))))
	if err != nil {
		tb.Fatalf("New in a fresh schema: %v", err)
	}
	return s
}

// must stops the test when err is not nil.
func must[T any](tb testing.TB) func(T, error) T {
	return func(v T, err error) T {
		tb.Helper()
		if err != nil {
			tb.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

// noErr stops the test when err is not nil.
func noErr(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("unexpected error: %v", err)
	}
}

// fixedClock is a clock that moves only when told, safe for concurrent use.
type fixedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fixedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fixedClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
