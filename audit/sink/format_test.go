package sink

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/version"
)

// splitUnescaped splits s at sep characters not preceded by an escaping
// backslash, stopping after max-1 splits.
func splitUnescaped(s string, sep byte, max int) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s) && len(parts) < max-1; i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

var cefHeaderUnescape = strings.NewReplacer(`\\`, `\`, `\|`, `|`)
var cefValueUnescape = strings.NewReplacer(`\\`, `\`, `\=`, `=`, `\n`, "\n", `\r`, "\r")

// parseCEF is an independent reader of CEF lines, following the spec's
// escaping rules: it is what the tests and the fuzz target hold formatCEF to.
func parseCEF(line string) (header []string, ext map[string]string, err error) {
	parts := splitUnescaped(line, '|', 8)
	if len(parts) != 8 || parts[0] != "CEF:0" {
		return nil, nil, fmt.Errorf("want 8 pipe-separated parts starting CEF:0, got %d", len(parts))
	}
	for _, p := range parts[:7] {
		header = append(header, cefHeaderUnescape.Replace(p))
	}
	ext = map[string]string{}
	s := parts[7]
	// Every unescaped '=' ends a key: the word before it.
	type kpos struct {
		key       string
		start, eq int
	}
	var keys []kpos
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
			continue
		}
		if s[i] != '=' {
			continue
		}
		j := i
		for j > 0 && isKeyChar(s[j-1]) {
			j--
		}
		if j == i || (j > 0 && s[j-1] != ' ') {
			return nil, nil, fmt.Errorf("unescaped '=' at %d not after a key", i)
		}
		keys = append(keys, kpos{s[j:i], j, i})
	}
	for k, kp := range keys {
		end := len(s)
		if k+1 < len(keys) {
			end = keys[k+1].start - 1 // the space before the next key
		}
		if end < kp.eq+1 {
			return nil, nil, fmt.Errorf("key %s has no value", kp.key)
		}
		if _, dup := ext[kp.key]; dup {
			return nil, nil, fmt.Errorf("key %s twice", kp.key)
		}
		ext[kp.key] = cefValueUnescape.Replace(s[kp.eq+1 : end])
	}
	return header, ext, nil
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

func TestCEFMapsDecisionFields(t *testing.T) {
	e := testEntry(1) // a denial
	e.Index = 1
	line := formatCEF(&e)
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("raw line break in %q", line)
	}
	h, ext, err := parseCEF(line)
	if err != nil {
		t.Fatalf("%v\n%s", err, line)
	}
	wantHeader := []string{"CEF:0", "Belladonna", "belladonna", version.Version, "decision.deny", "policy decision: deny", "3"}
	if strings.Join(h, "|") != strings.Join(wantHeader, "|") {
		t.Errorf("header %q, want %q", h, wantHeader)
	}
	want := map[string]string{
		"rt": "1741064767001", "cat": "decision", "act": "deny", "outcome": "deny",
		"suser": e.Subject, "src": "127.0.0.2", "spt": "40001", "externalId": "dec-000001",
		"cn1Label": "auditIndex", "cn1": "1", "cn2Label": "latencyNs", "cn2": "1001",
		"cs1Label": "policyPath", "cs1": "app/authz/allow",
		"cs2Label": "bundleRevision", "cs2": "sha256:abc|def",
		"cs3Label": "input", "cs3": string(e.Input),
		"cs4Label": "result", "cs4": string(e.Result),
		"cs6Label": "caller", "cs6": e.Caller,
	}
	for k, v := range want {
		if ext[k] != v {
			t.Errorf("%s = %q, want %q", k, ext[k], v)
		}
	}
	if len(ext) != len(want) {
		t.Errorf("extension has %d keys, want %d: %v", len(ext), len(want), ext)
	}
}

func TestCEFEscapesEventText(t *testing.T) {
	e := testEntry(9) // an event with | \ = and a newline in message and attrs
	line := formatCEF(&e)
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("raw line break in %q", line)
	}
	if !strings.Contains(line, `msg=bundle activated | rev\=9\nsecond line`) {
		t.Errorf("message not escaped as the spec says: %s", line)
	}
	h, ext, err := parseCEF(line)
	if err != nil {
		t.Fatal(err)
	}
	if h[4] != "bundle_activation" || h[6] != "8" {
		t.Errorf("header %q: want signature bundle_activation, severity 8 (high)", h)
	}
	if ext["msg"] != e.Message || ext["cs5"] != `{"bundle":"main","note":"a\\b=c|d"}` || ext["suser"] != "ops" {
		t.Errorf("extension %v", ext)
	}
}

func TestCEFHeaderEscaping(t *testing.T) {
	e := audit.Entry{Kind: audit.KindEvent, Type: `we|rd\type` + "\n"}
	line := formatCEF(&e)
	if !strings.HasPrefix(line, `CEF:0|Belladonna|belladonna|`+version.Version+`|we\|rd\\type |audit event: we\|rd\\type |1|`) {
		t.Errorf("header not escaped: %s", line)
	}
}

var leefLine = regexp.MustCompile(`^LEEF:2\.0\|Belladonna\|belladonna\|[^|]*\|[^|]+\|x09\|`)

func TestLEEFMapsFields(t *testing.T) {
	e := testEntry(3) // an evaluation error
	e.Index = 3
	line := formatLEEF(&e)
	if !leefLine.MatchString(line) {
		t.Fatalf("header: %s", line)
	}
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("raw line break: %q", line)
	}
	attrs := splitUnescaped(line, '|', 7)[6]
	got := map[string]string{}
	for _, kv := range strings.Split(attrs, "\t") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("attribute without '=': %q", kv)
		}
		got[k] = v
	}
	want := map[string]string{
		"devTime": "2025-03-04T05:06:07.003+0000", "devTimeFormat": "yyyy-MM-dd'T'HH:mm:ss.SSSZ",
		"cat": "decision.error", "sev": "5", "usrName": e.Subject, "src": "127.0.0.4", "srcPort": "40003",
		"kind": "decision", "outcome": "error", "decisionId": "dec-000003", "policyPath": "app/authz/allow",
		"bundleRevision": "sha256:abc|def", "auditIndex": "3", "latencyNs": "1003", "caller": e.Caller,
		"reason": e.Error, "input": strings.NewReplacer(`\t`, `\t`).Replace(string(e.Input)),
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("%d attributes, want %d: %v", len(got), len(want), got)
	}
	ev := testEntry(9)
	if l := formatLEEF(&ev); !strings.Contains(l, "msg=bundle activated | rev=9\\nsecond line") || strings.Contains(l, "\n") {
		t.Errorf("event message: %q", l)
	}
}

var syslogHeader = regexp.MustCompile(`^<(\d+)>1 (\S+) (\S+) belladonna (\d+) (\S+) - (.*)$`)

func TestSyslogMessageHeader(t *testing.T) {
	s := &syslogSink{hostname: syslogToken("web 01\n", 255), procID: "42", format: formatCEF}
	e := testEntry(9)
	m := syslogHeader.FindStringSubmatch(s.message(&e))
	if m == nil {
		t.Fatalf("not RFC 5424: %q", s.message(&e))
	}
	if m[1] != "107" || m[2] != "2025-03-04T05:06:07.009000Z" || m[3] != "web01" || m[5] != "bundle_activation" {
		t.Errorf("header fields %q: want PRI 107 (log audit, error), UTC time, host web01, MSGID bundle_activation", m[1:6])
	}
	var zero audit.Entry
	if m := syslogHeader.FindStringSubmatch(s.message(&zero)); m == nil || m[2] != "-" || m[5] != "-" {
		t.Errorf("an entry without time or type: %q", s.message(&zero))
	}
}
