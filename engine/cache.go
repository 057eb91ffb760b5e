package engine

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// resultCache keeps results of deterministic paths (those with an IR plan:
// the VM refuses non-deterministic built-ins) per State, so a new
// activation starts empty and nothing crosses revisions. The key is the
// path and the input's bytes as the client sent them: a hit skips parsing
// the input as well as evaluating it. Two 64-bit seeded hashes stand in for
// the bytes (a false hit needs a 128-bit collision). Each shard evicts
// its oldest entry when full.
type resultCache struct {
	shards [cacheShards]cacheShard
	per    int
	hits   atomic.Uint64
	misses atomic.Uint64
}

const cacheShards = 64

type cacheKey struct{ a, b uint64 }

// An entry keeps the result as JSON only: a decoded result is several
// times its JSON in memory, and servers write the JSON as it is.
type cacheEntry struct {
	json    []byte
	outcome string
	defined bool
}

type cacheShard struct {
	mu    sync.Mutex
	m     map[cacheKey]cacheEntry
	order []cacheKey // ring of keys, oldest at next
	next  int
}

var seedA, seedB = maphash.MakeSeed(), maphash.MakeSeed()

func newResultCache(maxEntries int) *resultCache {
	if maxEntries <= 0 {
		return nil
	}
	c := &resultCache{per: max(1, maxEntries/cacheShards)}
	for i := range c.shards {
		c.shards[i].m = make(map[cacheKey]cacheEntry)
	}
	return c
}

func keyOf(path string, input []byte) cacheKey {
	var h maphash.Hash
	h.SetSeed(seedA)
	h.WriteString(path)
	h.WriteByte(0)
	h.Write(input)
	a := h.Sum64()
	h.SetSeed(seedB)
	h.WriteString(path)
	h.WriteByte(0)
	h.Write(input)
	return cacheKey{a, h.Sum64()}
}

func (c *resultCache) get(k cacheKey) (cacheEntry, bool) {
	s := &c.shards[k.a%cacheShards]
	s.mu.Lock()
	e, ok := s.m[k]
	s.mu.Unlock()
	if ok {
		c.hits.Add(1)
	} else {
		c.misses.Add(1)
	}
	return e, ok
}

func (c *resultCache) put(k cacheKey, e cacheEntry) {
	s := &c.shards[k.a%cacheShards]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.m[k]; ok {
		return
	}
	if len(s.order) < c.per {
		s.order = append(s.order, k)
	} else {
		delete(s.m, s.order[s.next])
		s.order[s.next] = k
		s.next = (s.next + 1) % c.per
	}
	s.m[k] = e
}

// CacheStats are the result cache's counters.
type CacheStats struct {
	Hits, Misses uint64
}
