// Package vault is the hardware vault: its data ([Vault], [Account],
// [Activation], [Event]), the [Store] interface that keeps it, and the
// [Service] that applies every lifecycle command to it safely.
//
// # Commands
//
// A [Service] wraps a [Store] (store.NewMemory for a single process, or a
// database adapter) and offers one method per lifecycle command: Import,
// Assign, Unassign, Activate, Lock, Reactivate, Suspend, ReissueCode,
// Withdraw, Wipe and Compromise, plus AddAccount, UpdateAccount and
// DeleteAccount. Which command a vault accepts is decided by the graph in
// package status; nothing here re-encodes it.
//
// Every command validates its arguments before it reads the store, then
// checks that the vault exists, that its status permits the command, that
// named accounts exist (or do not), and finally asks the host's guards
// ([WithGuard]). The first failing check decides the error. A refused
// command changes nothing, with one deliberate exception: a wrong
// activation code is counted.
//
// # Errors
//
// Every error is an [*Error] naming the command and the vault and wrapping
// one sentinel: [ErrNotFound], [ErrExists], [ErrConflict],
// [ErrInvalidCode], [ErrCodeExpired], [ErrConfirmation], [ErrNotAllowed],
// [ErrInvalidArgument], [ErrRejected] — or, for a transition the
// lifecycle refuses, a *status.TransitionError matching
// status.ErrNotPermitted. Match them with errors.Is and errors.As. An
// error wrapping [ErrRejected] also wraps the guard's own error, which may
// wrap anything: test for ErrRejected first.
//
// # Activation codes
//
// Assign, Reactivate, Suspend and ReissueCode return a fresh decimal code
// once. It is drawn from crypto/rand by rejection sampling (no modulo
// bias), stored only as a salted SHA-256 hash (HMAC-SHA-256 under a
// secret kept outside the store with [WithCodeKey]), compared in constant
// time, and never appears in events, errors, or the fmt output of any
// type here. A code expires after [CodePolicy].TTL; the MaxAttempts-th
// wrong code locks the vault with reason InvalidActivationCode.
//
// # Audit and concurrency
//
// Every stored change appends exactly one [Event] naming its actor
// ([WithActor]), so a vault's history is versions 1..n without gaps.
// Writes are compare-and-swap on the vault's version; a command that loses
// a race re-reads the vault and validates again, so two admins acting at
// once never overwrite each other: the loser is judged by the winner's
// result.
package vault
