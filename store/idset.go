package store

import (
	"iter"
	"slices"
	"strings"
)

// chunkMax is the most IDs one chunk of an idSet holds. A full chunk is
// split in two halves. 128 string headers are 2 KiB: small enough that
// inserting into or deleting from the middle of a chunk, which every
// status change does twice, is a cheap memmove (512 cost Update a third
// more), large enough that a set of 100,000 IDs has under 1,600 chunks
// to binary-search.
const chunkMax = 128

// idSet is an ordered set of vault IDs: a sorted sequence cut into
// chunks of at most chunkMax IDs. Every chunk is non-empty and sorted,
// and every ID of a chunk is less than every ID of the chunk after it.
//
// Finding an ID costs two binary searches, one over the chunks (by their
// last ID) and one within the chunk. Inserting or deleting moves at most
// one chunk's worth of IDs, never the whole set, so keeping an index of
// 100,000 vaults current costs the same as keeping one of 1,000. Walking
// the set from a cursor costs the position lookup plus the IDs walked.
//
// Every chunk but the last holds at least chunkMax/4 IDs (the last one
// may hold fewer: appending ascending IDs starts a new chunk of one), so a
// set of n IDs has at most ceil(n/(chunkMax/4)) chunks however it got
// there: a set that shrinks after growing does not stay fragmented. Insert
// keeps this by splitting a full chunk into halves, Delete by merging a
// chunk that falls below chunkMax/4 into a neighbour, or refilling it from
// one (see Delete).
//
// The zero idSet is empty and ready to use. An idSet is not safe for
// concurrent use; Memory guards its sets with its own lock.
type idSet struct {
	chunks [][]string
	n      int
	// spare is the backing array of the chunk Delete dropped last because
	// it became empty, kept for newChunk to reuse; nil once reused.
	spare []string
}

// minChunk is the fewest IDs a chunk other than the last holds. Delete
// acts on a chunk only when it falls below this, a quarter of chunkMax:
// far enough below the half that a split or a refill leaves in a chunk
// that it takes many deletions to get there again, so a vault moving back
// and forth between two statuses does not make the sets split and merge
// on every move.
const minChunk = chunkMax / 4

// newChunk returns a chunk holding ids. It grows as a slice does, so that
// the many small sets (the vaults of one owner) stay small; it reuses the
// spare array of a chunk that emptied, if any (a set that empties and
// refills, such as a status few vaults pass through, allocates once).
func (s *idSet) newChunk(ids ...string) []string {
	c := s.spare
	s.spare = nil
	return append(c, ids...)
}

// Len returns the number of IDs in the set.
func (s *idSet) Len() int { return s.n }

// chunkFor returns the index of the first chunk whose last ID is >= id:
// the only chunk that can hold id, and the chunk where id belongs when it
// is missing. It returns len(s.chunks) when id is greater than every ID.
func (s *idSet) chunkFor(id string) int {
	i, _ := slices.BinarySearchFunc(s.chunks, id, func(c []string, id string) int {
		return strings.Compare(c[len(c)-1], id)
	})
	return i
}

// Contains reports whether id is in the set.
func (s *idSet) Contains(id string) bool {
	ci := s.chunkFor(id)
	if ci == len(s.chunks) {
		return false
	}
	_, found := slices.BinarySearch(s.chunks[ci], id)
	return found
}

// Insert adds id to the set and reports whether it was missing.
func (s *idSet) Insert(id string) bool {
	if len(s.chunks) == 0 {
		s.chunks = append(s.chunks, s.newChunk(id))
		s.n = 1
		return true
	}
	ci := s.chunkFor(id)
	if ci == len(s.chunks) {
		ci-- // greater than every ID: it goes at the end of the last chunk
	}
	c := s.chunks[ci]
	i, found := slices.BinarySearch(c, id)
	if found {
		return false
	}
	if len(c) == chunkMax && ci == len(s.chunks)-1 && i == len(c) {
		// Appending past a full last chunk, as an import of ascending
		// serial numbers does: start a new chunk rather than split, so
		// that such a set is made of full chunks, not half-full ones.
		s.chunks = append(s.chunks, s.newChunk(id))
		s.n++
		return true
	}
	c = slices.Insert(c, i, id)
	s.n++
	if len(c) <= chunkMax {
		s.chunks[ci] = c
		return true
	}
	// Split the overflowing chunk in two halves. The lower half keeps the
	// backing array (with room to grow); the upper half is copied out and
	// its old slots are cleared so that they do not keep strings alive.
	half := len(c) / 2
	upper := make([]string, len(c)-half, chunkMax+1) // room to fill without reallocating
	copy(upper, c[half:])
	clear(c[half:])
	s.chunks[ci] = c[:half]
	s.chunks = slices.Insert(s.chunks, ci+1, upper)
	return true
}

