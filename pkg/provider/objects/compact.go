package objects

import (
	"hash/maphash"
	"maps"
	"sync"
	"unique"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// An informer keeps every object of its resource for as long as it runs,
// and a pod's metadata as decoded holds a UID, owner references, a label
// map and a dozen strings of its own: at 60,000 pods the pod informer was
// the largest part of Podometer's memory. What listing and selecting read
// of an object is its name, namespace, labels and creation time, so the
// cache keeps a compact copy with only those (and the resource version,
// which names the copy), whose namespace and kind strings are interned and
// whose label map is shared with every other object of the same labels:
// the pods of one ReplicaSet all carry the same ones.

// maxLabelSets bounds the label sets a compactor remembers. Forgetting
// them all costs no correctness, only sharing: objects keep their maps,
// and the next ones of each set start a new shared map.
const maxLabelSets = 4096

// compactor makes the compact copies of one informer's objects. It is safe
// for concurrent use.
type compactor struct {
	seed maphash.Seed

	mu sync.Mutex
	// sets holds the label maps handed out, by a hash of their content.
	sets  map[uint64][]map[string]string
	count int
}

func newCompactor() *compactor {
	return &compactor{seed: maphash.MakeSeed(), sets: make(map[uint64][]map[string]string)}
}

// transform is the informer's transform: objects that are not metadata
// (a tombstone, say) pass unchanged.
func (c *compactor) transform(obj any) (any, error) {
	if m, ok := obj.(*metav1.PartialObjectMetadata); ok {
		return c.compact(m), nil
	}
	return obj, nil
}

// compact returns the compact copy of m.
func (c *compactor) compact(m *metav1.PartialObjectMetadata) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta: metav1.TypeMeta{Kind: intern(m.Kind), APIVersion: intern(m.APIVersion)},
		ObjectMeta: metav1.ObjectMeta{
			Name:              m.Name,
			Namespace:         intern(m.Namespace),
			ResourceVersion:   m.ResourceVersion,
			CreationTimestamp: m.CreationTimestamp,
			DeletionTimestamp: m.DeletionTimestamp,
			Labels:            c.labels(m.Labels),
		},
	}
}

// intern returns the one copy of s that every compact object shares.
func intern(s string) string {
	if s == "" {
		return ""
	}
	return unique.Make(s).Value()
}

// labels returns a map equal to l that is shared by every object with
// these labels; it must not be modified.
func (c *compactor) labels(l map[string]string) map[string]string {
	if len(l) == 0 {
		return nil
	}
	h := c.hash(l)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, shared := range c.sets[h] {
		if maps.Equal(shared, l) {
			return shared
		}
	}
	if c.count >= maxLabelSets {
		clear(c.sets)
		c.count = 0
	}
	c.sets[h] = append(c.sets[h], l)
	c.count++
	return l
}

// hash is a hash of l's pairs that does not depend on the map's order.
func (c *compactor) hash(l map[string]string) uint64 {
	sum := uint64(len(l))
	var h maphash.Hash
	h.SetSeed(c.seed)
	for k, v := range l {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0) // a collision costs a comparison, never a wrong map
		h.WriteString(v)
		sum += h.Sum64()
	}
	return sum
}
