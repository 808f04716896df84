package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkSet fails the test unless s keeps its invariants and holds exactly
// the IDs of want, which must be sorted.
func checkSet(t *testing.T, s *idSet, want []string) {
	t.Helper()
	total := 0
	for i, c := range s.chunks {
		if len(c) == 0 || len(c) > chunkMax {
			t.Fatalf("chunk %d holds %d IDs; a chunk holds 1..%d", i, len(c), chunkMax)
		}
		if !slices.IsSorted(c) {
			t.Fatalf("chunk %d is not sorted: %q", i, c)
		}
		if i > 0 {
			if prev := s.chunks[i-1]; prev[len(prev)-1] >= c[0] {
				t.Fatalf("chunk %d starts with %q, not after chunk %d's last ID %q", i, c[0], i-1, prev[len(prev)-1])
			}
		}
		total += len(c)
	}
	if total != s.Len() {
		t.Fatalf("Len() = %d, but the chunks hold %d IDs", s.Len(), total)
	}
	checkCompact(t, s)
	if got := slices.Collect(s.After("")); !slices.Equal(got, want) {
		t.Fatalf("After(\"\") yields %d IDs, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

// checkCompact fails the test unless every chunk of s but the last holds
// at least minChunk IDs, and s has no more chunks than that allows:
// ceil(n/minChunk).
func checkCompact(t *testing.T, s *idSet) {
	t.Helper()
	for i, c := range s.chunks[:max(0, len(s.chunks)-1)] {
		if len(c) < minChunk {
			t.Fatalf("chunk %d of %d holds %d IDs; every chunk but the last must hold at least %d", i, len(s.chunks), len(c), minChunk)
		}
	}
	if limit := (s.Len() + minChunk - 1) / minChunk; len(s.chunks) > limit {
		t.Fatalf("%d IDs in %d chunks; at most ceil(%d/%d) = %d", s.Len(), len(s.chunks), s.Len(), minChunk, limit)
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// after returns the IDs of sorted greater than cursor.
func after(sorted []string, cursor string) []string {
	i, found := slices.BinarySearch(sorted, cursor)
	if found {
		i++
	}
	return sorted[i:]
}

func TestIDSetEmpty(t *testing.T) {
	var s idSet
	checkSet(t, &s, nil)
	if s.Contains("a") || s.Delete("a") {
		t.Error("an empty set must neither contain nor delete anything")
	}
	if got := slices.Collect(s.After("a")); len(got) != 0 {
		t.Errorf("After on an empty set yields %q", got)
	}
}

func TestIDSetInsertDeleteContains(t *testing.T) {
	var s idSet
	if !s.Insert("b") || !s.Insert("a") || !s.Insert("c") {
		t.Fatal("Insert of a missing ID must report true")
	}
	if s.Insert("b") {
		t.Error("Insert of a present ID must report false")
	}
	checkSet(t, &s, []string{"a", "b", "c"})
	if !s.Contains("b") || s.Contains("bb") {
		t.Error("Contains disagrees with the set {a b c}")
	}
	if !s.Delete("b") || s.Delete("b") || s.Delete("zz") {
		t.Error("Delete must report true once for a present ID and false otherwise")
	}
	checkSet(t, &s, []string{"a", "c"})
	s.Delete("a")
	s.Delete("c")
	checkSet(t, &s, nil)
	if len(s.chunks) != 0 {
		t.Errorf("an emptied set keeps %d chunks", len(s.chunks))
	}
	s.Insert("x")
	checkSet(t, &s, []string{"x"})
}

// TestIDSetOrders inserts enough IDs to split many chunks, in ascending,
// descending and random order.
func TestIDSetOrders(t *testing.T) {
	const n = 10 * chunkMax
	sorted := make([]string, n)
	for i := range sorted {
		sorted[i] = fmt.Sprintf("K%06d", i)
	}
	descending := slices.Clone(sorted)
	slices.Reverse(descending)
	orders := map[string][]string{
		"ascending":  sorted,
		"descending": descending,
		"random":     shuffled(sorted, 1),
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			var s idSet
			for _, id := range order {
				s.Insert(id)
			}
			checkSet(t, &s, sorted)
			if len(s.chunks) < n/chunkMax {
				t.Errorf("%d IDs in %d chunks: chunks hold at most %d", n, len(s.chunks), chunkMax)
			}
			if name == "ascending" && len(s.chunks) != n/chunkMax {
				t.Errorf("%d IDs inserted in ascending order fill %d chunks, want %d full ones", n, len(s.chunks), n/chunkMax)
			}
			for _, id := range sorted {
				if !s.Contains(id) {
					t.Fatalf("Contains(%q) = false after inserting it", id)
				}
			}
		})
	}
}

// TestIDSetAfter walks from cursors that are in the set, between IDs,
// before the first and after the last, across chunk boundaries, and
// stops early.
func TestIDSetAfter(t *testing.T) {
	var s idSet
	var sorted []string
	for i := 0; i < 3*chunkMax; i++ {
		id := fmt.Sprintf("K%06d", 2*i) // even numbers: odd ones fall between
		s.Insert(id)
		sorted = append(sorted, id)
	}
	// The boundary of the first chunk, wherever the splits put it.
	boundary := s.chunks[0][len(s.chunks[0])-1]
	for _, cursor := range []string{"", "A", "K000000", "K000001", boundary, boundary + "0", sorted[len(sorted)-1], "Z"} {
		if got, want := slices.Collect(s.After(cursor)), after(sorted, cursor); !slices.Equal(got, want) {
			t.Errorf("After(%q) yields %d IDs starting %q, want %d", cursor, len(got), got[:min(1, len(got))], len(want))
		}
	}
	var got []string
	for id := range s.After("K000100") {
		got = append(got, id)
		if len(got) == 3 {
			break
		}
	}
	if want := []string{"K000102", "K000104", "K000106"}; !slices.Equal(got, want) {
		t.Errorf("After(\"K000100\") stopped after 3 yields %q, want %q", got, want)
	}
}

// TestIDSetShrinks deletes most of a large set and checks that its small
// chunks are merged rather than left in thousands of fragments.
func TestIDSetShrinks(t *testing.T) {
	var s idSet
	var all []string
	for i := range 20 * chunkMax {
		id := fmt.Sprintf("K%06d", i)
		s.Insert(id)
		all = append(all, id)
	}
	before := len(s.chunks)
	var kept []string
	for i, id := range shuffled(all, 2) {
		if i%20 == 0 {
			kept = append(kept, id)
			continue
		}
		s.Delete(id)
	}
	slices.Sort(kept)
	checkSet(t, &s, kept)
	if len(s.chunks) >= before {
		t.Errorf("after deleting 95%% of %d IDs the set still has %d chunks (had %d): small chunks must merge", len(all), len(s.chunks), before)
	}
}

// TestIDSetShrinksInOrder deletes 63 of every 64 IDs of a set built in
// ascending order, walking up or down: every chunk empties but for a few
// IDs, which a merge with the successor alone would leave in as many
// chunks as the set had (100 chunks of 2 IDs), and a merge with the
// predecessor alone the same when walking down.
func TestIDSetShrinksInOrder(t *testing.T) {
	const n = 100 * chunkMax
	all := make([]string, n)
	for i := range all {
		all[i] = fmt.Sprintf("K-%06d", i)
	}
	var kept []string
	for i, id := range all {
		if i%64 == 0 {
			kept = append(kept, id)
		}
	}
	for _, walk := range []string{"ascending", "descending", "random"} {
		t.Run(walk, func(t *testing.T) {
			var s idSet
			for _, id := range all {
				s.Insert(id)
			}
			order := slices.Clone(all)
			switch walk {
			case "descending":
				slices.Reverse(order)
			case "random":
				order = shuffled(order, 9)
			}
			for i, id := range order {
				if idx, _ := slices.BinarySearch(all, id); idx%64 != 0 {
					s.Delete(id)
				}
				if i%1000 == 0 {
					checkCompact(t, &s)
				}
			}
			checkSet(t, &s, kept)
			t.Logf("%d IDs left in %d chunks", s.Len(), len(s.chunks))
		})
	}
}

// TestIDSetRebalance deletes from a chunk squeezed between two full ones,
// which it cannot merge with: it must take IDs from a neighbour rather
// than stay small.
func TestIDSetRebalance(t *testing.T) {
	var s idSet
	var all []string
	for i := range 3 * chunkMax {
		id := fmt.Sprintf("K%06d", i)
		s.Insert(id)
		all = append(all, id)
	}
	if len(s.chunks) != 3 {
		t.Fatalf("%d ascending IDs fill %d chunks, want 3", len(all), len(s.chunks))
	}
	// Empty the middle chunk from its low end: the neighbours stay full,
	// so no merge fits until the middle chunk has taken IDs from one.
	want := slices.Clone(all)
	for i := range chunkMax - 1 {
		id := all[chunkMax+i]
		if !s.Delete(id) {
			t.Fatalf("Delete(%q) = false", id)
		}
		want = slices.DeleteFunc(want, func(x string) bool { return x == id })
		checkSet(t, &s, want)
	}
}

// TestIDSetRandom checks a long random sequence of inserts and deletes
// against a map, and that the set stays compact after every one of them,
// while it grows and while it shrinks to nothing.
func TestIDSetRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s idSet
	model := map[string]bool{}
	for op := range 50_000 {
		id := fmt.Sprintf("V%05d", r.IntN(4000))
		if r.IntN(3) == 0 {
			if got, want := s.Delete(id), model[id]; got != want {
				t.Fatalf("op %d: Delete(%q) = %v, want %v", op, id, got, want)
			}
			delete(model, id)
		} else {
			if got, want := s.Insert(id), !model[id]; got != want {
				t.Fatalf("op %d: Insert(%q) = %v, want %v", op, id, got, want)
			}
			model[id] = true
		}
		checkCompact(t, &s)
		if op%5000 == 0 {
			want := sortedKeys(model)
			checkSet(t, &s, want)
			cursor := fmt.Sprintf("V%05d", r.IntN(4000))
			if got := slices.Collect(s.After(cursor)); !slices.Equal(got, after(want, cursor)) {
				t.Fatalf("op %d: After(%q) disagrees with the model", op, cursor)
			}
		}
	}
	checkSet(t, &s, sortedKeys(model))
	for _, id := range shuffled(sortedKeys(model), 5) {
		if !s.Delete(id) {
			t.Fatalf("Delete(%q) = false for a present ID", id)
		}
		checkCompact(t, &s)
	}
	checkSet(t, &s, nil)
}

func shuffled(ids []string, seed uint64) []string {
	out := slices.Clone(ids)
	rand.New(rand.NewPCG(seed, seed)).Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
