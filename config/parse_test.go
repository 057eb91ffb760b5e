package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// problemsOf returns the problems of an *Error, failing the test for any other
// kind of error.
func problemsOf(t *testing.T, err error) []Problem {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got nil")
	}
	e, ok := errors.AsType[*Error](err)
	if !ok {
		t.Fatalf("want *config.Error, got %T: %v", err, err)
	}
	if len(e.Problems) == 0 {
		t.Fatal("*Error with no problems")
	}
	return e.Problems
}

// wantLines checks err's message line by line against want, exactly.
func wantLines(t *testing.T, err error, want ...string) {
	t.Helper()
	problemsOf(t, err)
	got := strings.Split(err.Error(), "\n")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("error lines:\n got: %q\nwant: %q", got, want)
	}
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	data := `
data_dir: /var/lib/belladonna
log:
  level: debug
  format: json
server:
  addr: ":9443"
  max_request_bytes: 0x200000
  authentication:
    mode: token
    tokens_file: /etc/belladonna/tokens
  rate_limit:
    enabled: true
    requests_per_second: 250.5
    burst: 10
  tls:
    cert_file: tls.crt
    key_file: tls.key
    client_ca_file: ca.crt
policies:
  paths: [./policies, bundle.tar.gz]
  v0_compatible: true
audit:
  enabled: false
  tamper_evident: false
  mask: [/input/secret]
  retention:
    max_age: 720h
    max_bytes: 1073741824
    types: [decision, approval]
    archive_dir: /archive
    interval: 30m
  encryption:
    enabled: true
    keyring_file: /keys/keyring.json
    subjects_dir: /keys/subjects
  correlation:
    enabled: true
    rules: [./correlation]
  sinks:
    - name: siem
      type: syslog
      address: siem.example.com:6514
      format: leef
      framing: newline
      tls: true
      ca_file: ca.pem
      cert_file: c.pem
      key_file: k.pem
      server_name: siem
      batch_size: 50
      flush_interval: 250ms
    - {name: pg, type: postgres, dsn: "host=db dbname=audit", password_file: pw, table: audit.entries}
validate:
  fail_on: warning
  rules:
    - ./rules
  disable: [no-wildcards]
  baseline: .belladonna-baseline.json
`
	want := Config{
		DataDir: "/var/lib/belladonna",
		Log:     Log{Level: "debug", Format: "json"},
		Server: Server{
			Addr:            ":9443",
			MaxRequestBytes: 2 << 20,
			ResultCache:     100_000,
			ExtAuthz:        ExtAuthz{Path: "envoy/authz/allow"},
			Authentication:  Authentication{Mode: "token", TokensFile: "/etc/belladonna/tokens"},
			RateLimit:       RateLimit{Enabled: true, RequestsPerSecond: 250.5, Burst: 10},
			TLS:             TLS{CertFile: "tls.crt", KeyFile: "tls.key", ClientCAFile: "ca.crt"},
		},
		Policies: Policies{Paths: []string{"./policies", "bundle.tar.gz"}, V0Compatible: true},
		Audit: Audit{Enabled: false, TamperEvident: false, Mask: []string{"/input/secret"},
			Decisions: "all", SampleRate: 0.1, OnFailure: "closed",
			Retention: Retention{MaxAge: "720h", MaxBytes: 1 << 30, Types: []string{"decision", "approval"},
				ArchiveDir: "/archive", Interval: "30m"},
			Encryption:  Encryption{Enabled: true, KeyringFile: "/keys/keyring.json", SubjectsDir: "/keys/subjects"},
			Correlation: Correlation{Enabled: true, Rules: []string{"./correlation"}},
			Sinks: []AuditSink{
				{Name: "siem", Type: "syslog", Address: "siem.example.com:6514", Format: "leef", Framing: "newline",
					TLS: true, CAFile: "ca.pem", CertFile: "c.pem", KeyFile: "k.pem", ServerName: "siem",
					BatchSize: 50, FlushInterval: "250ms"},
				{Name: "pg", Type: "postgres", DSN: "host=db dbname=audit", PasswordFile: "pw", Table: "audit.entries"},
			},
		},
		Validate: Validate{
			FailOn:   "warning",
			Rules:    []string{"./rules"},
			Disable:  []string{"no-wildcards"},
			Baseline: ".belladonna-baseline.json",
		},
		Bundles: Default().Bundles,
	}
	got, err := Parse([]byte(data), "belladonna.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

// Keys left out keep their defaults, including the siblings of keys that are set.
func TestParsePartialKeepsDefaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		edit func(*Config)
	}{
		{"empty file", "", func(*Config) {}},
		{"comments only", "# nothing here\n\n# still nothing\n", func(*Config) {}},
		{"lone document marker", "---\n", func(*Config) {}},
		{"null document", "~\n", func(*Config) {}},
		{"empty section", "server:\nlog:\n", func(*Config) {}},
		{"one nested key", "server:\n  rate_limit:\n    burst: 5\n", func(c *Config) { c.Server.RateLimit.Burst = 5 }},
		{"number as string", "data_dir: 2024\n", func(c *Config) { c.DataDir = "2024" }},
		{"empty list equals default", "policies:\n  paths: []\n", func(*Config) {}},
		{"null list", "validate:\n  rules:\n", func(*Config) {}},
		{"integer for a float", "server: {rate_limit: {requests_per_second: 7}}", func(c *Config) { c.Server.RateLimit.RequestsPerSecond = 7 }},
		{"anchor and alias", "log: &l {level: warn}\nvalidate:\n  rules: [&r x, *r]\n", func(c *Config) {
			c.Log.Level = "warn"
			c.Validate.Rules = []string{"x", "x"}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := Default()
			tc.edit(&want)
			got, err := Parse([]byte(tc.yaml), "belladonna.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Parse(%q):\n got %+v\nwant %+v", tc.yaml, got, want)
			}
		})
	}
}

