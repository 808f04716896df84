package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/store/postgres"
	"github.com/hwvault/hwvault/vault"
)

// A service replica on PostgreSQL: open a pool, a Store over it, and the
// same vault.Service any store runs. (It needs a database, so go test
// only compiles it.)
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	st, err := postgres.New(ctx, pool, postgres.WithSchema("keys")) // creates or migrates the schema
	if err != nil {
		log.Fatal(err)
	}
	svc := vault.NewService(st)

	if _, err := svc.Import(ctx, vault.NewVault{ID: "HK-0001", Labels: map[string]string{"model": "Hideez Key 4"}}); err != nil {
		log.Fatal(err)
	}
	v, code, err := svc.Assign(ctx, "HK-0001", "alice@example.com")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Status, "- give alice her code:", code)

	// Errors match the vault sentinels; no pgx import needed.
	if _, err := svc.Import(ctx, vault.NewVault{ID: "HK-0001"}); errors.Is(err, vault.ErrExists) {
		fmt.Println("HK-0001 is imported already")
	}
	if _, err := svc.Wipe(ctx, "HK-0001"); errors.Is(err, status.ErrNotPermitted) {
		fmt.Println("a Reserved vault cannot be wiped")
	}
}

// Migrations as a deployment step: the migration job runs Migrate, and
// the service, whose database role may not change tables, only checks
// that the schema is current.
func ExampleWithoutMigration() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	st, err := postgres.New(ctx, pool, postgres.WithoutMigration())
	if err != nil {
		log.Fatal(err) // the schema is missing or behind: run the migration job first
	}
	_ = vault.NewService(st)
}
