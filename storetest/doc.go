// Package storetest is the conformance suite for [vault.Store]
// implementations. A store that passes [Run] is safe to put behind the
// lifecycle Service: no lost update when two admins act at once, no
// partial import, no history that disagrees with the state, no memory
// shared between callers, and listing that neither repeats nor skips a
// vault from one page to the next.
//
// Every implementation runs the suite in its own tests, store.Memory
// first among them:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) vault.Store {
//			return mystore.New(...) // a fresh, empty store
//		})
//	}
//
// Run reports each behaviour as its own subtest with a stable CamelCase
// name (CreateIsAtomic, UpdateStaleVersion, ListFilterStatus, ...), so a
// host can select or investigate one with go test -run, and every failure
// message says which part of the contract the store broke. Nothing in the
// contract is optional, so the suite has no switches.
//
// The suite depends only on the standard library, github.com/google/go-cmp
// and this module's own packages, so importing it into a host's tests
// adds nothing else.
package storetest
