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

	dto "github.com/prometheus/client_model/go"
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
	waits := watchFsyncs(l)
	b.SetParallelism(128)
	var mu sync.Mutex
	var lat []time.Duration
	var n atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		var e Entry
		for pb.Next() {
			benchEntry(&e, int(n.Add(1)))
			t0 := time.Now()
			if _, err := l.Append(context.Background(), &e); err != nil {
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
	reportCommitMetrics(b, l)
	waits.report(b)
}

// benchEntries are realistic decision entries built once: building an entry
// is the caller's work (serve has it from the decision), not the log's.
var benchEntries = func() []Entry {
	es := make([]Entry, 4096)
	for i := range es {
		es[i] = *decisionEntry(i)
	}
	return es
}()

// benchEntry fills the caller's entry: the harness allocating one per
// append would add its own garbage collections to what is measured.
func benchEntry(e *Entry, i int) {
	*e = benchEntries[i%len(benchEntries)]
}

var (
	appendRate   = flag.Int("audit.rate", 100_000, "entries/s BenchmarkAppendAtRate offers")
	benchWorkers = flag.Int("audit.workers", 2048, "BenchmarkAppendAtRate: concurrent callers")
)

// BenchmarkAppendAtRate offers appends at a fixed rate (open loop, as
// requests arrive at a busy serve) and measures each one's latency from
// the moment it was due, so a stall shows up in the tail instead of
// slowing the offered load (no coordinated omission).
var benchNoCompress = flag.Bool("audit.nocompress", false, "BenchmarkAppendAtRate: keep closed segments uncompressed")

func BenchmarkAppendAtRate(b *testing.B) {
	l := openLog(b, b.TempDir(), func(o *Options) { o.NoCompress = *benchNoCompress })
	defer l.Close()
	waits := watchFsyncs(l)
	rate := *appendRate
	due := make(chan time.Time, 4096)
	var disp []time.Duration // due -> the caller starts its append
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	for range *benchWorkers {
		wg.Go(func() {
			var mine, myDisp []time.Duration
			var e Entry
			i := 0
			for t := range due {
				i++
				myDisp = append(myDisp, time.Since(t))
				benchEntry(&e, i)
				if _, err := l.Append(context.Background(), &e); err != nil {
					b.Error(err)
					break
				}
				mine = append(mine, time.Since(t))

			}
			mu.Lock()
			lat = append(lat, mine...)
			disp = append(disp, myDisp...)
			mu.Unlock()
		})
	}
	b.ResetTimer()
	start := time.Now()
	// Release what is due every 100 µs: a timer per entry would cost more
	// than the append.
	sent := 0
	for sent < b.N {
		now := time.Now()
		want := min(b.N, int(now.Sub(start).Seconds()*float64(rate)))
		for ; sent < want; sent++ {
			due <- start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(due)
	wg.Wait()

	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if n := len(lat); n > 0 {
		b.ReportMetric(float64(n)/elapsed.Seconds(), "entries/s")
		b.ReportMetric(float64(lat[n/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[n*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[n*999/1000].Microseconds())/1000, "p99.9-ms")
		// How much of the tail is the caller not yet running (the
		// scheduler on a busy machine) rather than the log.
		slices.Sort(disp)
		b.ReportMetric(float64(disp[n*99/100].Microseconds())/1000, "start-p99-ms")
	}
	reportCommitMetrics(b, l)
	waits.report(b)
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
	pub, _ := r.PublicKeys()
	size := uint64(*benchLogSize)
	b.ResetTimer()
	i := uint64(0)
	for b.Loop() {
		i = (i*7919 + 104729) % size
		p, err := r.ProveInclusion(context.Background(), i)
		if err != nil {
			b.Fatal(err)
		}
		if err := VerifyInclusionProof(p, pub...); err != nil {
			b.Fatal(err)
		}
	}
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "belladonna-audit-bench") }

// reportCommitMetrics adds the mean entries per fsync and fsync time, from
// the log's own histograms.
// fsyncWaits records, per group commit, its fsync time and how many
// entries waited for it: the fsync time the p99 entry waited for is a floor
// under the p99 append latency that no design with durable acks goes below.
type fsyncWaits struct {
	d []time.Duration
	n []int
}

func watchFsyncs(l *Log) *fsyncWaits {
	w := &fsyncWaits{}
	l.commitHook = func(d time.Duration, n int) { w.d, w.n = append(w.d, d), append(w.n, n) }
	return w
}

func (w *fsyncWaits) report(b *testing.B) {
	idx := make([]int, len(w.d))
	total := 0
	for i := range idx {
		idx[i] = i
		total += w.n[i]
	}
	if total == 0 {
		return
	}
	slices.SortFunc(idx, func(a, c int) int { return int(w.d[a] - w.d[c]) })
	seen := 0
	for _, i := range idx {
		seen += w.n[i]
		if seen >= total*99/100 {
			b.ReportMetric(float64(w.d[i].Microseconds())/1000, "entry-fsync-p99-ms")
			return
		}
	}
}

func reportCommitMetrics(b *testing.B, l *Log) {
	var m dto.Metric
	if err := l.m.batchSize.Write(&m); err == nil && m.Histogram.GetSampleCount() > 0 {
		b.ReportMetric(m.Histogram.GetSampleSum()/float64(m.Histogram.GetSampleCount()), "entries/fsync")
	}
	if err := l.m.fsyncSeconds.Write(&m); err == nil && m.Histogram.GetSampleCount() > 0 {
		h := m.Histogram
		b.ReportMetric(1000*h.GetSampleSum()/float64(h.GetSampleCount()), "fsync-ms")
		// The disk's own tail bounds the append tail: report the upper
		// bound of the histogram bucket holding the 99th percentile.
		for _, bk := range h.Bucket {
			if float64(bk.GetCumulativeCount()) >= 0.99*float64(h.GetSampleCount()) {
				b.ReportMetric(1000*bk.GetUpperBound(), "fsync-p99≤ms")
				break
			}
		}
	}
	if err := l.m.recycled.Write(&m); err == nil {
		b.ReportMetric(m.Counter.GetValue(), "reused-files")
	}
}
