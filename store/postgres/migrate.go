package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The schema's versions are the SQL files in migrations/, named
// NNNN_what.sql and numbered 1, 2, 3... without gaps. A released file is
// never edited: a change to the tables is a new file. Each file must keep
// the tables usable by the previous release of this package, so that
// replicas of the old and new release can run side by side during a
// rolling deployment.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one schema version: the SQL that brings the schema from
// the version before it to this one.
type migration struct {
	version int
	name    string // the file name, recorded in schema_migrations
	sql     string
}

// migrations are the embedded migrations in version order, checked once
// when the package is initialised: a misnamed file is a mistake in this
// package, not in its use.
var migrations = mustLoadMigrations(migrationFiles)

// latestVersion is the schema version this package reads and writes.
var latestVersion = len(migrations)

func mustLoadMigrations(fsys fs.FS) []migration {
	ms, err := loadMigrations(fsys)
	if err != nil {
		panic("postgres: embedded migrations: " + err.Error())
	}
	return ms
}

// loadMigrations reads migrations/*.sql from fsys and checks that they
// are numbered 1..n.
func loadMigrations(fsys fs.FS) ([]migration, error) {
	names, err := fs.Glob(fsys, "migrations/*.sql") // sorted by name
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(names))
	for i, name := range names {
		base := path.Base(name)
		prefix, _, ok := strings.Cut(base, "_")
		version, err := strconv.Atoi(prefix)
		if !ok || err != nil || len(prefix) != 4 {
			return nil, fmt.Errorf("%s: want a name like 0001_what.sql", base)
		}
		if version != i+1 {
			return nil, fmt.Errorf("%s: is version %d, want %d: versions run 1, 2, 3... without gaps", base, version, i+1)
		}
		sql, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: version, name: base, sql: string(sql)})
	}
	if len(ms) == 0 {
		return nil, errors.New("no migrations/*.sql")
	}
	return ms, nil
}

// lockClass is the first key of the advisory lock that Migrate takes; the
// second is a hash of the schema name. Together they serialise migrations
// of one schema across every process that shares the database, and leave
// other users of advisory locks alone (the bytes spell "hwvm").
const lockClass int32 = 0x6877766d

// lockKey returns the second advisory lock key for schema.
func lockKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32())
}

// Migrate brings the store's schema to the version this package needs:
// it creates the schema when it is missing and applies, in order, every
// embedded migration the schema has not had yet, recording each in the
// table schema_migrations. A schema that is current is left alone, and a
// schema newer than this package (migrated by a later release) too.
//
// Migrate is safe to run from many processes at once: everything happens
// in one transaction that first takes an advisory lock on the schema, so
// one process migrates while the others wait, then find the schema
// current. On any error nothing is applied. [New] calls Migrate unless
// told not to with [WithoutMigration].
//
// The database role needs the CREATE privilege on the schema, which its
// owner has; on the database only when the schema does not exist yet.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrate(ctx); err != nil {
		return fmt.Errorf("postgres: Migrate schema %q: %w", s.schema, classify(ctx, err))
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	// Read committed: once the lock is ours, each statement sees what the
	// process that held it before us committed.
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) // a no-op once committed

	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2)`, lockClass, lockKey(s.schema)); err != nil {
		return err
	}
	// Not CREATE SCHEMA IF NOT EXISTS, which needs the CREATE privilege on
	// the database even when the schema exists: a role that owns its
	// schema need not have it.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+s.q.schema); err != nil {
			return err
		}
	}
	// These take no arguments, so pgx sends them as simple queries: a
	// migration file may hold several statements.
	setup := []string{
		// Only for this transaction: the migration files use unqualified names.
		`SET LOCAL search_path TO ` + s.q.schema,
		`CREATE TABLE IF NOT EXISTS ` + s.q.schema + `.schema_migrations (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`,
	}
	for _, sql := range setup {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return err
		}
	}
	current, err := schemaVersion(ctx, tx, s.q.schema)
	if err != nil {
		return err
	}
	for _, m := range migrations[min(current, latestVersion):] {
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("applying %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO `+s.q.schema+`.schema_migrations (version, name) VALUES ($1, $2)`,
			m.version, m.name); err != nil {
			return fmt.Errorf("recording %s: %w", m.name, err)
		}
	}
	return tx.Commit(ctx)
}

// checkVersion returns an error unless the schema has every migration this
// package needs: what [New] does instead of migrating when told
// [WithoutMigration].
func (s *Store) checkVersion(ctx context.Context) error {
	current, err := schemaVersion(ctx, s.pool, s.q.schema)
	if code := pgCode(err); code == sqlUndefinedTable || code == sqlInvalidSchemaName {
		return fmt.Errorf("postgres: schema %q has no hwvault tables; run Store.Migrate (or New without WithoutMigration) first",
			s.schema)
	}
	if err != nil {
		return fmt.Errorf("postgres: reading the version of schema %q: %w", s.schema, classify(ctx, err))
	}
	if current < latestVersion {
		return fmt.Errorf("postgres: schema %q is at version %d, this package needs version %d; run Store.Migrate",
			s.schema, current, latestVersion)
	}
	return nil
}

// querier is what schemaVersion needs of a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// schemaVersion returns the highest migration recorded in the schema
// (quoted), 0 for none.
func schemaVersion(ctx context.Context, q querier, schema string) (int, error) {
	var v int
	err := q.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+schema+`.schema_migrations`).Scan(&v)
	return v, err
}
