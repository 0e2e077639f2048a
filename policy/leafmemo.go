package policy

import (
	"hash/maphash"
	"sync"
)

// leafMemo finds, for a leaf of the arguments, an earlier leaf with the
// same text, so that the detectors read each distinct text once: an array
// of objects repeats its keys, and often its values. What the detectors
// find depends on the text alone.
type leafMemo struct {
	// slots is an open-addressing table of texts, its length a power of
	// two; it is never more than half full.
	slots []memoSlot
	used  int
}

// memoSlot is the first leaf with a text, and its findings.
type memoSlot struct {
	leaf     int32 // 1 + the leaf's index; 0 for an empty slot
	from, to int32 // its findings, in the evaluation's findings
}

// maxMemoSlots bounds a table (48 KB), for arguments of many leaves.
const maxMemoSlots = 1 << 12

var (
	memoSeed = maphash.MakeSeed()
	memoPool = sync.Pool{New: func() any { return new(leafMemo) }}
)

// newLeafMemo returns an empty memo for n leaves, or nil when n is too
// few to repeat.
func newLeafMemo(n int) *leafMemo {
	if n < 4 {
		return nil
	}
	size := 8
	for size < 2*n && size < maxMemoSlots {
		size *= 2
	}
	m := memoPool.Get().(*leafMemo)
	if cap(m.slots) < size {
		m.slots = make([]memoSlot, size)
	} else {
		m.slots = m.slots[:size]
		clear(m.slots)
	}
	m.used = 0
	return m
}

// release returns m to the pool; m may be nil.
func (m *leafMemo) release() {
	if m != nil {
		memoPool.Put(m)
	}
}

// find returns the slot of leaves[i]'s text: filled when an earlier leaf
// has that text, empty (for the caller to fill) when none has; nil when
// m is nil or full.
func (m *leafMemo) find(leaves []Leaf, i int) *memoSlot {
	if m == nil {
		return nil
	}
	text := leaves[i].Text
	mask := uint64(len(m.slots) - 1)
	for h := maphash.String(memoSeed, text) & mask; ; h = (h + 1) & mask {
		s := &m.slots[h]
		if s.leaf == 0 {
			if 2*(m.used+1) > len(m.slots) {
				return nil
			}
			m.used++
			return s
		}
		if leaves[s.leaf-1].Text == text {
			return s
		}
	}
}
