package postgres

import (
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// This file converts vaults and events to the values of the store's
// columns and back. Times are stored as timestamptz, which keeps
// microseconds, and read back in UTC. Labels and accounts are JSONB in a
// format of their own (storedAccount), so that renaming a Go field never
// changes what is stored. They are passed as JSON text that the SQL casts
// to jsonb ($6::jsonb), which every pgx.QueryExecMode sends as the same
// text: as []byte, the modes that do not ask the server for parameter
// types (QueryExecModeExec, QueryExecModeSimpleProtocol, which PgBouncer's
// transaction pooling needs) would send bytea. A vault read back has nil
// Labels and Accounts where it has none, whether it was stored with nil
// or empty ones, and likewise a nil or empty Activation.Hash and Salt.

// storedAccount is how an account is stored in the accounts column.
type storedAccount struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Login   string `json:"login"`
	Pending bool   `json:"pending"`
}

// vaultArgs returns the values of v's columns, in the order of
// vaultColumns (without version): the parameters $1..$14 of insertVault
// and updateVault, labels and accounts ($6, $7) as JSON text.
func vaultArgs(v *vault.Vault) ([]any, error) {
	labels, err := encodeLabels(v.Labels)
	if err != nil {
		return nil, err
	}
	accounts, err := encodeAccounts(v.Accounts)
	if err != nil {
		return nil, err
	}
	var (
		hash, salt      []byte
		issued, expires *time.Time
		attempts        *int
	)
	if a := v.Activation; a != nil {
		// Non-nil even when empty: the code's five columns are NULL
		// together, only when there is no code.
		hash, salt = append([]byte{}, a.Hash...), append([]byte{}, a.Salt...)
		issued, expires, attempts = &a.IssuedAt, &a.ExpiresAt, &a.Attempts
	}
	return []any{
		v.ID, int16(v.Status), int16(v.Reason), v.Description, v.Owner, labels, accounts,
		hash, salt, issued, expires, attempts,
		v.CreatedAt, v.UpdatedAt,
	}, nil
}

// encodeLabels returns labels as a JSON object; {} for none.
func encodeLabels(labels map[string]string) (string, error) {
	for k, val := range labels {
		// encoding/json would replace invalid UTF-8 silently, and the
		// label would not read back as it was given.
		if !utf8.ValidString(k) || !utf8.ValidString(val) {
			return "", fmt.Errorf("label %q is not valid UTF-8: %w", k, vault.ErrInvalidArgument)
		}
	}
	if len(labels) == 0 {
		return "{}", nil
	}
	b, err := json.Marshal(labels)
	return string(b), err
}

// encodeAccounts returns accounts as a JSON array; [] for none.
func encodeAccounts(accounts []vault.Account) (string, error) {
	stored := make([]storedAccount, len(accounts))
	for i, a := range accounts {
		if !utf8.ValidString(a.ID) || !utf8.ValidString(a.Name) || !utf8.ValidString(a.Login) {
			return "", fmt.Errorf("account %q is not valid UTF-8: %w", a.ID, vault.ErrInvalidArgument)
		}
		stored[i] = storedAccount(a)
	}
	b, err := json.Marshal(stored)
	return string(b), err
}

// scanVault reads one row of vaultColumns and version.
func scanVault(row pgx.Row) (*vault.Vault, error) {
	var (
		v                    vault.Vault
		st, reason           int16
		labels, accounts     []byte
		hash, salt           []byte
		issued, expires      *time.Time
		attempts             *int32
		version              int64
		createdAt, updatedAt time.Time
	)
	err := row.Scan(&v.ID, &st, &reason, &v.Description, &v.Owner, &labels, &accounts,
		&hash, &salt, &issued, &expires, &attempts,
		&createdAt, &updatedAt, &version)
	if err != nil {
		return nil, err
	}
	v.Status, v.Reason = status.Status(st), status.Reason(reason)
	v.CreatedAt, v.UpdatedAt = createdAt.UTC(), updatedAt.UTC()
	v.Version = uint64(version)
	if err := json.Unmarshal(labels, &v.Labels); err != nil {
		return nil, fmt.Errorf("vault %s: decoding labels: %w", quote(v.ID), err)
	}
	if len(v.Labels) == 0 {
		v.Labels = nil
	}
	var stored []storedAccount
	if err := json.Unmarshal(accounts, &stored); err != nil {
		return nil, fmt.Errorf("vault %s: decoding accounts: %w", quote(v.ID), err)
	}
	for _, a := range stored {
		v.Accounts = append(v.Accounts, vault.Account(a))
	}
	if issued != nil { // the five columns of the code are NULL together, when there is none
		v.Activation = &vault.Activation{
			Hash:      nilIfEmpty(hash),
			Salt:      nilIfEmpty(salt),
			IssuedAt:  issued.UTC(),
			ExpiresAt: expires.UTC(),
			Attempts:  int(*attempts),
		}
	}
	return &v, nil
}

