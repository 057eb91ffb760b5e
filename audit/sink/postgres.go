package sink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/belladonna-dev/belladonna/audit"
)

const (
	defaultTable = "audit_entries"
	// stageTable is per connection (TEMP) and emptied by every commit.
	stageTable     = "belladonna_audit_stage"
	pgCloseTimeout = 5 * time.Second
	// pgConnectTimeout applies when the DSN sets no connect_timeout, so a
	// black-holed server costs a retry, not a hung sink.
	pgConnectTimeout = 10 * time.Second
	// pgSendTimeout bounds one batch: a server that stops answering
	// mid-transaction must not hold the sink forever.
	pgSendTimeout = time.Minute
)

// pgColumns are the table's columns in COPY order.
var pgColumns = []string{
	"idx", "time", "kind", "type", "decision_id", "revision", "path", "outcome", "subject",
	"caller", "latency_ns", "input", "result", "message", "attrs", "entry",
}

// postgresSink writes entries to one table, keyed by log index, so that a
// batch sent twice (after a crash or a lost acknowledgement) adds nothing.
type postgresSink struct {
	name   string
	config *pgx.ConnConfig
	table  string // quoted, possibly schema-qualified
	conn   *pgx.Conn
}

func newPostgres(cfg Config) (*postgresSink, error) {
	if err := cfg.onlyFor(TypePostgres); err != nil {
		return nil, err
	}
	if cfg.DSN == "" {
		return nil, cfg.invalid("dsn", "required")
	}
	pc, err := pgx.ParseConfig(cfg.DSN)
	if err != nil {
		// pgx's message quotes the DSN with a best-effort redaction of
		// passwords; none of it is repeated here.
		return nil, cfg.invalid("dsn", "cannot be parsed (the value is not shown: it may hold a password)")
	}
	password, err := cfg.secret("password_file", cfg.Password, cfg.PasswordFile)
	if err != nil {
		return nil, err
	}
	if password != "" {
		pc.Password = password
	}
	if pc.ConnectTimeout == 0 {
		pc.ConnectTimeout = pgConnectTimeout
	}
	table := cfg.Table
	if table == "" {
		table = defaultTable
	}
	parts := strings.Split(table, ".")
	if len(parts) > 2 || slices.Contains(parts, "") {
		return nil, cfg.invalid("table", fmt.Sprintf("want name or schema.name, got %q", table))
	}
	return &postgresSink{name: cfg.Name, config: pc, table: pgx.Identifier(parts).Sanitize()}, nil
}

func (s *postgresSink) Name() string { return s.name }

// Send copies the batch into a staging table and moves it into the table
// with ON CONFLICT (idx) DO NOTHING, in one transaction. Any error drops the
// connection, so that the retry starts from a fresh one (the usual error is
// a restarted server).
func (s *postgresSink) Send(ctx context.Context, entries []audit.Entry) error {
	ctx, cancel := context.WithTimeout(ctx, pgSendTimeout)
	defer cancel()
	if s.conn == nil || s.conn.IsClosed() {
		if err := s.connect(ctx); err != nil {
			return err
		}
	}
	if err := s.write(ctx, entries); err != nil {
		s.drop()
		return fmt.Errorf("audit sink %s: %w", s.name, err)
	}
	return nil
}

func (s *postgresSink) connect(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.config)
	if err != nil {
		// pgconn's connect errors name host, user and database, not the
		// password.
		return fmt.Errorf("audit sink %s: connecting to PostgreSQL: %w", s.name, err)
	}
	ddl := []string{
		`CREATE TABLE IF NOT EXISTS ` + s.table + ` (
			idx bigint PRIMARY KEY,
			time timestamptz,
			kind text,
			type text,
			decision_id text,
			revision text,
			path text,
			outcome text,
			subject text,
			caller text,
			latency_ns bigint,
			input jsonb,
			result jsonb,
			message text,
			attrs jsonb,
			entry jsonb
		)`,
		`CREATE TEMP TABLE IF NOT EXISTS ` + stageTable + ` (LIKE ` + s.table + `) ON COMMIT DELETE ROWS`,
	}
	for _, q := range ddl {
		if _, err := conn.Exec(ctx, q); err != nil {
			closeQuietly(conn)
			return fmt.Errorf("audit sink %s: creating tables: %w", s.name, err)
		}
	}
	s.conn = conn
	return nil
}

