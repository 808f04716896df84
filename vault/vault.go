package vault

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hwvault/hwvault/status"
)

// Vault is one hardware security key as the SDK stores it.
type Vault struct {
	ID          string            // serial number; unique; 1–64 bytes of [A-Za-z0-9._:-]
	Labels      map[string]string // host attributes (model, MAC, RFID...), optional
	Status      status.Status
	Reason      status.Reason
	Description string      // admin note for the current status
	Owner       string      // user the key is issued to; "" when none
	Accounts    []Account   // accounts stored on (or pending for) the key
	Activation  *Activation // pending activation code, nil when none
	Version     uint64      // 1 after import, +1 on every stored change
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Clone returns a deep copy of v: labels, accounts and activation are not
// shared with v. Clone of nil is nil. Stores use it so that they never
// share memory with their callers.
func (v *Vault) Clone() *Vault {
	if v == nil {
		return nil
	}
	c := *v
	c.Labels = maps.Clone(v.Labels)
	c.Accounts = slices.Clone(v.Accounts)
	c.Activation = v.Activation.Clone()
	return &c
}

// Account is a credential kept on the key.
type Account struct {
	ID      string // unique within the vault; 1–64 bytes of [A-Za-z0-9._:-]
	Name    string // display name; 1–256 bytes
	Login   string // 0–256 bytes
	Pending bool   // added while Reserved: reaches the key when it becomes Active
}

// Activation is a pending activation code. It holds only a salted hash
// of the code, never the code itself. Even the hash is kept out of sight:
// a short decimal code can be recovered from its hash by trying every
// code, so String and Format redact it and JSON leaves Hash and Salt out.
// A store that keeps vaults as JSON documents must encode those two
// itself (storetest.Run fails a store that loses them).
type Activation struct {
	Hash      []byte    `json:"-"` // SHA-256 of Salt and the code, keyed (HMAC) when the Service has a code key
	Salt      []byte    `json:"-"` // random, per code
	IssuedAt  time.Time // when the code was issued
	ExpiresAt time.Time // the code is valid while now < ExpiresAt
	Attempts  int       // wrong codes counted so far
}

// Clone returns a deep copy of a; Clone of nil is nil.
func (a *Activation) Clone() *Activation {
	if a == nil {
		return nil
	}
	// Stores clone on every read and write: put the copy and its bytes in
	// one allocation when they fit, as a code's salt and hash do.
	var c *Activation
	var buf []byte
	if n := len(a.Hash) + len(a.Salt); n <= activationBytes {
		ab := &activationWithBytes{a: *a}
		c, buf = &ab.a, ab.buf[:n]
	} else {
		c, buf = new(Activation), make([]byte, n)
		*c = *a
	}
	if a.Hash != nil {
		c.Hash = buf[:len(a.Hash):len(a.Hash)]
		copy(c.Hash, a.Hash)
	}
	if a.Salt != nil {
		c.Salt = buf[len(a.Hash) : len(a.Hash)+len(a.Salt)]
		copy(c.Salt, a.Salt)
	}
	return c
}

// activationBytes is room for a salt and a SHA-256 hash.
const activationBytes = 16 + 32

type activationWithBytes struct {
	a   Activation
	buf [activationBytes]byte
}

// String describes the activation without its hash or salt.
func (a Activation) String() string {
	return fmt.Sprintf("Activation{IssuedAt: %v, ExpiresAt: %v, Attempts: %d, Hash: [redacted]}",
		a.IssuedAt.Format(time.RFC3339), a.ExpiresAt.Format(time.RFC3339), a.Attempts)
}

// Format implements [fmt.Formatter] so that every verb, %#v included,
// prints the redacted String.
func (a Activation) Format(f fmt.State, _ rune) { fmt.Fprint(f, a.String()) }

// GoString implements [fmt.GoStringer] with the redacted String.
func (a Activation) GoString() string { return a.String() }

// Action says what a stored change did.
type Action string

// The actions an [Event] records.
const (
	ActionImport         Action = "import"          // the vault was created, Ready
	ActionTransition     Action = "transition"      // the status changed; Trigger, From and To say how
	ActionCodeIssued     Action = "code issued"     // a new activation code replaced the pending one (ReissueCode)
	ActionCodeRejected   Action = "code rejected"   // a wrong activation code was counted
	ActionAccountAdded   Action = "account added"   // AddAccount
	ActionAccountUpdated Action = "account updated" // UpdateAccount
	ActionAccountDeleted Action = "account deleted" // DeleteAccount
)

// Event is the audit record of one stored change. It never holds an
// activation code or its hash.
type Event struct {
	VaultID     string
	Version     uint64         // the vault version this change produced
	Action      Action         // what the change did
	Trigger     status.Trigger // zero for changes that are not transitions
	From, To    status.Status  // equal for changes that are not transitions
	Reason      status.Reason  // the vault's reason after the change
	Description string         // the vault's description after the change
	Account     string         // the account ID an account change concerned; "" otherwise
	Actor       string         // who did it, from [WithActor]; "" when unknown
	Time        time.Time
}

// NewVault is what [Service.Import] needs to create a vault.
type NewVault struct {
	ID     string
	Labels map[string]string
}

// Filter selects vaults for [Store.List]. Zero fields select everything.
type Filter struct {
	Status status.Status // only vaults in this status; 0 for any
	Owner  string        // only vaults issued to this owner; "" for any
	After  string        // cursor: only IDs greater than this; "" from the start
	Limit  int           // page size; 0 means DefaultLimit, above MaxLimit is clamped, negative is an error
}

// Page sizes for [Filter.Limit].
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// Validate reports a filter a store must refuse, with an error wrapping
// [ErrInvalidArgument]: an invalid status, a malformed owner or cursor, a
// negative limit.
func (f Filter) Validate() error {
	if f.Status != 0 && !f.Status.IsValid() {
		return fmt.Errorf("filter status %v is not a status: %w", f.Status, ErrInvalidArgument)
	}
	if f.Owner != "" {
		if err := checkText("filter owner", f.Owner, 1, maxOwner, false); err != nil {
			return err
		}
	}
	if f.After != "" {
		if err := checkID("filter cursor", f.After); err != nil {
			return err
		}
	}
	if f.Limit < 0 {
		return fmt.Errorf("filter limit %d is negative: %w", f.Limit, ErrInvalidArgument)
	}
	return nil
}

// PageSize returns the number of vaults a page holds for f.Limit:
// DefaultLimit for 0, at most MaxLimit.
func (f Filter) PageSize() int {
	switch {
	case f.Limit <= 0:
		return DefaultLimit
	case f.Limit > MaxLimit:
		return MaxLimit
	}
	return f.Limit
}

// Matches reports whether v passes the filter's status and owner; it
// ignores the cursor and the limit.
func (f Filter) Matches(v *Vault) bool {
	return (f.Status == 0 || v.Status == f.Status) && (f.Owner == "" || v.Owner == f.Owner)
}

// Page is one page of [Store.List] results, ordered by ID.
type Page struct {
	Vaults []*Vault
	Next   string // cursor for the following page (Filter.After); "" at the end
}