func TestParseProblems(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		yaml     string
		sentinel error
		want     []string
	}{
		{
			name:     "unknown nested key with suggestion",
			yaml:     "log:\n  level: info\nserver:\n  addr: 127.0.0.1:8181\n\n\n  authentcation:\n    mode: none\n",
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:7:3: unknown key "server.authentcation" (did you mean "server.authentication"?)`},
		},
		{
			name:     "unknown deep key with suggestion",
			yaml:     "server:\n  authentication:\n    tokens_fle: t\n",
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:3:5: unknown key "server.authentication.tokens_fle" (did you mean "server.authentication.tokens_file"?)`},
		},
		{
			name:     "right key in the wrong section",
			yaml:     "addr: :8181\n",
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:1:1: unknown key "addr" (did you mean "server.addr"?)`},
		},
		{
			name:     "case slip",
			yaml:     "Log:\n  level: info\n",
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:1:1: unknown key "Log" (did you mean "log"?)`},
		},
		{
			name:     "unknown key without a close match lists the section",
			yaml:     "log:\n  colour: true\n",
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:2:3: unknown key "log.colour" (known keys in log: level, format)`},
		},
		{
			name:     "string for an integer",
			yaml:     "server:\n  addr: 127.0.0.1:8181\n\n  max_request_bytes: big\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:4:22: server.max_request_bytes: want an integer, got "big"`},
		},
		{
			name:     "float for an integer",
			yaml:     "server: {rate_limit: {burst: 1.5}}",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:1:30: server.rate_limit.burst: want an integer, got "1.5"`},
		},
		{
			name:     "integer overflow",
			yaml:     "server:\n  max_request_bytes: 99999999999999999999\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:2:22: server.max_request_bytes: want an integer, got "99999999999999999999"`},
		},
		{
			name:     "yes is not a boolean",
			yaml:     "audit:\n  enabled: yes\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:2:12: audit.enabled: want a boolean (true or false), got "yes"`},
		},
		{
			name:     "boolean for a string",
			yaml:     "log:\n  format: true\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:2:11: log.format: want a string, got boolean true (quote it if you mean the text)`},
		},
		{
			name:     "mapping for a string",
			yaml:     "data_dir:\n  path: x\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:2:3: data_dir: want a string, got a mapping`},
		},
		{
			name:     "scalar for a list",
			yaml:     "policies:\n  paths: ./policies\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:2:10: policies.paths: want a list of strings, got "./policies"`},
		},
		{
			name:     "bad list item",
			yaml:     "validate:\n  disable: [a, [b], c]\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:2:16: validate.disable[1]: want a string, got a list`},
		},
		{
			name:     "scalar for a section",
			yaml:     "server: on\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:1:9: server: want a mapping, got "on"`},
		},
		{
			name:     "top level is not a mapping",
			yaml:     "- a\n- b\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:1:1: want a mapping of keys at the top level, got a list`},
		},
		{
			name:     "two documents",
			yaml:     "log:\n  level: info\n---\nlog:\n  level: debug\n",
			sentinel: ErrSyntax,
			want:     []string{`belladonna.yaml:3:1: a second YAML document starts here; the configuration must be a single document`},
		},
		{
			name:     "two empty documents",
			yaml:     "---\n---\n",
			sentinel: ErrSyntax,
			want:     []string{`belladonna.yaml:2:1: a second YAML document starts here; the configuration must be a single document`},
		},
		{
			name:     "scanner error",
			yaml:     "log:\n  level: a: b\n",
			sentinel: ErrSyntax,
			want:     []string{`belladonna.yaml:2: invalid YAML: mapping values are not allowed in this context`},
		},
		{
			name:     "parser error",
			yaml:     "log:\n  level: [info\n",
			sentinel: ErrSyntax,
			want:     []string{`belladonna.yaml:2: invalid YAML: did not find expected ',' or ']'`},
		},
		{
			name:     "duplicate key",
			yaml:     "log:\n  level: info\n  level: debug\n",
			sentinel: ErrSyntax,
			want:     []string{`belladonna.yaml:3:3: key "log.level" is set twice (first at line 2)`},
		},
		{
			name:     "merge key",
			yaml:     "base: &b {level: debug}\nlog:\n  <<: *b\n",
			sentinel: ErrSyntax,
			want: []string{
				`belladonna.yaml:1:1: unknown key "base" (known keys in top level: data_dir, log, server, policies, audit, validate, repository, bundles)`,
				`belladonna.yaml:3:3: merge keys (<<) are not supported in the configuration; write the keys out`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tc.yaml), "belladonna.yaml")
			wantLines(t, err, tc.want...)
			if !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(err, %v) = false", tc.sentinel)
			}
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("on error Parse returned %+v, want the zero Config", cfg)
			}
		})
	}
}

