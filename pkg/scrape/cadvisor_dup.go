// Finding a series a /metrics/cadvisor body lists twice: the decoder sums
// a pod's series over the labels other than its own, so a repeated series
// would count twice and double the pod's figure.

package scrape

import (
	"bytes"
	"hash/maphash"
	"math/bits"
)

// labelSetHash hashes a label set in a way that does not depend on the
// order of the labels nor on the blanks between them, and that leaves out
// labels of empty value (a label of empty value is no label, to
// Prometheus). Each pair is hashed on its own and the pairs are added, so
// the parsers need no sorting. Only the parts of a pod's family that have
// more than one series are hashed (see repeated).
type labelSetHash struct {
	seed maphash.Seed
}

func newLabelSetHash() labelSetHash { return labelSetHash{seed: maphash.MakeSeed()} }

// pair returns the hash of one label, name and value (escaped as the body
// writes it, or unescaped: a value has one escaped form, and one body is
// read by one parser).
func (h labelSetHash) pair(name, value []byte) uint64 {
	if len(value) == 0 {
		return 0
	}
	// The rotation tells a="b" from b="a".
	return maphash.Bytes(h.seed, name) ^ bits.RotateLeft64(maphash.Bytes(h.seed, value), 31)
}

// pairString is pair of strings.
func (h labelSetHash) pairString(name, value string) uint64 {
	if value == "" {
		return 0
	}
	return maphash.String(h.seed, name) ^ bits.RotateLeft64(maphash.String(h.seed, value), 31)
}

// raw returns the hash of the label set of a line that starts after its
// '{'. The labels were checked by parseLabels: this walk needs no checks.
func (h labelSetHash) raw(labels []byte) uint64 {
	var sum uint64
	k := 0
	for {
		k = skipBlank(labels, k)
		if k >= len(labels) || labels[k] == '}' {
			return sum
		}
		eq := bytes.IndexByte(labels[k:], '=')
		if eq < 0 {
			return sum
		}
		name := labels[k : k+eq]
		for len(name) > 0 && isBlank(name[len(name)-1]) {
			name = name[:len(name)-1]
		}
		k += eq + 1
		q := bytes.IndexByte(labels[k:], '"')
		if q < 0 {
			return sum
		}
		start := k + q + 1
		k = start
		for {
			q := bytes.IndexByte(labels[k:], '"')
			if q < 0 {
				return sum
			}
			k += q
			// A quote ends the value unless an odd number of
			// backslashes escapes it.
			bs := 0
			for j := k - 1; j >= start && labels[j] == '\\'; j-- {
				bs++
			}
			if bs%2 == 0 {
				break
			}
			k++
		}
		sum += h.pair(name, labels[start:k])
		k = skipBlank(labels, k+1)
		if k < len(labels) && labels[k] == ',' {
			k++
		}
	}
}

// seriesKey names a label set among the series of one role of a pod's
// family (a familySum's part).
type seriesKey struct {
	sum  int32
	role seriesRole
	hash uint64
}

// seriesLabels are the labels of a series as a parser hands them to add:
// the fast parser's raw text, after the '{' (nil without labels), hashed
// only when the part has a second series; expfmt's hash, computed at once.
type seriesLabels struct {
	raw  []byte
	hash uint64
}

func (acc *podAccumulator) hashOf(l seriesLabels) uint64 {
	if l.raw != nil {
		return acc.labels.raw(l.raw)
	}
	return l.hash
}

// repeated records the labels of a series of the role of sum whose part
// counted part.n series before it, and reports whether the part had that
// label set already. Most parts have one series: their labels are kept,
// unhashed, in the part, and cost no hash and no map.
func (acc *podAccumulator) repeated(sum int32, role seriesRole, part *seriesSum, l seriesLabels) bool {
	if part.n == 0 {
		part.first = l
		return false
	}
	h := acc.hashOf(l)
	if part.n == 1 {
		first := acc.hashOf(part.first)
		part.first = seriesLabels{}
		if h == first {
			return true
		}
		acc.seen[seriesKey{sum: sum, role: role, hash: first}] = struct{}{}
	}
	k := seriesKey{sum: sum, role: role, hash: h}
	if _, ok := acc.seen[k]; ok {
		return true
	}
	acc.seen[k] = struct{}{}
	return false
}
