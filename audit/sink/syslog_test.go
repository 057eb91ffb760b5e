package sink

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit/sink/internal/sinktest"
)

// TestSyslogToRsyslogSurvivesRestarts streams entries to a real rsyslogd,
// stops and restarts it twice mid-stream, and checks that every index
// arrived (duplicates are allowed: delivery is at-least-once) and reads back
// field by field.
func TestSyslogToRsyslogSurvivesRestarts(t *testing.T) {
	cases := []struct {
		name, format, framing string
		tls                   bool
	}{
		{"tcp-octet-cef", FormatCEF, FramingOctetCounting, false},
		{"tcp-newline-leef", FormatLEEF, FramingNewline, false},
		{"tls-octet-cef", FormatCEF, FramingOctetCounting, true},
		{"tls-newline-leef", FormatLEEF, FramingNewline, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts sinktest.RsyslogOptions
			cfg := Config{Type: TypeSyslog, Name: "siem", Format: tc.format, Framing: tc.framing, Hostname: "node-1"}
			if tc.tls {
				pki := sinktest.NewPKI(t, t.TempDir())
				opts.PKI = &pki
				cfg.TLS = TLSConfig{Enabled: true, CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}
			}
			rs := sinktest.StartRsyslog(t, opts)
			cfg.Address = fmt.Sprintf("127.0.0.1:%d", rs.Port)
			s, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			const n = 1500
			src := newMemSource()
			r := NewRunner(src, t.TempDir(), WithBackoff(5*time.Millisecond, 100*time.Millisecond))
			if err := r.Add(s, Batching{Size: 50, MaxLatency: 10 * time.Millisecond}); err != nil {
				t.Fatal(err)
			}
			if err := r.Start(t.Context()); err != nil {
				t.Fatal(err)
			}
			defer r.Stop(t.Context())
			produced := make(chan struct{})
			go func() {
				defer close(produced)
				for i := 0; i < n; i += 10 {
					src.Append(testEntries(i, 10)...)
					time.Sleep(5 * time.Millisecond)
				}
			}()

			restarts := 0
			for _, at := range []int{n / 4, n / 2} {
				waitFor(t, 20*time.Second, fmt.Sprintf("%d messages before restart", at), func() bool { return len(rs.Lines()) >= at })
				rs.Stop()
				time.Sleep(200 * time.Millisecond) // the sink fails and backs off meanwhile
				rs.Start()
				restarts++
			}
			<-produced
			var seen map[uint64]int
			waitFor(t, 30*time.Second, "every entry at rsyslog", func() bool {
				seen = checkSyslogLines(t, rs.Lines(), tc.format)
				return len(seen) == n
			})
			dups := 0
			for _, c := range seen {
				dups += c - 1
			}
			t.Logf("%d entries sent, %d unique received, %d duplicates, %d rsyslog restarts survived", n, len(seen), dups, restarts)
		})
	}
}

// checkSyslogLines parses what rsyslog wrote, checks each message against
// the entry it claims to be, and counts receptions per index.
func checkSyslogLines(t *testing.T, lines []string, format string) map[uint64]int {
	t.Helper()
	seen := map[uint64]int{}
	for _, line := range lines {
		m := syslogHeader.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("not an RFC 5424 message: %q", line)
		}
		var idx uint64
		var fields map[string]string
		switch format {
		case FormatCEF:
			_, ext, err := parseCEF(m[6])
			if err != nil {
				t.Fatalf("CEF %q: %v", m[6], err)
			}
			idx, err = strconv.ParseUint(ext["cn1"], 10, 64)
			if err != nil {
				t.Fatalf("no cn1 index in %q", m[6])
			}
			fields = map[string]string{"id": ext["externalId"], "msg": ext["msg"], "user": ext["suser"]}
		case FormatLEEF:
			parts := splitUnescaped(m[6], '|', 7)
			attrs := map[string]string{}
			for _, kv := range strings.Split(parts[len(parts)-1], "\t") {
				k, v, _ := strings.Cut(kv, "=")
				attrs[k] = v
			}
			var err error
			idx, err = strconv.ParseUint(attrs["auditIndex"], 10, 64)
			if err != nil {
				t.Fatalf("no auditIndex in %q", m[6])
			}
			fields = map[string]string{"id": attrs["decisionId"], "msg": attrs["msg"], "user": attrs["usrName"]}
			fields["msg"] = strings.ReplaceAll(fields["msg"], `\n`, "\n")
		}
		want := testEntry(int(idx))
		if m[3] != "node-1" || fields["id"] != want.DecisionID || fields["msg"] != want.Message || fields["user"] != want.Subject {
			t.Fatalf("index %d reads back as %v from %q", idx, fields, line)
		}
		seen[idx]++
	}
	return seen
}
