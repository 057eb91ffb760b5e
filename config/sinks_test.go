package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// sinksYAML nests the given lines (already indented as items, "- ...")
// under audit.sinks, so that the first item starts on line 3.
func sinksYAML(items ...string) string {
	var b strings.Builder
	b.WriteString("audit:\n  sinks:\n")
	for _, l := range items {
		b.WriteString("    " + l + "\n")
	}
	return b.String()
}

// One valid item of each type, as lines for sinksYAML.
var (
	syslogItem   = []string{"- name: siem", "  type: syslog", "  address: siem:6514", "  format: cef"}
	splunkItem   = []string{"- {name: hec, type: splunk, url: \"https://splunk:8088\", token_file: t, gzip: true}"}
	opaItem      = []string{"- {name: opa-logs, type: opa, url: \"http://logs\"}"}
	postgresItem = []string{"- {name: pg_1, type: postgres, dsn: \"host=db\"}"}
)

func lines(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestParseSinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []AuditSink
	}{
		{
			name: "one of each type",
			yaml: sinksYAML(lines(syslogItem, splunkItem, opaItem, postgresItem)...),
			want: []AuditSink{
				{Name: "siem", Type: "syslog", Address: "siem:6514", Format: "cef"},
				{Name: "hec", Type: "splunk", URL: "https://splunk:8088", TokenFile: "t", Gzip: true},
				{Name: "opa-logs", Type: "opa", URL: "http://logs"},
				{Name: "pg_1", Type: "postgres", DSN: "host=db"},
			},
		},
		{
			name: "every syslog setting",
			yaml: sinksYAML("- name: s", "  type: syslog", "  address: \"[::1]:514\"", "  format: leef", "  framing: newline",
				"  tls: true", "  ca_file: ca", "  cert_file: c", "  key_file: k", "  server_name: n",
				"  batch_size: 0", "  flush_interval: 1m30s"),
			want: []AuditSink{{Name: "s", Type: "syslog", Address: "[::1]:514", Format: "leef", Framing: "newline",
				TLS: true, CAFile: "ca", CertFile: "c", KeyFile: "k", ServerName: "n", FlushInterval: "1m30s"}},
		},
		{
			name: "item through an alias",
			yaml: "audit:\n  sinks:\n    - &p {name: a, type: postgres, dsn: d}\n    - {name: b, type: postgres, dsn: d}\n",
			want: []AuditSink{{Name: "a", Type: "postgres", DSN: "d"}, {Name: "b", Type: "postgres", DSN: "d"}},
		},
		{name: "empty list", yaml: "audit:\n  sinks: []\n", want: nil},
		{name: "null list", yaml: "audit:\n  sinks:\n", want: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := Parse([]byte(tc.yaml), "belladonna.yaml")
			if err != nil {
				t.Fatalf("%v\n%s", err, tc.yaml)
			}
			want := Default()
			want.Audit.Sinks = tc.want
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Audit.Sinks:\n got %+v\nwant %+v", got.Audit.Sinks, tc.want)
			}
		})
	}
}

