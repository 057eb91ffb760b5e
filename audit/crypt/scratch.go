package crypt

import "sync"

// scratch holds the per-call buffers of Encode and Decode. Pooling them
// leaves one allocation per Encode (the payload itself).
type scratch struct {
	meta, plain, aad, ct, sct []byte
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// maxPooled keeps an occasional huge entry from pinning its buffers.
const maxPooled = 64 << 10

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

// putScratch returns sc to the pool. plain and sct may hold plaintext (sct
// does when decoding), so they are cleared first: a pooled buffer must not
// keep decrypted data around.
func putScratch(sc *scratch) {
	clear(sc.plain)
	clear(sc.sct)
	for _, b := range []*[]byte{&sc.meta, &sc.plain, &sc.aad, &sc.ct, &sc.sct} {
		if cap(*b) > maxPooled {
			*b = nil
		}
	}
	scratchPool.Put(sc)
}