// nilIfEmpty returns b, or nil when b is empty: pgx reads an empty bytea
// as an empty, non-nil slice.
func nilIfEmpty(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// eventRecord is an event as the columns of the events table hold it.
type eventRecord struct {
	vaultID                     string
	version                     int64
	action                      string
	trigger, from, to, reason   int16
	description, account, actor string
	time                        time.Time
}

// newEventRecord converts e. A version beyond what bigint holds is
// ErrInvalidArgument.
func newEventRecord(e vault.Event) (eventRecord, error) {
	if e.Version > math.MaxInt64 {
		return eventRecord{}, fmt.Errorf("event for vault %s has version %d, beyond what the store keeps: %w",
			quote(e.VaultID), e.Version, vault.ErrInvalidArgument)
	}
	return eventRecord{
		vaultID: e.VaultID, version: int64(e.Version), action: string(e.Action),
		trigger: int16(e.Trigger), from: int16(e.From), to: int16(e.To), reason: int16(e.Reason),
		description: e.Description, account: e.Account, actor: e.Actor, time: e.Time,
	}, nil
}

// args returns the record's values in the order of eventColumns: one
// event's parameters of updateVault.
func (r eventRecord) args() []any {
	return []any{r.vaultID, r.version, r.action, r.trigger, r.from, r.to, r.reason,
		r.description, r.account, r.actor, r.time}
}

// eventBatch holds events column by column: the arrays insertEvents turns
// back into rows with unnest, so that any number of events is eleven
// parameters and one statement.
type eventBatch struct {
	vaultIDs     []string
	versions     []int64
	actions      []string
	triggers     []int16
	froms, tos   []int16
	reasons      []int16
	descriptions []string
	accounts     []string
	actors       []string
	times        []time.Time
}

// newEventBatch returns events as columns.
func newEventBatch(events []vault.Event) (*eventBatch, error) {
	b := new(eventBatch)
	for _, e := range events {
		r, err := newEventRecord(e)
		if err != nil {
			return nil, err
		}
		b.vaultIDs, b.versions, b.actions = append(b.vaultIDs, r.vaultID), append(b.versions, r.version), append(b.actions, r.action)
		b.triggers, b.froms, b.tos = append(b.triggers, r.trigger), append(b.froms, r.from), append(b.tos, r.to)
		b.reasons, b.descriptions = append(b.reasons, r.reason), append(b.descriptions, r.description)
		b.accounts, b.actors, b.times = append(b.accounts, r.account), append(b.actors, r.actor), append(b.times, r.time)
	}
	return b, nil
}

// args returns the arrays in the order of eventColumns: the parameters
// of insertEvents.
func (b *eventBatch) args() []any {
	return []any{b.vaultIDs, b.versions, b.actions, b.triggers, b.froms, b.tos,
		b.reasons, b.descriptions, b.accounts, b.actors, b.times}
}

// scanEvent reads one row of the history query: an event, or the row of
// NULLs that stands for a vault without events, for which ok is false.
// The columns are NOT NULL in the table, so one is NULL when all are.
func scanEvent(row pgx.Row) (e vault.Event, ok bool, err error) {
	var (
		vaultID, action, description, account, actor *string
		version                                      *int64
		trigger, from, to, reason                    *int16
		at                                           *time.Time
	)
	err = row.Scan(&vaultID, &version, &action, &trigger, &from, &to, &reason,
		&description, &account, &actor, &at)
	if err != nil || version == nil {
		return vault.Event{}, false, err
	}
	return vault.Event{
		VaultID: *vaultID, Version: uint64(*version), Action: vault.Action(*action),
		Trigger: status.Trigger(*trigger), From: status.Status(*from), To: status.Status(*to), Reason: status.Reason(*reason),
		Description: *description, Account: *account, Actor: *actor, Time: at.UTC(),
	}, true, nil
}
