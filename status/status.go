package status

import (
	"encoding/json"
	"errors"
	"fmt"
)

// Sentinel errors. Errors returned by this package wrap exactly one of them.
var (
	// ErrUnknown reports a name or value that is not a status, reason,
	// trigger or operation.
	ErrUnknown = errors.New("status: unknown")
	// ErrNotPermitted reports a trigger the lifecycle does not permit from
	// the current status. See [TransitionError].
	ErrNotPermitted = errors.New("status: transition not permitted")
	// ErrInvalidReason reports a reason that a status does not carry.
	ErrInvalidReason = errors.New("status: invalid reason")
)

// Status is where a hardware vault is in its lifecycle.
// The zero value is not a valid status.
type Status uint8

// The seven statuses, in lifecycle order.
const (
	Ready       Status = iota + 1 // clear of any data, not tied to a user
	Reserved                      // issued to a user, pending activation
	Active                        // tied to the user, works normally
	Locked                        // locked at hardware level after wrong input
	Suspended                     // frozen by an admin, or waiting for an activation code
	Deactivated                   // taken from the user, data not erased yet, or broken
	Compromised                   // lost or stolen: data cleared, links deleted; terminal
)

const numStatuses = int(Compromised) + 1 // table size, index 0 unused

var statusNames = [numStatuses]string{"", "Ready", "Reserved", "Active", "Locked", "Suspended", "Deactivated", "Compromised"}

// Statuses returns the seven statuses in lifecycle order, Ready first.
// The caller owns the returned slice.
func Statuses() []Status {
	return []Status{Ready, Reserved, Active, Locked, Suspended, Deactivated, Compromised}
}

// ParseStatus returns the status with the canonical name s ("Ready",
// "Reserved", ...), ignoring ASCII case. Any other input, including the
// empty string and names surrounded by space, is an error wrapping
// [ErrUnknown].
func ParseStatus(s string) (Status, error) {
	return parse[Status]("status", statusNames[:], 1, s)
}

// String returns the canonical name, or "Status(n)" for an invalid value.
func (s Status) String() string { return name("Status", statusNames[:], 1, s) }

// IsValid reports whether s is one of the seven statuses.
func (s Status) IsValid() bool { return s >= Ready && s <= Compromised }

// IsTerminal reports whether nothing may leave s. Only Compromised is terminal.
func (s Status) IsTerminal() bool { return s == Compromised }

// MarshalText implements [encoding.TextMarshaler]. An invalid status is an
// error wrapping [ErrUnknown].
func (s Status) MarshalText() ([]byte, error) { return marshal("status", s.IsValid(), s) }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseStatus].
func (s *Status) UnmarshalText(b []byte) error { return unmarshal(s, ParseStatus, b) }

// UnmarshalJSON accepts only a JSON string holding a canonical name;
// null, numbers and other values are errors wrapping [ErrUnknown].
func (s *Status) UnmarshalJSON(b []byte) error { return unmarshalJSON(s, ParseStatus, "status", b) }

// Reason says why a vault is in its status. Only Locked, Deactivated and
// Compromised carry one; every other status carries None, the zero value.
type Reason uint8

// The reasons.
const (
	None                  Reason = iota // the status carries no reason
	InvalidActivationCode               // Locked: wrong activation code entered too often
	LockedByInvalidPin                  // Locked: wrong PIN entered on the device
	Withdrawal                          // Deactivated: withdrawn from the user
	Broken                              // Deactivated: returned because it is broken
	Lost                                // Compromised: the key was lost
	Stolen                              // Compromised: the key was stolen
)

const numReasons = int(Stolen) + 1

var reasonNames = [numReasons]string{"None", "InvalidActivationCode", "LockedByInvalidPin", "Withdrawal", "Broken", "Lost", "Stolen"}

// Reasons returns every reason, None first. The caller owns the returned slice.
func Reasons() []Reason {
	return []Reason{None, InvalidActivationCode, LockedByInvalidPin, Withdrawal, Broken, Lost, Stolen}
}

// ParseReason returns the reason with the canonical name s ("None",
// "Lost", ...), ignoring ASCII case; anything else wraps [ErrUnknown].
func ParseReason(s string) (Reason, error) {
	return parse[Reason]("reason", reasonNames[:], 0, s)
}

