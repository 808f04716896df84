package vault

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error the Service returns is an [*Error]; every
// refusal wraps one of these (or an error from package status), so
// callers match with errors.Is. Failures that are not refusals — a store's
// own I/O error, a broken random source, a cancelled context — wrap what
// caused them instead.
var (
	// ErrNotFound: no vault (or account) with that ID.
	ErrNotFound = errors.New("not found")
	// ErrExists: a vault (or account) with that ID exists already.
	ErrExists = errors.New("already exists")
	// ErrConflict: the vault changed concurrently and the change was not
	// applied; the Service retries before returning it.
	ErrConflict = errors.New("concurrent update conflict")
	// ErrInvalidCode: the activation code is wrong; the attempt was counted.
	ErrInvalidCode = errors.New("invalid activation code")
	// ErrCodeExpired: the activation code expired; the attempt was not counted.
	ErrCodeExpired = errors.New("activation code expired")
	// ErrConfirmation: Compromise's confirmation is not the vault ID.
	ErrConfirmation = errors.New("confirmation does not match the vault ID")
	// ErrNotAllowed: the vault's status does not allow the operation.
	ErrNotAllowed = errors.New("operation not allowed in this status")
	// ErrInvalidArgument: malformed input (ID, owner, reason, code, description, filter...).
	ErrInvalidArgument = errors.New("invalid argument")
	// ErrRejected: a Guard vetoed the change; the guard's error is wrapped too.
	ErrRejected = errors.New("rejected by guard")
)

// Error is the error the Service returns: the command, the vault it
// concerned and the cause, which wraps a sentinel.
type Error struct {
	Op  string // the command, such as "Assign"
	ID  string // the vault ID as given (quoted in the message)
	Err error  // the cause
}

// Error reads `vault: Assign "KEY-1": ...`, or `vault: List: ...` when
// the command concerned no vault in particular.
func (e *Error) Error() string {
	if e.ID == "" {
		return fmt.Sprintf("vault: %s: %v", e.Op, e.Err)
	}
	return fmt.Sprintf("vault: %s %s: %v", e.Op, quoteID(e.ID), e.Err)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// quoteID quotes an ID for a message, bounding what a hostile one can add.
func quoteID(id string) string {
	if len(id) > 2*maxID {
		id = id[:2*maxID] + "..."
	}
	return fmt.Sprintf("%q", id)
}
