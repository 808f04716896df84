package status

import "testing"

// Every benchmark here walks the same 64 (status, trigger) pairs — all 63
// in-range pairs, permitted and refused alike, plus one repeat — so that
// the ratios against the floor compare like with like.
//
//	go test ./status -run '^$' -bench . -benchmem
type pair struct {
	from Status
	t    Trigger
}

var benchPairs = func() (ps [64]pair) {
	i := 0
	for _, from := range Statuses() {
		for _, t := range Triggers() {
			ps[i] = pair{from, t}
			i++
		}
	}
	ps[63] = ps[0]
	return ps
}()

var (
	sinkStatus Status
	sinkBool   bool
	sinkErr    error
	sinkLen    int
)

// BenchmarkFloorArrayLookup is the floor: a bare lookup in a table of the
// same shape, with no validation and no error.
func BenchmarkFloorArrayLookup(b *testing.B) {
	var table [numStatuses][numTriggers]Status
	for _, e := range Transitions() {
		table[e.From][e.Trigger] = e.To
	}
	var s Status
	for i := 0; b.Loop(); i++ {
		p := benchPairs[i&63]
		s += table[p.from][p.t]
	}
	sinkStatus = s
}

func BenchmarkNext(b *testing.B) {
	var s Status
	var err error
	for i := 0; b.Loop(); i++ {
		p := benchPairs[i&63]
		var to Status
		to, err = Next(p.from, p.t)
		s += to
	}
	sinkStatus, sinkErr = s, err
}

func BenchmarkCan(b *testing.B) {
	n := false
	for i := 0; b.Loop(); i++ {
		p := benchPairs[i&63]
		n = n != Can(p.from, p.t)
	}
	sinkBool = n
}

func BenchmarkPermitted(b *testing.B) {
	n := 0
	for i := 0; b.Loop(); i++ {
		n += len(Permitted(benchPairs[i&63].from))
	}
	sinkLen = n
}

// BenchmarkStatelessShared is for comparison, not a floor: what Next
// would cost if it fired a shared stateless machine with externally
// stored state on every call, as the definition is compiled at start-up.
func BenchmarkStatelessShared(b *testing.B) {
	var current Status
	sm := externalMachine(&current)
	define(sm)
	for i := 0; b.Loop(); i++ {
		p := benchPairs[i&63]
		current = p.from
		sinkErr = sm.Fire(p.t)
	}
}
