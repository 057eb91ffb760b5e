package audit

import (
	"context"
	"flag"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var benchLogSize = flag.Int("audit.size", 1_000_000, "entries in the log BenchmarkVerify and BenchmarkProveInclusion build")

// BenchmarkAppendDurable: many concurrent callers (as serve under load)
// appending realistic decision entries with group commit; every append
// returns only after its fsync.
func BenchmarkAppendDurable(b *testing.B) {
	b.Run("zstd", func(b *testing.B) { benchAppend(b, false) })
	b.Run("plain", func(b *testing.B) { benchAppend(b, true) })
}

func benchAppend(b *testing.B, noCompress bool) {
	l := openLog(b, b.TempDir(), func(o *Options) { o.NoCompress = noCompress })
	defer l.Close()
	b.SetParallelism(128)
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			e := decisionEntry(int(n.Add(1)))
			t0 := time.Now()
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(t0))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "entries/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	}
}

var (
	bigOnce sync.Once
	bigDir  string
)

// bigLog builds one log of -audit.size entries for the read-side benchmarks.
func bigLog(b *testing.B) string {
	bigOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			b.Fatal(err)
		}
		l := openLog(b, dir)
		var wg sync.WaitGroup
		var next atomic.Int64
		for range 256 {
			wg.Go(func() {
				for {
					i := int(next.Add(1))
					if i > *benchLogSize {
						return
					}
					if _, err := l.Append(context.Background(), decisionEntry(i)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		l.Close()
		bigDir = dir
	})
	return bigDir
}

func BenchmarkVerify(b *testing.B) {
	dir := bigLog(b)
	b.ResetTimer()
	for b.Loop() {
		rep, err := Verify(context.Background(), dir, VerifyOptions{})
		if err != nil || !rep.OK() {
			b.Fatalf("%v %+v", err, rep.Problems)
		}
		b.ReportMetric(float64(rep.Entries)/rep.Duration.Seconds(), "entries/s")
	}
}

func BenchmarkProveInclusion(b *testing.B) {
	dir := bigLog(b)
	r, err := OpenReader(dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	pub, _ := r.PublicKey()
	size := uint64(*benchLogSize)
	b.ResetTimer()
	i := uint64(0)
	for b.Loop() {
		i = (i*7919 + 104729) % size
		p, err := r.ProveInclusion(context.Background(), i)
		if err != nil {
			b.Fatal(err)
		}
		if err := VerifyInclusionProof(p, pub); err != nil {
			b.Fatal(err)
		}
	}
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "belladonna-audit-bench") }