// All problems of a file come back at once, in file order, whatever stage
// found them (unknown keys, types, removed keys, validation).
func TestParseReportsAllProblems(t *testing.T) {
	t.Parallel()
	data := `allow_legacy_tokens: true
log:
  level: loud
  fromat: json
server:
  max_request_bytes: big
  authentication:
    mode: token
  rate_limit:
    enabled: true
    burst: 0
validate:
  fail_on: critical
`
	_, err := Parse([]byte(data), "b.yaml")
	ps := problemsOf(t, err)
	wantLines(t, err,
		`b.yaml:1:1: key "allow_legacy_tokens" was removed in Belladonna 0.1: legacy unhashed tokens are no longer accepted; use server.authentication.mode: token with tokens_file (SHA-256 digests) instead`,
		`b.yaml:3:10: log.level: want one of debug|info|warn|error, got "loud"`,
		`b.yaml:4:3: unknown key "log.fromat" (did you mean "log.format"?)`,
		`b.yaml:6:22: server.max_request_bytes: want an integer, got "big"`,
		`b.yaml:8:11: server.authentication.tokens_file: required when server.authentication.mode is token`,
		`b.yaml:11:12: server.rate_limit.burst: must be at least 1 when server.rate_limit.enabled is true, got 0`,
		`b.yaml:13:12: validate.fail_on: want one of error|warning|info, got "critical"`,
	)
	for _, s := range []error{ErrRemovedKey, ErrUnknownKey, ErrInvalidValue} {
		if !errors.Is(err, s) {
			t.Errorf("errors.Is(err, %v) = false", s)
		}
	}
	if p := ps[2]; p.File != "b.yaml" || p.Line != 4 || p.Column != 3 || p.Key != "log.fromat" || !errors.Is(p, ErrUnknownKey) {
		t.Errorf("problem fields: %+v", p)
	}
}

// A hostile file cannot produce an unbounded error.
func TestParseCapsProblems(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 3 * maxProblems {
		fmt.Fprintf(&b, "key%d: 1\n", i)
	}
	_, err := Parse([]byte(b.String()), "big.yaml")
	ps := problemsOf(t, err)
	if len(ps) != maxProblems+1 {
		t.Fatalf("got %d problems, want %d", len(ps), maxProblems+1)
	}
	if last := ps[len(ps)-1].Message; !strings.HasSuffix(last, "more problems not shown") {
		t.Errorf("last problem = %q", last)
	}
}
