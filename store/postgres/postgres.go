package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hwvault/hwvault/vault"
)

// DefaultSchema is the schema a [Store] keeps its tables in unless
// [WithSchema] names another.
const DefaultSchema = "hwvault"

// Store is a [vault.Store] on PostgreSQL. It is safe for concurrent use,
// and any number of Stores, in any number of processes, may share one
// schema: every change is a compare-and-swap on the vault's version,
// decided by the database.
//
// A Store holds no connection of its own: it borrows connections from the
// pool it was given, which stays the host's to configure and to close.
// Create it with [New]; the zero Store is not usable.
type Store struct {
	pool   *pgxpool.Pool
	schema string  // as given to WithSchema
	q      queries // the SQL, with the schema filled in
}

var _ vault.Store = (*Store)(nil)

// Option configures [New].
type Option func(*config)

type config struct {
	schema  string
	migrate bool
}

// WithSchema keeps the store's tables in the named schema instead of
// [DefaultSchema], so that several stores (tests, tenants) can share one
// database. The name must be 1–63 bytes of ASCII letters, digits and
// underscores, must not start with a digit or with "pg_", and is used as
// given, case included.
func WithSchema(name string) Option {
	return func(c *config) { c.schema = name }
}

// WithoutMigration makes [New] leave the schema alone: instead of
// migrating, it only checks that the schema is at the version this
// package needs, and fails otherwise. Use it when the database role of
// the service may not change tables, and migrations run as a separate
// deployment step that calls [Store.Migrate].
func WithoutMigration() Option {
	return func(c *config) { c.migrate = false }
}

// New returns a Store that keeps its vaults in pool's database. Unless
// [WithoutMigration] is given, it first runs [Store.Migrate], so the
// schema exists and is current when New returns; this is safe when many
// replicas start at once.
//
// A nil pool, a nil option or an invalid schema name is an error
// wrapping [vault.ErrInvalidArgument].
func New(ctx context.Context, pool *pgxpool.Pool, opts ...Option) (*Store, error) {
	if pool == nil {
		return nil, fmt.Errorf("postgres: New: nil pool: %w", vault.ErrInvalidArgument)
	}
	cfg := config{schema: DefaultSchema, migrate: true}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("postgres: New: option %d is nil: %w", i, vault.ErrInvalidArgument)
		}
		o(&cfg)
	}
	if err := checkSchemaName(cfg.schema); err != nil {
		return nil, fmt.Errorf("postgres: New: %w", err)
	}
	s := &Store{pool: pool, schema: cfg.schema, q: newQueries(pgx.Identifier{cfg.schema}.Sanitize())}
	var err error
	if cfg.migrate {
		err = s.Migrate(ctx)
	} else {
		err = s.checkVersion(ctx)
	}
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Schema returns the name of the schema the store keeps its tables in.
func (s *Store) Schema() string { return s.schema }

// checkSchemaName accepts the schema names WithSchema documents.
func checkSchemaName(name string) error {
	if name == "" || len(name) > 63 {
		return fmt.Errorf("schema name %q must be 1-63 bytes: %w", name, vault.ErrInvalidArgument)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
		digit := '0' <= c && c <= '9'
		if !letter && !(digit && i > 0) {
			return fmt.Errorf("schema name %q has %q at byte %d; allowed are letters, digits (not first) and '_': %w",
				name, c, i, vault.ErrInvalidArgument)
		}
	}
	if strings.HasPrefix(strings.ToLower(name), "pg_") {
		return fmt.Errorf("schema name %q: names starting with pg_ are reserved by PostgreSQL: %w", name, vault.ErrInvalidArgument)
	}
	return nil
}

// SQLSTATE codes the store gives a meaning.
const (
	sqlUniqueViolation      = "23505"
	sqlSerializationFailure = "40001"
	sqlDeadlockDetected     = "40P01"
	sqlUndefinedTable       = "42P01"
	sqlInvalidSchemaName    = "3F000"
	sqlDataExceptionClass   = "22" // invalid text, out-of-range numbers, NUL in JSON...
)

// pgCode returns the SQLSTATE of the database error in err's chain, ""
// when there is none.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ""
	}
	return pgErr.Code
}

// retryable reports whether err is a serialization failure or a deadlock:
// the transaction was rolled back, and running it again may succeed.
func retryable(err error) bool {
	code := pgCode(err)
	return code == sqlSerializationFailure || code == sqlDeadlockDetected
}

// classify adds to a database error the vault sentinel that says what it
// means, so that hosts match errors without importing pgx:
//
//   - when ctx is done, its error (context.Canceled or DeadlineExceeded),
//     whatever pgx reported;
//   - a unique violation is [vault.ErrExists];
//   - a serialization failure or a deadlock is [vault.ErrConflict]:
//     nothing was stored. The first happens only when the host raised the
//     isolation level (REPEATABLE READ, SERIALIZABLE) and a concurrent
//     transaction changed the same rows; the second only when other
//     transactions lock the store's rows in another order than the store
//     (one row, or several in ID order). The Service retries an Update
//     that fails so, as any conflict; Create retries its transaction
//     itself a few times, and nobody retries it after that;
//   - a value the database cannot store is [vault.ErrInvalidArgument].
//
// The database error stays wrapped too, for errors.As.
func classify(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	switch code := pgCode(err); {
	case code == "":
		return err
	case code == sqlUniqueViolation:
		return fmt.Errorf("%w: %w", vault.ErrExists, err)
	case retryable(err):
		return fmt.Errorf("%w: %w", vault.ErrConflict, err)
	case strings.HasPrefix(code, sqlDataExceptionClass):
		return fmt.Errorf("%w: %w", vault.ErrInvalidArgument, err)
	}
	return err
}

// fail returns the error of method op on vault id ("" when the call
// concerns no vault in particular), cause classified.
func fail(ctx context.Context, op, id string, cause error) error {
	cause = classify(ctx, cause)
	if id == "" {
		return fmt.Errorf("postgres: %s: %w", op, cause)
	}
	return fmt.Errorf("postgres: %s %s: %w", op, quote(id), cause)
}

// quote quotes a vault ID for an error message, bounding what an
// oversized one adds to it. Well-formed IDs are at most 64 bytes.
func quote(id string) string {
	const limit = 128
	if len(id) > limit {
		return fmt.Sprintf("%q...", id[:limit])
	}
	return fmt.Sprintf("%q", id)
}