// Problems inside items name the key with the item's index and its position,
// whichever stage finds them.
func TestParseSinkProblems(t *testing.T) {
	t.Parallel()
	knownSinkKeys := "name, type, address, format, framing, tls, ca_file, cert_file, key_file, server_name, url, token_file, gzip, dsn, password_file, table, batch_size, flush_interval"
	tests := []struct {
		name     string
		yaml     string
		sentinel error
		want     []string
	}{
		{
			name:     "unknown key in item 1 with suggestion",
			yaml:     sinksYAML(lines(opaItem, []string{"- name: siem", "  type: syslog", "  adress: siem:514", "  format: cef"})...),
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:6:7: unknown key "audit.sinks[1].adress" (did you mean "address"?)`},
		},
		{
			name:     "unknown key without a close match lists the item's keys",
			yaml:     sinksYAML("- {name: pg, type: postgres, dsn: d, colour: red}"),
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:3:42: unknown key "audit.sinks[0].colour" (known keys in audit.sinks[0]: ` + knownSinkKeys + `)`},
		},
		{
			name:     "a key from elsewhere in the file is not suggested inside an item",
			yaml:     sinksYAML("- {name: pg, type: postgres, dsn: d, enabled: true}"),
			sentinel: ErrUnknownKey,
			want:     []string{`belladonna.yaml:3:42: unknown key "audit.sinks[0].enabled" (known keys in audit.sinks[0]: ` + knownSinkKeys + `)`},
		},
		{
			name:     "wrong type in an item",
			yaml:     sinksYAML(lines(syslogItem, []string{"  batch_size: x"})...),
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:7:19: audit.sinks[0].batch_size: want an integer, got "x"`},
		},
		{
			name:     "wrong type for a required key is reported once",
			yaml:     sinksYAML("- {name: [a], type: postgres, dsn: d}"),
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:3:14: audit.sinks[0].name: want a string, got a list`},
		},
		{
			name:     "item not a mapping keeps the indexes of the next items",
			yaml:     sinksYAML("- siem", "-", "- {name: pg, type: kafka}"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:7: audit.sinks[0]: want a mapping, got "siem"`,
				`belladonna.yaml:4:6: audit.sinks[1]: want a mapping, got nothing (null)`,
				`belladonna.yaml:5:24: audit.sinks[2].type: want one of syslog|splunk|opa|postgres, got "kafka"`,
			},
		},
		{
			name:     "list item that is a list",
			yaml:     sinksYAML("- [name, x]"),
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:3:7: audit.sinks[0]: want a mapping, got a list`},
		},
		{
			name:     "sinks not a list",
			yaml:     "audit:\n  sinks:\n    name: siem\n",
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:3:5: audit.sinks: want a list of mappings, got a mapping`},
		},
		{
			name:     "key set twice in an item",
			yaml:     sinksYAML(lines(syslogItem, []string{"  name: other"})...),
			sentinel: ErrSyntax,
			want:     []string{`belladonna.yaml:7:7: key "audit.sinks[0].name" is set twice (first at line 3)`},
		},
		{
			name:     "removed key inside an item",
			yaml:     sinksYAML("- {name: pg, type: postgres, dsn: d, disable_chain: true}"),
			sentinel: ErrRemovedKey,
			want:     []string{`belladonna.yaml:3:42: key "audit.sinks[0].disable_chain" was removed in Belladonna 0.1: the audit log is always hash-chained, so that a rewritten entry is detected; remove the key`},
		},
		{
			name:     "merge key inside an item",
			yaml:     "base: &b {type: postgres}\naudit:\n  sinks:\n    - {<<: *b, name: pg, dsn: d}\n",
			sentinel: ErrSyntax,
			want: []string{
				`belladonna.yaml:1:1: unknown key "base" (known keys in top level: data_dir, log, server, policies, audit, validate, repository, bundles)`,
				`belladonna.yaml:4:8: merge keys (<<) are not supported in the configuration; write the keys out`,
			},
		},
		{
			name:     "duplicate names",
			yaml:     sinksYAML(lines(syslogItem, splunkItem, []string{"- {name: siem, type: postgres, dsn: d}"})...),
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:8:14: audit.sinks[2].name: "siem" is already the name of audit.sinks[0]; sink names must be unique`},
		},
		{
			name:     "bad type",
			yaml:     sinksYAML("- name: k", "  type: kafka"),
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:4:13: audit.sinks[0].type: want one of syslog|splunk|opa|postgres, got "kafka"`},
		},
		{
			name:     "type is case sensitive",
			yaml:     sinksYAML("- {name: k, type: Syslog, address: \"h:1\", format: cef}"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:23: audit.sinks[0].type: want one of syslog|splunk|opa|postgres, got "Syslog"`,
			},
		},
		{
			name:     "missing name and type",
			yaml:     sinksYAML(lines(opaItem, []string{"- batch_size: 5"})...),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:4:7: audit.sinks[1].name: required: a unique name, which names the sink's cursor file`,
				`belladonna.yaml:4:7: audit.sinks[1].type: required: one of syslog|splunk|opa|postgres`,
			},
		},
		{
			name:     "name that is not a safe file name",
			yaml:     sinksYAML("- {name: ../x, type: postgres, dsn: d}", "- {name: a.b, type: postgres, dsn: d}", "- {name: -a, type: postgres, dsn: d}"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:14: audit.sinks[0].name: want 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (it names the sink's cursor file), got "../x"`,
				`belladonna.yaml:4:14: audit.sinks[1].name: want 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (it names the sink's cursor file), got "a.b"`,
				`belladonna.yaml:5:14: audit.sinks[2].name: want 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (it names the sink's cursor file), got "-a"`,
			},
		},
		{
			name:     "syslog without address and format",
			yaml:     sinksYAML("- name: s", "  type: syslog"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:7: audit.sinks[0].address: required for syslog sinks: the receiver's host:port`,
				`belladonna.yaml:3:7: audit.sinks[0].format: required for syslog sinks: one of cef|leef`,
			},
		},
		{
			name:     "syslog with bad address, format and framing",
			yaml:     sinksYAML("- {name: a, type: syslog, address: siem, format: json, framing: lf}", "- {name: b, type: syslog, address: \":514\", format: cef}"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:40: audit.sinks[0].address: want host:port, got "siem": address siem: missing port in address`,
				`belladonna.yaml:3:54: audit.sinks[0].format: want one of cef|leef, got "json"`,
				`belladonna.yaml:3:69: audit.sinks[0].framing: want one of octet-counting|newline, got "lf"`,
				`belladonna.yaml:4:40: audit.sinks[1].address: want host:port, got ":514": missing host`,
			},
		},
		{
			name:     "syslog tls files",
			yaml:     sinksYAML(lines(syslogItem, []string{"  ca_file: ca", "  cert_file: c"})...),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:7:16: audit.sinks[0].ca_file: requires audit.sinks[0].tls: true`,
				`belladonna.yaml:8:18: audit.sinks[0].cert_file: requires audit.sinks[0].tls: true`,
				`belladonna.yaml:8:18: audit.sinks[0].key_file: required when audit.sinks[0].cert_file is set`,
			},
		},
		{
			name:     "syslog key without cert",
			yaml:     sinksYAML(lines(syslogItem, []string{"  tls: true", "  key_file: k"})...),
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:8:17: audit.sinks[0].cert_file: required when audit.sinks[0].key_file is set`},
		},
		{
			name:     "http sinks without or with a bad url",
			yaml:     sinksYAML("- {name: a, type: splunk}", "- {name: b, type: opa, url: \"ftp://x\"}", "- {name: c, type: opa, url: \"https://\"}", "- {name: d, type: splunk, url: \"%zz\"}"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:7: audit.sinks[0].url: required for splunk sinks: an http or https URL`,
				`belladonna.yaml:4:33: audit.sinks[1].url: want an http or https URL, got "ftp://x": scheme "ftp" is not http or https`,
				`belladonna.yaml:5:33: audit.sinks[2].url: want an http or https URL, got "https://": missing host`,
				`belladonna.yaml:6:36: audit.sinks[3].url: want an http or https URL, got "%zz": parse "%zz": invalid URL escape "%zz"`,
			},
		},
		{
			name:     "postgres without dsn",
			yaml:     sinksYAML("- {name: pg, type: postgres, table: t}"),
			sentinel: ErrInvalidValue,
			want:     []string{`belladonna.yaml:3:7: audit.sinks[0].dsn: required for postgres sinks: a PostgreSQL connection string`},
		},
		{
			name: "settings of another type",
			yaml: sinksYAML("- {name: pg, type: postgres, dsn: d, address: \"h:1\", tls: true, cert_file: c, url: \"http://h\", gzip: true}",
				"- {name: o, type: opa, url: \"http://h\", gzip: true, password_file: p}"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:51: audit.sinks[0].address: not used by postgres sinks (only by syslog)`,
				`belladonna.yaml:3:63: audit.sinks[0].tls: not used by postgres sinks (only by syslog)`,
				`belladonna.yaml:3:80: audit.sinks[0].cert_file: not used by postgres sinks (only by syslog)`,
				`belladonna.yaml:3:88: audit.sinks[0].url: not used by postgres sinks (only by splunk and opa)`,
				`belladonna.yaml:3:106: audit.sinks[0].gzip: not used by postgres sinks (only by splunk)`,
				`belladonna.yaml:4:51: audit.sinks[1].gzip: not used by opa sinks (only by splunk)`,
				`belladonna.yaml:4:72: audit.sinks[1].password_file: not used by opa sinks (only by postgres)`,
			},
		},
		{
			name:     "bad batch size and durations",
			yaml:     sinksYAML("- {name: a, type: postgres, dsn: d, batch_size: -1, flush_interval: soon}", "- {name: b, type: postgres, dsn: d, flush_interval: 0s}", "- {name: c, type: postgres, dsn: d, flush_interval: -1s}"),
			sentinel: ErrInvalidValue,
			want: []string{
				`belladonna.yaml:3:53: audit.sinks[0].batch_size: must not be negative, got -1`,
				`belladonna.yaml:3:73: audit.sinks[0].flush_interval: want a Go duration such as "90s" or "720h", got "soon"`,
				`belladonna.yaml:4:57: audit.sinks[1].flush_interval: must be greater than 0, got "0s"`,
				`belladonna.yaml:5:57: audit.sinks[2].flush_interval: must be greater than 0, got "-1s"`,
			},
		},
		{
			name: "every problem in every item",
			yaml: sinksYAML("- name: a", "  type: syslog", "  adress: h:1", "  format: cef", "  batch_size: many",
				"- name: a", "  type: opa", "  url: https://h", "  gzp: true"),
			want: []string{
				`belladonna.yaml:5:7: unknown key "audit.sinks[0].adress" (did you mean "address"?)`,
				`belladonna.yaml:7:19: audit.sinks[0].batch_size: want an integer, got "many"`,
				`belladonna.yaml:8:13: audit.sinks[1].name: "a" is already the name of audit.sinks[0]; sink names must be unique`,
				`belladonna.yaml:11:7: unknown key "audit.sinks[1].gzp" (did you mean "gzip"?)`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, err := Parse([]byte(tc.yaml), "belladonna.yaml")
			wantLines(t, err, tc.want...)
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("errors.Is(err, %v) = false", tc.sentinel)
			}
			if !reflect.DeepEqual(cfg, Config{}) {
				t.Errorf("on error Parse returned %+v, want the zero Config", cfg)
			}
		})
	}
}

// Problems carry the indexed key, for callers that branch on it.
func TestSinkProblemKey(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte(sinksYAML(lines(opaItem, []string{"- {name: b, type: opa, url: \"http://h\", adress: x}"})...)), "b.yaml")
	ps := problemsOf(t, err)
	if len(ps) != 1 || ps[0].Key != "audit.sinks[1].adress" || ps[0].Line != 4 || ps[0].Column != 45 || !errors.Is(ps[0], ErrUnknownKey) {
		t.Errorf("problems: %+v", ps)
	}
}

// Check validates sinks set in code, naming the indexed keys without positions.
func TestCheckSinks(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Audit.Sinks = []AuditSink{
		{Name: "ok", Type: "postgres", DSN: "d"},
		{Name: "ok", Type: "splunk"},
		{Type: "syslog", Address: "h:1", Format: "cef", FlushInterval: "1s"},
	}
	wantLines(t, c.Check(),
		`audit.sinks[1].name: "ok" is already the name of audit.sinks[0]; sink names must be unique`,
		`audit.sinks[1].url: required for splunk sinks: an http or https URL`,
		`audit.sinks[2].name: required: a unique name, which names the sink's cursor file`,
	)
}