// Delete removes id from the set and reports whether it was there.
//
// A chunk that becomes empty is dropped. One that falls below minChunk is
// merged with its successor or, failing that, its predecessor, when the
// two fit in one chunk; when neither fits, both neighbours hold more than
// chunkMax-minChunk IDs, and the chunk takes IDs from one of them until
// the two hold about half each. Either way every chunk but the last keeps
// at least minChunk IDs (see idSet), whatever order IDs are deleted in.
func (s *idSet) Delete(id string) bool {
	ci := s.chunkFor(id)
	if ci == len(s.chunks) {
		return false
	}
	c := s.chunks[ci]
	i, found := slices.BinarySearch(c, id)
	if !found {
		return false
	}
	c = slices.Delete(c, i, i+1) // slices.Delete clears the vacated slot
	s.n--
	s.chunks[ci] = c
	switch {
	case len(c) == 0:
		// Only the last chunk can be this small; its predecessor, if
		// any, becomes the last.
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
		s.spare = c
	case len(c) >= minChunk:
	case ci+1 < len(s.chunks) && len(c)+len(s.chunks[ci+1]) <= chunkMax:
		s.merge(ci)
	case ci > 0 && len(s.chunks[ci-1])+len(c) <= chunkMax:
		s.merge(ci - 1)
	case ci+1 < len(s.chunks):
		s.rebalance(ci)
	case ci > 0:
		s.rebalance(ci - 1)
	}
	return true
}

// merge moves the IDs of chunk ci+1 to the end of chunk ci and drops
// chunk ci+1. The two must fit in one chunk.
func (s *idSet) merge(ci int) {
	next := s.chunks[ci+1]
	s.chunks[ci] = append(s.chunks[ci], next...)
	clear(next) // the dropped array must not keep strings alive
	s.chunks = slices.Delete(s.chunks, ci+1, ci+2)
}

// rebalance shares the IDs of chunks ci and ci+1, which together hold more
// than chunkMax, between them: the lower one keeps half, rounded down,
// the upper one the rest. Both end with at least chunkMax/2.
func (s *idSet) rebalance(ci int) {
	lo, hi := s.chunks[ci], s.chunks[ci+1]
	half := (len(lo) + len(hi)) / 2
	switch {
	case len(lo) < half: // move the first IDs of hi to the end of lo
		k := half - len(lo)
		lo = append(lo, hi[:k]...)
		copy(hi, hi[k:])
		clear(hi[len(hi)-k:])
		hi = hi[:len(hi)-k]
	case len(lo) > half: // move the last IDs of lo to the front of hi
		hi = slices.Insert(hi, 0, lo[half:]...)
		clear(lo[half:])
		lo = lo[:half]
	}
	s.chunks[ci], s.chunks[ci+1] = lo, hi
}

// After yields the IDs greater than after, in ascending order; after ""
// yields every ID. The set must not change while the sequence is walked.
func (s *idSet) After(after string) iter.Seq[string] {
	return func(yield func(string) bool) {
		ci := s.chunkFor(after)
		if ci == len(s.chunks) {
			return
		}
		i, found := slices.BinarySearch(s.chunks[ci], after)
		if found {
			i++ // strictly greater than the cursor
		}
		for ; ci < len(s.chunks); ci, i = ci+1, 0 {
			for _, id := range s.chunks[ci][i:] {
				if !yield(id) {
					return
				}
			}
		}
	}
}
