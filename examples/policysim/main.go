// Policysim tries lifecycle policies on a simulated fleet of hardware keys
// and prints where the fleet ends up under each, side by side. Every
// policy faces the same seeded stream of events (typos in activation
// codes, PIN locks, vacations, breakages, losses), so differences come
// from the policy alone.
//
//	go run ./examples/policysim -keys 300 -days 365 -seed 1
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hwvault/hwvault/status"
	"github.com/hwvault/hwvault/vault"
)

// Policies are the experiments: edit them, or add your own.
var Policies = []Policy{
	{Name: "default", Codes: vault.CodePolicy{MaxAttempts: 3, TTL: 72 * time.Hour}, WipeBroken: true},
	{Name: "5 tries", Codes: vault.CodePolicy{MaxAttempts: 5, TTL: 72 * time.Hour}, WipeBroken: true},
	{Name: "2-week codes", Codes: vault.CodePolicy{MaxAttempts: 3, TTL: 14 * 24 * time.Hour}, WipeBroken: true},
	{Name: "no broken reuse", Codes: vault.CodePolicy{MaxAttempts: 3, TTL: 72 * time.Hour}, WipeBroken: false},
}

func main() {
	f := DefaultFleet
	flag.IntVar(&f.Keys, "keys", f.Keys, "keys in the fleet")
	flag.IntVar(&f.Days, "days", f.Days, "days to simulate")
	flag.Uint64Var(&f.Seed, "seed", f.Seed, "seed of the event stream")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, f, Policies); err != nil {
		fmt.Fprintln(os.Stderr, "policysim:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, f Fleet, policies []Policy) error {
	if f.Keys < 1 || f.Days < 1 {
		return fmt.Errorf("need at least one key and one day, got %d keys, %d days", f.Keys, f.Days)
	}
	results := make([]Result, len(policies))
	for i, p := range policies {
		r, err := Simulate(ctx, f, p)
		if err != nil {
			return fmt.Errorf("policy %q: %w", p.Name, err)
		}
		results[i] = r
	}
	fmt.Fprintf(w, "%d keys, %d days, seed %d\n\n", f.Keys, f.Days, f.Seed)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(label string, cell func(Result) int) {
		fmt.Fprint(tw, label, "\t")
		for _, r := range results {
			fmt.Fprint(tw, cell(r), "\t")
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprint(tw, "\t")
	for _, r := range results {
		fmt.Fprint(tw, r.Policy, "\t")
	}
	fmt.Fprintln(tw)
	for _, s := range status.Statuses() {
		row(s.String(), func(r Result) int { return r.ByStatus[s] })
	}
	row("code lockouts", func(r Result) int { return r.CodeLocks })
	row("PIN locks", func(r Result) int { return r.PINLocks })
	row("codes reissued", func(r Result) int { return r.Reissued })
	row("lost to pool", func(r Result) int { return r.LostToPool })
	row("audit events", func(r Result) int { return r.Events })
	return tw.Flush()
}
