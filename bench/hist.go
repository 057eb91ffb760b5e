package main

import (
	"math"
	"math/bits"
	"time"
)

// histogram records latencies in log-linear buckets, as HDR histograms do:
// 2^subBits sub-buckets per power of two, so every value is kept within
// 1/2^subBits (under 1%) of what was measured, in fixed memory, and
// recording is a few instructions with no allocation.
type histogram struct {
	counts [64 << subBits]uint64
	n      uint64
	max    int64
}

const subBits = 7

func bucketOf(ns int64) int {
	if ns < 1<<subBits {
		return int(ns)
	}
	exp := 63 - bits.LeadingZeros64(uint64(ns)) // position of the top bit
	shift := exp - subBits
	return (shift+1)<<subBits + int(uint64(ns)>>shift) - 1<<subBits
}

// lowOf is the smallest value in bucket b.
func lowOf(b int) int64 {
	if b < 1<<subBits {
		return int64(b)
	}
	shift := b>>subBits - 1
	return int64(b&(1<<subBits-1)+1<<subBits) << shift
}

func (h *histogram) record(d time.Duration) {
	ns := int64(d)
	if ns < 0 {
		ns = 0
	}
	h.counts[bucketOf(ns)]++
	h.n++
	if ns > h.max {
		h.max = ns
	}
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the value at fraction q (0..1) of the recorded latencies.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(rank, 1)
	var seen uint64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			// The middle of the bucket, capped by the largest value seen.
			lo, hi := lowOf(b), lowOf(b+1)
			return time.Duration(min((lo+hi)/2, h.max))
		}
	}
	return time.Duration(h.max)
}
