// Package postgres is a [vault.Store] on PostgreSQL: the production store
// for services that run several replicas against one database.
//
// Every replica opens its own pgx pool and its own Store over the same
// schema, and runs the same [vault.Service]; the database decides every
// race. A command is a compare-and-swap on the vault's version, so two
// replicas changing one vault at once never lose an update: one wins, the
// other's Service re-reads the vault and re-decides. Each change and its
// audit event are stored in one statement, so the history always matches
// the state. An Import is stored in one transaction: all of it or none.
//
// # Usage
//
// The host owns the pool (its size, its DSN, closing it); the Store only
// borrows connections from it:
//
//	pool, err := pgxpool.New(ctx, "postgres://hwvault@db.internal:5432/keys")
//	if err != nil {
//		return err
//	}
//	defer pool.Close()
//
//	st, err := postgres.New(ctx, pool) // creates or migrates the schema "hwvault"
//	if err != nil {
//		return err
//	}
//	svc := vault.NewService(st)
//
//	_, err = svc.Import(ctx, vault.NewVault{ID: "HK-0001"})
//	v, code, err := svc.Assign(ctx, "HK-0001", "alice@example.com")
//
// Errors wrap the sentinels of package vault ([vault.ErrNotFound],
// [vault.ErrExists], [vault.ErrConflict], [vault.ErrInvalidArgument]) and
// the context's error when the context ended the call, so hosts match them
// with errors.Is and never need to import pgx for that.
//
// # Schema and migrations
//
// The tables live in one schema, [DefaultSchema] unless [WithSchema] names
// another; several stores (tenants, tests) can share a database in schemas
// of their own. [New] migrates the schema when it is missing or behind,
// safely when many replicas start at once: the SQL is embedded in this
// package, versioned in the table schema_migrations, and applied in one
// transaction under an advisory lock on the schema. Services whose
// database role may not change tables pass [WithoutMigration] and run
// [Store.Migrate] as a deployment step instead.
//
// Two tables hold everything:
//
//   - vaults: one row per vault, its current state; labels and accounts as
//     JSONB, the pending activation code as bytea and timestamptz columns
//     (its hash and salt only, never the code). Version is the
//     compare-and-swap token. IDs are ordered bytewise (COLLATE "C"), as
//     Go compares strings, which List's cursor relies on.
//   - events: the audit history, primary key (vault_id, version), so a
//     vault's history is versions 1..n and cannot hold two events for one
//     version.
//
// List is served by the indexes (status, id) and (owner, id), the latter
// only over vaults that have an owner, with keyset pagination from the
// cursor: a page costs the page, not the fleet.
//
// # Round trips
//
// Get, Update, List and History are one statement, one round trip, each. Update
// runs the compare-and-swap UPDATE and the INSERT of its events as one
// statement without an explicit transaction: one statement is atomic on
// its own, and that saves the BEGIN and COMMIT round trips. A Service
// command is therefore two round trips, Get and Update. Create is one
// transaction: BEGIN, the vault inserts pipelined in one round trip, the
// events in one statement, COMMIT.
//
// # What reads back
//
// Times are stored as timestamptz, which keeps microseconds: a vault that
// a command returns keeps the nanoseconds of the Service's clock, and a
// later Get or History returns the same instants truncated to the
// microsecond, in UTC. Labels, Accounts, and an Activation's Hash and
// Salt read back as nil when they are empty, whether they were given nil
// or empty.
//
// # Connection poolers
//
// The store works in every pgx.QueryExecMode, including
// QueryExecModeExec and QueryExecModeSimpleProtocol, which a pool behind
// PgBouncer in transaction pooling mode needs (set
// ConnConfig.DefaultQueryExecMode, or default_query_exec_mode in the DSN).
//
// # Tests
//
// The package's tests run against a live server: $HWVAULT_POSTGRES_DSN,
// or postgres://postgres@127.0.0.1:5432/test?sslmode=disable when it is
// unset. Without a server they skip, unless the variable is set, as it is
// in CI, where they fail instead.
package postgres
