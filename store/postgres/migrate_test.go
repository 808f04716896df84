package postgres

import (
	"strings"
	"testing"
	"testing/fstest"
)

func TestEmbeddedMigrations(t *testing.T) {
	if len(migrations) == 0 || migrations[0].name != "0001_init.sql" {
		t.Fatalf("embedded migrations = %v; want 0001_init.sql first", migrations)
	}
	for i, m := range migrations {
		if m.version != i+1 || strings.TrimSpace(m.sql) == "" {
			t.Errorf("migration %d is %s, version %d: want version %d with SQL", i, m.name, m.version, i+1)
		}
	}
}

func TestLoadMigrationsRefusesMisnumberedFiles(t *testing.T) {
	file := &fstest.MapFile{Data: []byte("SELECT 1;")}
	for name, fsys := range map[string]fstest.MapFS{
		"a gap":         {"migrations/0001_a.sql": file, "migrations/0003_c.sql": file},
		"a repeat":      {"migrations/0001_a.sql": file, "migrations/0001_b.sql": file},
		"no number":     {"migrations/init.sql": file},
		"a short one":   {"migrations/1_init.sql": file},
		"not from 1":    {"migrations/0002_b.sql": file},
		"no migrations": {},
	} {
		if ms, err := loadMigrations(fsys); err == nil {
			t.Errorf("loadMigrations with %s = %v; want an error", name, ms)
		}
	}
	ms, err := loadMigrations(fstest.MapFS{"migrations/0002_b.sql": file, "migrations/0001_a.sql": file})
	if err != nil || len(ms) != 2 || ms[0].name != "0001_a.sql" || ms[1].version != 2 {
		t.Errorf("loadMigrations of 0001 and 0002 = %v, %v; want both, in order", ms, err)
	}
}
