package main

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBucketsCoverEveryValue(t *testing.T) {
	for _, ns := range []int64{0, 1, 127, 128, 129, 255, 256, 1000, 123456, 1 << 40, 1<<62 + 12345} {
		b := bucketOf(ns)
		if lowOf(b) > ns || lowOf(b+1) <= ns {
			t.Fatalf("%d in bucket %d [%d, %d)", ns, b, lowOf(b), lowOf(b+1))
		}
	}
}

// Quantiles agree with the exact ones within the bucket precision.
func TestQuantilesMatchExactOnes(t *testing.T) {
	var h histogram
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]int64, 100000)
	for i := range vals {
		vals[i] = int64(r.ExpFloat64() * 300_000) // ~300 µs mean, long tail
		h.record(time.Duration(vals[i]))
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		exact := vals[int(q*float64(len(vals)))-1]
		got := int64(h.quantile(q))
		if diff := float64(got-exact) / float64(exact); diff > 0.01 || diff < -0.01 {
			t.Errorf("q%.3f: histogram %d, exact %d (%.2f%%)", q, got, exact, diff*100)
		}
	}
}
