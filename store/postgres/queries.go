package postgres

import (
	"fmt"
	"strings"
)

// The SQL of the store. Table names are qualified with the store's
// schema: {schema} below stands for its quoted name, filled in once by
// newQueries. Parameters are numbered as vaultArgs, eventRecord.args and
// eventBatch.args lay them out.

// vaultColumns are the columns of the vaults table in the order vaultArgs
// encodes them ($1..$14) and scanVault reads them (the same, then version).
// Labels and accounts ($6, $7) come as JSON text, which every statement
// casts to jsonb: see codec.go.
const vaultColumns = `id, status, reason, description, owner, labels, accounts,
	code_hash, code_salt, code_issued_at, code_expires_at, code_attempts,
	created_at, updated_at`

// eventColumns are the columns of the events table in the order
// eventRecord.args and eventBatch.args encode them and scanEvent reads
// them (from history, which qualifies them).
const eventColumns = `vault_id, version, action, trigger, from_status, to_status,
	reason, description, account, actor, time`

// eventTypes are the SQL types of eventColumns, in order.
var eventTypes = []string{"text", "bigint", "text", "smallint", "smallint", "smallint",
	"smallint", "text", "text", "text", "timestamptz"}

// unnestEvents returns a FROM item that turns the event arrays of
// eventBatch.args, starting at parameter $first, back into rows.
func unnestEvents(first int) string {
	params := make([]string, len(eventTypes))
	for i, t := range eventTypes {
		params[i] = fmt.Sprintf("$%d::%s[]", first+i, t)
	}
	return "unnest(" + strings.Join(params, ", ") + ")"
}

const (
	// insertVault stores one new vault at version 1, unless its ID is
	// taken: then it stores nothing and reports no row affected.
	insertVault = `INSERT INTO {schema}.vaults (` + vaultColumns + `, version)
VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8, $9, $10, $11, $12, $13, $14, 1)
ON CONFLICT (id) DO NOTHING`

	// getVault reads one vault.
	getVault = `SELECT ` + vaultColumns + `, version FROM {schema}.vaults WHERE id = $1`

	// history reads a vault's events in version order, and whether the
	// vault exists, in one statement and so from one snapshot: no rows
	// when there is no such vault, one row of NULLs when it has no events.
	history = `SELECT e.vault_id, e.version, e.action, e.trigger, e.from_status, e.to_status,
	e.reason, e.description, e.account, e.actor, e.time
FROM {schema}.vaults v LEFT JOIN {schema}.events e ON e.vault_id = v.id
WHERE v.id = $1 ORDER BY e.version`
)

// insertEvents appends the events of an eventBatch ($1..$11), any number
// of them in one statement.
var insertEvents = `INSERT INTO {schema}.events (` + eventColumns + `)
SELECT * FROM ` + unnestEvents(1)

// updateVault returns the whole of Store.Update for n events as one
// statement, and so one round trip and one implicit transaction. The
// UPDATE is the compare-and-swap: it matches only at the expected version
// ($15), under the row lock, re-checked after any concurrent writer
// commits. The INSERT appends the events, 11 parameters each from $16 on
// (eventRecord.args), only when the UPDATE matched, by joining its
// result. The statement returns the new version, NULL when nothing was
// stored, and the version the statement's snapshot saw, NULL when there
// is no such vault: together they tell success, ErrConflict and
// ErrNotFound apart without another round trip.
//
// The events are scalar parameters rather than arrays to unnest (as
// insertEvents takes them) because arrays cost a single-event Update, the
// Service's, about a third more time in the database.
func updateVault(n int) string {
	var b strings.Builder
	b.WriteString(`WITH changed AS (
	UPDATE {schema}.vaults SET
		status = $2, reason = $3, description = $4, owner = $5, labels = $6::jsonb, accounts = $7::jsonb,
		code_hash = $8, code_salt = $9, code_issued_at = $10, code_expires_at = $11, code_attempts = $12,
		created_at = $13, updated_at = $14, version = version + 1
	WHERE id = $1 AND version = $15
	RETURNING version
)`)
	if n > 0 {
		b.WriteString(`, logged AS (
	INSERT INTO {schema}.events (` + eventColumns + `)
	SELECT e.* FROM changed, (VALUES `)
		param := 16
		for i := range n {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(")
			for j, t := range eventTypes {
				if j > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "$%d::%s", param, t)
				param++
			}
			b.WriteString(")")
		}
		b.WriteString(`) AS e
)`)
	}
	b.WriteString(`
SELECT (SELECT version FROM changed), (SELECT version FROM {schema}.vaults WHERE id = $1)`)
	return b.String()
}

// maxUpdateEvents is the most events one Update takes: the statement's
// parameters must stay within the protocol's 65535. The Service passes one.
const maxUpdateEvents = (65535 - 15) / 11

// listVaults returns the query for one page of List, by the filter's
// shape: $1 is the cursor, $2 the page size plus one (to learn whether
// another page follows), then the status and the owner when the filter
// names them. Each shape is its own statement, so that PostgreSQL plans
// it for the index that answers it: (status, id), or the partial
// (owner, id), whose predicate (a non-empty owner) the query repeats so
// that even a generic plan may use it.
func listVaults(byStatus, byOwner bool) string {
	where := "id > $1"
	switch {
	case byStatus && byOwner:
		where = "status = $3 AND owner = $4 AND owner <> '' AND " + where
	case byStatus:
		where = "status = $3 AND " + where
	case byOwner:
		where = "owner = $3 AND owner <> '' AND " + where
	}
	return `SELECT ` + vaultColumns + `, version FROM {schema}.vaults WHERE ` + where + ` ORDER BY id LIMIT $2`
}

// queries is the store's SQL for one schema.
type queries struct {
	schema string // quoted

	insertVault, insertEvents, getVault, history string

	update [4]string    // updateVault(n) for n events, for the usual few
	list   [2][2]string // by [filter has a status][filter has an owner]
}

// newQueries fills the quoted schema name into the store's SQL.
func newQueries(schema string) queries {
	q := queries{schema: schema}
	q.insertVault = q.fill(insertVault)
	q.insertEvents = q.fill(insertEvents)
	q.getVault = q.fill(getVault)
	q.history = q.fill(history)
	for n := range q.update {
		q.update[n] = q.fill(updateVault(n))
	}
	for _, byStatus := range []bool{false, true} {
		for _, byOwner := range []bool{false, true} {
			q.list[b2i(byStatus)][b2i(byOwner)] = q.fill(listVaults(byStatus, byOwner))
		}
	}
	return q
}

// fill puts the quoted schema name into sql.
func (q *queries) fill(sql string) string { return strings.ReplaceAll(sql, "{schema}", q.schema) }

// updateVault returns the statement of Update for n events.
func (q *queries) updateVault(n int) string {
	if n < len(q.update) {
		return q.update[n]
	}
	return q.fill(updateVault(n))
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
