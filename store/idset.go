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
// The zero idSet is empty and ready to use. An idSet is not safe for
// concurrent use; Memory guards its sets with its own lock.
type idSet struct {
	chunks [][]string
	n      int
	spare  []string // the last chunk of a set that became empty, for reuse
}

// newChunk returns a chunk holding ids. It grows as a slice does, so that
// the many small sets (the vaults of one owner) stay small; a set that
// emptied hands back its last chunk for reuse.
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

// Delete removes id from the set and reports whether it was there. A chunk
// that becomes empty is dropped; one that becomes small is merged with its
// successor when the two fit in one chunk, so that a set which shrinks
// after growing does not stay fragmented into many small chunks.
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
	switch {
	case len(c) == 0:
		s.chunks = slices.Delete(s.chunks, ci, ci+1)
		s.spare = c // a set that empties and refills (a status few vaults pass through) reuses it
	case len(c) < chunkMax/4 && ci+1 < len(s.chunks) && len(c)+len(s.chunks[ci+1]) <= chunkMax:
		s.chunks[ci] = append(c, s.chunks[ci+1]...)
		s.chunks = slices.Delete(s.chunks, ci+1, ci+2)
	default:
		s.chunks[ci] = c
	}
	return true
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
