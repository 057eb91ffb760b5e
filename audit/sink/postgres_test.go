package sink

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/audit/sink/internal/sinktest"
)

// TestPostgres runs against one real PostgreSQL cluster: initdb is the
// slow part, so the cases share it, each with its own table.
func TestPostgres(t *testing.T) {
	pg := sinktest.StartPostgres(t)
	t.Run("RowsReadBack", func(t *testing.T) { testPostgresRowsReadBack(t, pg) })
	t.Run("RefusesAnotherLogsEntries", func(t *testing.T) { testPostgresRefusesCollisions(t, pg) })
	t.Run("SurvivesRestartsExactlyOnce", func(t *testing.T) { testPostgresSurvivesRestarts(t, pg) })
}

// testPostgresRefusesCollisions: a resend (even of an entry erased since)
// is absorbed, but another log's entry at an index already taken is an
// error, not a silently dropped row.
func testPostgresRefusesCollisions(t *testing.T, pg *sinktest.Postgres) {
	ctx := t.Context()
	s, err := New(Config{Type: TypePostgres, Name: "pg", DSN: pg.DSN(), Table: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := testEntries(0, 5)
	for i := range batch {
		batch[i].Index = uint64(i)
	}
	if err := s.Send(ctx, batch); err != nil {
		t.Fatal(err)
	}
	erased := append([]audit.Entry(nil), batch...)
	erased[0].Input, erased[0].Result, erased[0].Erased = nil, nil, true
	if err := s.Send(ctx, erased); err != nil {
		t.Fatalf("resending an erased entry: %v", err)
	}
	other := testEntries(100, 5) // another sidecar's log, also counting from 0
	for i := range other {
		other[i].Index = uint64(i)
	}
	err = s.Send(ctx, other)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "own table") {
		t.Fatalf("colliding batch: %v, want ErrRejected naming the cause", err)
	}
	var n int
	if err := pg.Conn(ctx).QueryRow(ctx, `SELECT count(*) FROM shared WHERE decision_id LIKE 'dec-00000%'`).Scan(&n); err != nil || n != 5 {
		t.Fatalf("%d original decision rows, %v; want the 5 untouched", n, err)
	}
}

// testPostgresSurvivesRestarts streams entries into PostgreSQL, stops it
// (fast shutdown) and starts it again twice mid-stream, then replays
// everything from a lost cursor: every index must be in the table exactly
// once.
func testPostgresSurvivesRestarts(t *testing.T, pg *sinktest.Postgres) {
	ctx := t.Context()
	s, err := New(Config{Type: TypePostgres, Name: "pg", DSN: pg.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	src := newMemSource()
	dir := t.TempDir()
	r := NewRunner(src, dir, WithBackoff(10*time.Millisecond, 200*time.Millisecond))
	reg := prometheus.NewRegistry()
	if err := r.RegisterMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(s, Batching{Size: 100, MaxLatency: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx); err != nil {
		t.Fatal(err)
	}
	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < n; i += 20 {
			src.Append(testEntries(i, 20)...)
			time.Sleep(4 * time.Millisecond)
		}
	}()
	rows := func() int64 {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		conn := pg.Conn(qctx)
		defer conn.Close(qctx)
		var c int64
		if err := conn.QueryRow(qctx, `SELECT count(*) FROM audit_entries`).Scan(&c); err != nil {
			return -1
		}
		return c
	}
	restarts := 0
	for _, at := range []int64{n / 4, n / 2} {
		waitFor(t, 20*time.Second, "rows before the restart", func() bool { return rows() >= at })
		pg.Stop()
		time.Sleep(200 * time.Millisecond)
		pg.Start()
		restarts++
	}
	<-produced
	waitFor(t, 30*time.Second, "the cursor to reach the end", func() bool { c, _ := r.Cursor("pg"); return c == n })
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	assertExactlyOnce(t, pg, n)
	failed := metricValue(t, reg, "belladonna_audit_sink_errors_total", "pg")
	if failed == 0 {
		t.Error("no failed attempt while PostgreSQL was down: the restarts did not hit the stream")
	}

	// A replay of everything (a lost cursor file, or a crash before the
	// cursor was written) adds no row.
	s2, err := New(Config{Type: TypePostgres, Name: "pg", DSN: pg.DSN()})
	if err != nil {
		t.Fatal(err)
	}
	r2 := NewRunner(src, t.TempDir())
	if err := r2.Add(s2, Batching{Size: 500, MaxLatency: time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	if err := r2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "the replay", func() bool { c, _ := r2.Cursor("pg"); return c == n })
	if err := r2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	assertExactlyOnce(t, pg, n)
	t.Logf("%d entries sent, %d PostgreSQL restarts survived (%v failed attempts retried), full replay added no rows", n, restarts, failed)
}

func assertExactlyOnce(t *testing.T, pg *sinktest.Postgres, n int) {
	t.Helper()
	conn := pg.Conn(t.Context())
	var count, distinct, lo, hi int64
	err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT idx), min(idx), max(idx) FROM audit_entries`).Scan(&count, &distinct, &lo, &hi)
	if err != nil {
		t.Fatal(err)
	}
	if count != int64(n) || distinct != int64(n) || lo != 0 || hi != int64(n-1) {
		t.Fatalf("rows %d, distinct %d, idx %d..%d; want %d rows, each index 0..%d once", count, distinct, lo, hi, n, n-1)
	}
}

// testPostgresRowsReadBack checks the column mapping, including values
// PostgreSQL would refuse as they are (NUL in text, \u0000 in jsonb).
func testPostgresRowsReadBack(t *testing.T, pg *sinktest.Postgres) {
	ctx := t.Context()
	s, err := New(Config{Type: TypePostgres, Name: "pg", DSN: pg.DSN(), Table: "public.decisions"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	batch := testEntries(0, 10)
	for i := range batch {
		batch[i].Index = uint64(i)
	}
	batch[9].Message += "\x00nul"
	if err := s.Send(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, batch); err != nil { // a resend adds nothing
		t.Fatal(err)
	}
	conn := pg.Conn(ctx)
	var (
		n                                           int
		ts                                          time.Time
		kind, typ, did, rev, path, outcome, subject string
		caller                                      string
		latency                                     int64
		input, result                               map[string]any
		entry                                       audit.Entry
	)
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM decisions`).Scan(&n); err != nil || n != 10 {
		t.Fatalf("%d rows, %v", n, err)
	}
	err = conn.QueryRow(ctx, `SELECT time, kind, type, decision_id, revision, path, outcome, subject, caller,
		latency_ns, input, result, entry FROM decisions WHERE idx = 1`).Scan(
		&ts, &kind, &typ, &did, &rev, &path, &outcome, &subject, &caller, &latency, &input, &result, &entry)
	if err != nil {
		t.Fatal(err)
	}
	want := batch[1]
	if !ts.Equal(want.Time) || kind != "decision" || typ != "decision" || did != want.DecisionID || rev != want.Revision ||
		path != want.Path || outcome != "deny" || subject != want.Subject || caller != want.Caller || latency != want.LatencyNS {
		t.Errorf("row 1: %v %s %s %s %s %s %s %s %s %d", ts, kind, typ, did, rev, path, outcome, subject, caller, latency)
	}
	if input["note"] != "tab\there\nnl = | \\ \uFFFD é" || result["allow"] != false {
		t.Errorf("input %q result %v", input, result)
	}
	if entry.DecisionID != want.DecisionID || entry.Index != 1 {
		t.Errorf("entry column %+v", entry)
	}
	var msg string
	var attrs map[string]string
	if err := conn.QueryRow(ctx, `SELECT message, attrs FROM decisions WHERE idx = 9`).Scan(&msg, &attrs); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(msg, "\uFFFDnul") || attrs["note"] != `a\b=c|d` {
		t.Errorf("event row: message %q attrs %v", msg, attrs)
	}
}

func TestPgJSONReplacesOnlyNULEscapes(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":"x\u0000y"}`:        `{"a":"x\ufffdy"}`,
		`{"a":"\\u0000"}`:         `{"a":"\\u0000"}`, // an escaped backslash, then text
		`{"a":"\\\u0000"}`:        `{"a":"\\\ufffd"}`,
		`["\u0000","\u00001"]`:    `["\ufffd","\ufffd1"]`,
		`{"\u0000":1}`:            `{"\ufffd":1}`,
		`{"a":"\u00e9\n"}`:        `{"a":"\u00e9\n"}`,
		`"trailing backslash \\"`: `"trailing backslash \\"`,
	} {
		got := string(pgJSON([]byte(in)).(json.RawMessage))
		if got != want {
			t.Errorf("pgJSON(%s) = %s, want %s", in, got, want)
		}
	}
	if pgJSON(nil) != nil {
		t.Error("empty JSON must be NULL")
	}
}

func TestPostgresErrorsHideThePassword(t *testing.T) {
	const pw = "s3cr3t-pa55"
	_, err := New(Config{Type: TypePostgres, Name: "pg", DSN: "host=127.0.0.1 password=" + pw + " port=notaport"})
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Fatalf("bad DSN error %v", err)
	}
	port := sinktest.FreePort(t) // nothing listens there
	s, err := New(Config{Type: TypePostgres, Name: "pg", DSN: "postgres://u:" + pw + "@127.0.0.1:" + strconv.Itoa(port) + "/db?sslmode=disable",
		PasswordFile: writeSecret(t, pw+"-file")})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), testEntries(0, 1))
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Fatalf("connect error %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
