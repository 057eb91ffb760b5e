package sink

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/audit/sink/internal/sinktest"
)

// TestRealLogToPostgresAcrossRestarts streams the real audit log (segments,
// group commit) into a real PostgreSQL while entries are still being
// appended, restarts PostgreSQL and then the runner itself, and requires
// every entry in the table exactly once.
func TestRealLogToPostgresAcrossRestarts(t *testing.T) {
	pg := sinktest.StartPostgres(t)
	ctx := t.Context()
	dir := t.TempDir()
	l, err := audit.Open(ctx, audit.Options{Dir: dir, SegmentBytes: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	appendSome := func(from, n int) {
		var wg sync.WaitGroup
		for i := from; i < from+n; i++ {
			wg.Go(func() {
				e := &audit.Entry{Kind: audit.KindDecision, DecisionID: fmt.Sprintf("real-%05d", i), Path: "p/allow", Outcome: audit.OutcomeAllow}
				if _, err := l.Append(ctx, e); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	newRunner := func() *Runner {
		s, err := New(Config{Type: TypePostgres, Name: "pg", DSN: pg.DSN(), Table: "real_log"})
		if err != nil {
			t.Fatal(err)
		}
		r := NewRunner(l, dir+"/cursors", WithBackoff(20*time.Millisecond, 200*time.Millisecond))
		if err := r.Add(s, Batching{Size: 200, MaxLatency: 50 * time.Millisecond}); err != nil {
			t.Fatal(err)
		}
		if err := r.Start(ctx); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := newRunner()
	appendSome(0, 1500)
	pg.Stop() // entries keep coming while the database is down
	appendSome(1500, 1500)
	time.Sleep(300 * time.Millisecond) // the runner hits the dead server and backs off
	pg.Start()
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	r = newRunner() // resumes from its cursor
	appendSome(3000, 1000)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, _ := r.Cursor("pg"); c == l.Size() {
			break
		}
		if time.Now().After(deadline) {
			c, _ := r.Cursor("pg")
			t.Fatalf("sink stuck at %d of %d", c, l.Size())
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Stop(ctx)
	var rows, distinct int
	conn := pg.Conn(context.Background())
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT idx) FROM real_log`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if uint64(rows) != l.Size() || rows != distinct {
		t.Fatalf("%d rows (%d distinct) for %d entries", rows, distinct, l.Size())
	}
}
