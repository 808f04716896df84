package status_test

import (
	"errors"
	"fmt"

	"github.com/hwvault/hwvault/status"
)

// What may the admin do with a key now? Permitted answers from the same
// graph the SDK enforces.
func Example() {
	for _, s := range status.Statuses() {
		fmt.Printf("%-11v %v\n", s, status.Permitted(s))
	}
	// Output:
	// Ready       [Assign Compromise]
	// Reserved    [Unassign Activate Lock Withdraw Compromise]
	// Active      [Lock Suspend Withdraw Compromise]
	// Locked      [Reactivate Withdraw Compromise]
	// Suspended   [Activate Lock Withdraw Compromise]
	// Deactivated [Wipe Compromise]
	// Compromised []
}

func ExampleNext() {
	to, err := status.Next(status.Locked, status.Reactivate)
	fmt.Println(to, err)

	_, err = status.Next(status.Compromised, status.Wipe)
	var refused *status.TransitionError
	fmt.Println(errors.Is(err, status.ErrNotPermitted), errors.As(err, &refused), refused.From)
	fmt.Println(err)
	// Output:
	// Suspended <nil>
	// true true Compromised
	// status: Compromised is terminal: Wipe is not permitted
}

func ExampleCheckReason() {
	fmt.Println(status.ReasonsFor(status.Locked))
	fmt.Println(status.CheckReason(status.Locked, status.LockedByInvalidPin))
	fmt.Println(status.CheckReason(status.Locked, status.Stolen))
	// Output:
	// [InvalidActivationCode LockedByInvalidPin]
	// <nil>
	// status: invalid reason Stolen for Locked (want one of [InvalidActivationCode LockedByInvalidPin])
}

func ExampleAllows() {
	fmt.Println(status.Allows(status.Reserved, status.AddAccount))
	fmt.Println(status.Allows(status.Reserved, status.Use))
	// Output:
	// true
	// false
}
