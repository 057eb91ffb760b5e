package sink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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
			reg := prometheus.NewRegistry()
			if err := r.RegisterMetrics(reg); err != nil {
				t.Fatal(err)
			}
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
			failed := metricValue(t, reg, "belladonna_audit_sink_errors_total", "siem")
			if failed == 0 {
				t.Error("no failed attempt while rsyslogd was down: the restarts did not hit the stream")
			}
			t.Logf("%d entries sent, %d unique received, %d duplicates, %d rsyslog restarts survived, %v failed attempts retried",
				n, len(seen), dups, restarts, failed)
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

// TestSyslogBatchNeedsTheReceiversClose pins down the acknowledgement the
// syslog sink relies on: a batch counts only when the receiver read to the
// end and closed; a receiver that closes with bytes unread (a reset), or
// never closes, fails the batch so that it is sent again.
func TestSyslogBatchNeedsTheReceiversClose(t *testing.T) {
	batch := testEntries(0, 200)
	for _, tc := range []struct {
		name  string
		serve func(c net.Conn) []byte
		ok    bool
	}{
		{"reads all, then closes", func(c net.Conn) []byte { b, _ := io.ReadAll(c); return b }, true},
		{"closes with unread bytes", func(c net.Conn) []byte {
			b := make([]byte, 100)
			io.ReadFull(c, b)
			time.Sleep(50 * time.Millisecond) // let the rest arrive unread
			return nil
		}, false},
		{"never closes", func(c net.Conn) []byte { io.ReadAll(c); time.Sleep(time.Second); return nil }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			got := make(chan []byte, 1)
			go func() {
				c, err := l.Accept()
				if err != nil {
					got <- nil
					return
				}
				b := tc.serve(c)
				c.Close()
				got <- b
			}()
			s, err := New(Config{Type: TypeSyslog, Name: "s", Address: l.Addr().String(), Hostname: "h"})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
			defer cancel()
			err = s.Send(ctx, batch)
			if (err == nil) != tc.ok {
				t.Fatalf("Send = %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			// Octet-counted frames: LEN SP MSG, back to back.
			b, n := <-got, 0
			for len(b) > 0 {
				sp := bytes.IndexByte(b, ' ')
				size, err := strconv.Atoi(string(b[:sp]))
				if err != nil || sp+1+size > len(b) {
					t.Fatalf("bad frame at message %d", n)
				}
				if !syslogHeader.Match(b[sp+1 : sp+1+size]) {
					t.Fatalf("frame %d is not RFC 5424", n)
				}
				b = b[sp+1+size:]
				n++
			}
			if n != len(batch) {
				t.Fatalf("%d frames, want %d", n, len(batch))
			}
		})
	}
}