// String returns the canonical name, or "Reason(n)" for an invalid value.
func (r Reason) String() string { return name("Reason", reasonNames[:], 0, r) }

// IsValid reports whether r is one of the defined reasons (None included).
func (r Reason) IsValid() bool { return r <= Stolen }

// MarshalText implements [encoding.TextMarshaler]. An invalid reason is an
// error wrapping [ErrUnknown].
func (r Reason) MarshalText() ([]byte, error) { return marshal("reason", r.IsValid(), r) }

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseReason].
func (r *Reason) UnmarshalText(b []byte) error { return unmarshal(r, ParseReason, b) }

// UnmarshalJSON accepts only a JSON string holding a canonical name;
// null, numbers and other values are errors wrapping [ErrUnknown].
func (r *Reason) UnmarshalJSON(b []byte) error { return unmarshalJSON(r, ParseReason, "reason", b) }

// reasonsFor lists the reasons each status may carry.
var reasonsFor = [numStatuses][]Reason{
	Ready:       {None},
	Reserved:    {None},
	Active:      {None},
	Locked:      {InvalidActivationCode, LockedByInvalidPin},
	Suspended:   {None},
	Deactivated: {Withdrawal, Broken},
	Compromised: {Lost, Stolen},
}

// ReasonsFor returns the reasons a vault in status s may carry: [None]
// for statuses without reasons, nil for an invalid status. A status that
// carries reasons requires one of them; None is not among them.
// The caller owns the returned slice.
func ReasonsFor(s Status) []Reason {
	if !s.IsValid() {
		return nil
	}
	return append([]Reason(nil), reasonsFor[s]...)
}

// CheckReason returns nil when a vault in status s may carry reason r, and
// otherwise an error wrapping [ErrInvalidReason] that names both and the
// reasons s accepts.
func CheckReason(s Status, r Reason) error {
	if !s.IsValid() {
		return fmt.Errorf("%w %v for %v, which is not a status", ErrInvalidReason, r, s)
	}
	for _, ok := range reasonsFor[s] {
		if r == ok {
			return nil
		}
	}
	return fmt.Errorf("%w %v for %v (want one of %v)", ErrInvalidReason, r, s, reasonsFor[s])
}

// Trigger is a command or event that moves a vault from one status to
// another. The zero value is not a valid trigger.
type Trigger uint8

// The triggers.
const (
	Assign     Trigger = iota + 1 // Ready -> Reserved: issue the key to a user
	Unassign                      // Reserved -> Ready: cancel the issue before activation
	Activate                      // Reserved, Suspended -> Active: the user entered the activation code
	Lock                          // Reserved, Active, Suspended -> Locked: wrong PIN or activation code
	Reactivate                    // Locked -> Suspended: the admin's "Activate device" command
	Suspend                       // Active -> Suspended: the admin freezes the key
	Withdraw                      // Reserved, Active, Locked, Suspended -> Deactivated
	Wipe                          // Deactivated -> Ready: the cleaning procedure
	Compromise                    // any but Compromised -> Compromised: lost or stolen
)

const numTriggers = int(Compromise) + 1

var triggerNames = [numTriggers]string{"", "Assign", "Unassign", "Activate", "Lock", "Reactivate", "Suspend", "Withdraw", "Wipe", "Compromise"}

// Triggers returns every trigger in declaration order. The caller owns the
// returned slice.
func Triggers() []Trigger {
	return []Trigger{Assign, Unassign, Activate, Lock, Reactivate, Suspend, Withdraw, Wipe, Compromise}
}

// ParseTrigger returns the trigger with the canonical name s ("Assign",
// ...), ignoring ASCII case; anything else wraps [ErrUnknown].
func ParseTrigger(s string) (Trigger, error) {
	return parse[Trigger]("trigger", triggerNames[:], 1, s)
}

// String returns the canonical name, or "Trigger(n)" for an invalid value.
func (t Trigger) String() string { return name("Trigger", triggerNames[:], 1, t) }

// IsValid reports whether t is one of the defined triggers.
func (t Trigger) IsValid() bool { return t >= Assign && t <= Compromise }

