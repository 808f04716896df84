package postgres_test

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hwvault/hwvault/storetest"
	"github.com/hwvault/hwvault/vault"
)

// TestQueryExecModes runs the conformance suite and the Service lifecycle
// on pools in each of pgx's query exec modes. QueryExecModeExec and
// QueryExecModeSimpleProtocol are what a pool behind PgBouncer in
// transaction pooling mode needs: they do not ask the server for the
// types of a statement's parameters, but send each as pgx guesses from
// its Go type, so every value must be one the SQL accepts as sent (once,
// labels and accounts went as bytea and could not be stored).
func TestQueryExecModes(t *testing.T) {
	for _, mode := range []pgx.QueryExecMode{
		pgx.QueryExecModeCacheStatement,
		pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	} {
		t.Run(mode.String(), func(t *testing.T) {
			pool := openPool(t, func(cfg *pgxpool.Config) { cfg.ConnConfig.DefaultQueryExecMode = mode })
			t.Run("Conformance", func(t *testing.T) {
				storetest.Run(t, func(t *testing.T) vault.Store { return newStoreOn(t, pool) })
			})
			t.Run("ServiceLifecycle", func(t *testing.T) { testServiceLifecycle(t, newStoreOn(t, pool)) })
		})
	}
}