func (s *postgresSink) write(ctx context.Context, entries []audit.Entry) error {
	rows := make([][]any, 0, len(entries))
	for i := range entries {
		row, err := pgRow(&entries[i])
		if err != nil {
			return err
		}
		rows = append(rows, row)
	}
	tx, err := s.conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }() // a no-op after Commit
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{stageTable}, pgColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("copying into the staging table: %w", err)
	}
	cols := strings.Join(pgColumns, ", ")
	if _, err := tx.Exec(ctx, `INSERT INTO `+s.table+` (`+cols+`) SELECT `+cols+` FROM `+stageTable+
		` ON CONFLICT (idx) DO NOTHING`); err != nil {
		return fmt.Errorf("inserting from the staging table: %w", err)
	}
	// ON CONFLICT makes a resend harmless, but it would as silently drop
	// the entries of a second audit log sharing the table (both count
	// from index 0). A resent entry matches the row already there in the
	// fields that never change (erasure only removes input and result);
	// anything else is such a collision, and is refused loudly.
	var clash int64
	err = tx.QueryRow(ctx, `SELECT s.idx FROM `+stageTable+` s JOIN `+s.table+` t USING (idx)
		WHERE (t.time, t.kind, t.type, t.decision_id) IS DISTINCT FROM (s.time, s.kind, s.type, s.decision_id)
		LIMIT 1`).Scan(&clash)
	switch {
	case err == nil:
		return fmt.Errorf("%w: table %s already holds a different entry at index %d; each audit log needs its own table",
			ErrRejected, s.table, clash)
	case !errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("checking for index collisions: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}

// pgRow converts e to column values. Text and JSON are cleaned of what
// PostgreSQL refuses (NUL bytes in text, \u0000 in jsonb): otherwise one
// such entry would fail its batch on every retry and stall the sink for good.
func pgRow(e *audit.Entry) ([]any, error) {
	if e.Index > math.MaxInt64 {
		return nil, fmt.Errorf("entry %d: index beyond PostgreSQL's bigint", e.Index)
	}
	whole, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("entry %d: encoding: %w", e.Index, err)
	}
	var attrs any
	if len(e.Attrs) > 0 {
		bs, err := json.Marshal(e.Attrs)
		if err != nil {
			return nil, fmt.Errorf("entry %d: encoding attrs: %w", e.Index, err)
		}
		attrs = pgJSON(bs)
	}
	var latency any
	if e.LatencyNS != 0 {
		latency = e.LatencyNS
	}
	return []any{
		int64(e.Index), e.Time, pgText(string(e.Kind)), pgText(e.Type), pgText(e.DecisionID),
		pgText(e.Revision), pgText(e.Path), pgText(e.Outcome), pgText(e.Subject), pgText(e.Caller),
		latency, pgJSON(e.Input), pgJSON(e.Result), pgText(e.Message), attrs, pgJSON(whole),
	}, nil
}

// pgText is NULL for "" and otherwise valid UTF-8 without NUL bytes.
func pgText(s string) any {
	if s == "" {
		return nil
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}

// pgJSON is NULL for an empty value and otherwise the JSON with every
// \u0000 escape (which jsonb rejects) replaced by \ufffd. In valid JSON each
// backslash starts an escape, so walking escapes pairwise finds exactly the
// NUL escapes and never a "\\u0000" that is an escaped backslash.
func pgJSON(raw []byte) any {
	if len(raw) == 0 {
		return nil
	}
	var out []byte
	copied := 0 // raw[:copied] is already in out
	for i := 0; i+1 < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if raw[i+1] == 'u' && i+6 <= len(raw) && string(raw[i+2:i+6]) == "0000" {
			out = append(out, raw[copied:i]...)
			out = append(out, `\ufffd`...)
			copied = i + 6
		}
		i++ // skip the escaped character (the rest of \uXXXX is hex digits)
	}
	if out == nil {
		return json.RawMessage(raw)
	}
	return json.RawMessage(append(out, raw[copied:]...))
}

func (s *postgresSink) drop() {
	if s.conn != nil {
		closeQuietly(s.conn)
		s.conn = nil
	}
}

func closeQuietly(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), pgCloseTimeout)
	defer cancel()
	_ = conn.Close(ctx)
}

// Close closes the connection.
func (s *postgresSink) Close() error {
	s.drop()
	return nil
}