// MarshalText implements [encoding.TextMarshaler]. The zero Trigger,
// which records of changes that are not transitions carry, marshals as
// the empty string; any other invalid trigger is an error wrapping
// [ErrUnknown].
func (t Trigger) MarshalText() ([]byte, error) {
	if t == 0 {
		return []byte{}, nil
	}
	return marshal("trigger", t.IsValid(), t)
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseTrigger],
// except that the empty string is the zero Trigger, as MarshalText writes
// it. ParseTrigger itself refuses the empty string.
func (t *Trigger) UnmarshalText(b []byte) error { return unmarshal(t, parseTriggerText, b) }

// UnmarshalJSON accepts only a JSON string holding a canonical name or,
// for the zero Trigger, the empty string; null, numbers and other values
// are errors wrapping [ErrUnknown].
func (t *Trigger) UnmarshalJSON(b []byte) error {
	return unmarshalJSON(t, parseTriggerText, "trigger", b)
}

func parseTriggerText(s string) (Trigger, error) {
	if s == "" {
		return 0, nil
	}
	return ParseTrigger(s)
}

// Operation is something done with a vault that does not change its status.
type Operation uint8

// The operations.
const (
	AddAccount    Operation = iota + 1 // store a new account; allowed while Reserved (kept pending) and Active
	EditAccount                        // change an account on the key; Active only
	DeleteAccount                      // remove an account from the key; Active only
	Use                                // authenticate with the key; Active only
)

const numOperations = int(Use) + 1

var operationNames = [numOperations]string{"", "AddAccount", "EditAccount", "DeleteAccount", "Use"}

// Operations returns every operation in declaration order. The caller owns
// the returned slice.
func Operations() []Operation { return []Operation{AddAccount, EditAccount, DeleteAccount, Use} }

// String returns the canonical name, or "Operation(n)" for an invalid value.
func (op Operation) String() string { return name("Operation", operationNames[:], 1, op) }

// allows[s] is the set of operations status s allows, as a bit set indexed by Operation.
var allows = [numStatuses]uint8{
	Reserved: 1 << AddAccount,
	Active:   1<<AddAccount | 1<<EditAccount | 1<<DeleteAccount | 1<<Use,
}

// Allows reports whether a vault in status s may perform op. Accounts may
// be added while Reserved (they reach the key on activation) and Active;
// everything else needs Active. Invalid statuses and operations allow
// nothing.
func Allows(s Status, op Operation) bool {
	if int(s) >= numStatuses || int(op) >= numOperations {
		return false
	}
	return allows[s]&(1<<op) != 0
}

// name returns names[v], or "Kind(v)" when v is out of range or below first.
func name[T ~uint8](kind string, names []string, first T, v T) string {
	if v >= first && int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", kind, uint8(v))
}

// maxQuoted bounds how much of a rejected input an error message repeats.
const maxQuoted = 64

// parse finds s among names[first:], ignoring ASCII case only: Unicode case
// folding would accept look-alikes such as the Kelvin sign for "k".
func parse[T ~uint8](kind string, names []string, first T, s string) (T, error) {
	for i := int(first); i < len(names); i++ {
		if asciiEqualFold(s, names[i]) {
			return T(i), nil
		}
	}
	if len(s) > maxQuoted {
		s = s[:maxQuoted] + "..."
	}
	return 0, fmt.Errorf("%w %s %q (want one of %v)", ErrUnknown, kind, s, names[first:])
}

func asciiEqualFold(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

func marshal(kind string, valid bool, v fmt.Stringer) ([]byte, error) {
	if !valid {
		return nil, fmt.Errorf("%w %s %v: cannot marshal it", ErrUnknown, kind, v)
	}
	return []byte(v.String()), nil
}

func unmarshal[T ~uint8](dst *T, parse func(string) (T, error), b []byte) error {
	v, err := parse(string(b))
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

func unmarshalJSON[T ~uint8](dst *T, parse func(string) (T, error), kind string, b []byte) error {
	// Only a JSON string may hold a name: null, numbers, booleans, arrays
	// and objects are refused rather than silently leaving *dst unchanged.
	var s string
	if len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &s) != nil {
		if len(b) > maxQuoted {
			b = append(b[:maxQuoted:maxQuoted], "..."...)
		}
		return fmt.Errorf("%w %s %s: want a JSON string", ErrUnknown, kind, b)
	}
	v, err := parse(s)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}
