// Package store holds ready-made implementations of [vault.Store].
//
// [Memory] is the in-process store and the embedded default: everything
// lives in maps guarded by one lock, deep-copied in and out, and is gone
// when the process exits. It suits tests, tools, single-process services
// and policy experiments:
//
//	svc := vault.NewService(store.NewMemory())
//
// Memory answers List from ordered secondary indexes — every vault, the
// vaults of each status and the vaults of each owner — so a page of
// Locked vaults, or of one user's vaults, costs the page and not the
// fleet. Each index is an ordered set of IDs kept in sorted chunks of
// about a hundred, so keeping it current on every status or owner change
// moves a chunk, never the whole index.
//
// Database adapters live in nested modules under this directory (for
// example store/postgres), each with its own go.mod, so that importing
// this package never pulls in a database driver. Every implementation,
// Memory included, runs the conformance suite in package storetest in
// its own tests.
package store
