// Package status is the pure domain model of a hardware vault's lifecycle:
// the seven statuses a key can be in, the reasons some of them carry, the
// triggers that move a key between them and the operations each status
// allows.
//
// A key is imported Ready: clean and tied to nobody. Assign issues it to a
// user as Reserved; the user's activation code makes it Active. A device
// that sees a wrong PIN or wrong activation codes reports it Locked (with
// reason LockedByInvalidPin or InvalidActivationCode); the admin's
// "Activate device" command (Reactivate) moves a Locked key to Suspended
// with a fresh code, and the code brings it back to Active. An admin may
// also Suspend an Active key, for example while its holder is on vacation.
// Withdraw takes a key away from its user into Deactivated (reason
// Withdrawal or Broken) and Wipe cleans it back to Ready. Compromise
// (reason Lost or Stolen) is the one-way exit: a Compromised key is
// terminal and nothing leaves it.
//
// The transition graph is written exactly once, with
// github.com/qmuntal/stateless, in graph.go. Everything else in this
// package — [Next], [Can], [Permitted], [Transitions], [Trigger.Destination],
// [DOT] and [Mermaid] — is derived from that definition when the package is
// initialised and compiled into fixed-size tables, so the hot path answers
// in a few nanoseconds without building a machine or allocating.
//
// Refusals are typed: [Next] returns a [*TransitionError] for which
// errors.Is(err, [ErrNotPermitted]) holds. Parsing unknown names returns an
// error wrapping [ErrUnknown]; a reason that a status does not carry is
// reported by [CheckReason] with an error wrapping [ErrInvalidReason].
//
// Status, Reason and Trigger marshal to and from their canonical names
// ("Ready", "LockedByInvalidPin", "Assign", ...) as text and JSON; parsing
// is ASCII case-insensitive and accepts nothing else.
package status
