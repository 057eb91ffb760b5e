package sink

import (
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
)

// FuzzCEFAndLEEFEscaping feeds arbitrary text into every field that reaches
// a CEF or LEEF line. Invariants: no raw line break anywhere (one message is
// one line under newline framing); the CEF header keeps exactly its seven
// separators and every value reads back exactly through an independent
// parser; the LEEF header keeps its six separators and no value contains the
// delimiter.
func FuzzCEFAndLEEFEscaping(f *testing.F) {
	f.Add("app/authz/allow", "deny", "msg with | pipe", `us\er=1`, "rev|1", "id=1\n", "bundle_activation", `{"a":"\\n|="}`)
	f.Add("", "", "", "", "", "", "", "")
	f.Add(`\`, `|`, "=", "\r\n", `\|`, `\=`, "a\\", "\t")
	f.Fuzz(func(t *testing.T, path, outcome, message, subject, revision, decisionID, typ, input string) {
		for _, kind := range []audit.Kind{audit.KindDecision, audit.KindEvent} {
			e := audit.Entry{
				Kind: kind, Type: typ, Path: path, Outcome: outcome, Message: message,
				Subject: subject, Revision: revision, DecisionID: decisionID, Caller: subject,
				Input: []byte(input), Attrs: map[string]string{"k": message},
			}
			checkCEF(t, &e)
			checkLEEF(t, &e)
		}
	})
}

func checkCEF(t *testing.T, e *audit.Entry) {
	line := formatCEF(e)
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("raw line break in CEF %q", line)
	}
	h, ext, err := parseCEF(line)
	if err != nil {
		t.Fatalf("unparseable CEF %q: %v", line, err)
	}
	oneLine := strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace
	if h[4] != oneLine(eventClass(e)) || h[5] != oneLine(title(e)) {
		t.Fatalf("header %q does not read back signature %q / name %q", h, eventClass(e), title(e))
	}
	for key, want := range map[string]string{
		"msg": e.Message, "suser": e.Subject, "cs1": e.Path, "cs2": e.Revision,
		"externalId": e.DecisionID, "outcome": e.Outcome, "cs6": e.Caller,
		"cs3": truncate(string(e.Input), maxJSONField),
	} {
		if got, ok := ext[key]; got != want || ok != (want != "") {
			t.Fatalf("%s reads back as %q (present %v), want %q\nline: %q", key, got, ok, want, line)
		}
	}
}

func checkLEEF(t *testing.T, e *audit.Entry) {
	line := formatLEEF(e)
	if strings.ContainsAny(line, "\r\n") {
		t.Fatalf("raw line break in LEEF %q", line)
	}
	parts := splitUnescaped(line, '|', 7)
	if len(parts) != 7 || parts[0] != "LEEF:2.0" || parts[5] != leefDelimiterHex {
		t.Fatalf("LEEF header lost its shape: %q", parts)
	}
	n := 0
	for _, kv := range strings.Split(parts[6], "\t") {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" || !isKeyWord(k) {
			t.Fatalf("LEEF attribute %q is not key=value\nline: %q", kv, line)
		}
		n++
	}
	if n != len(leefAttributes(e)) {
		t.Fatalf("%d attributes on the wire, %d produced: a value leaked the delimiter\nline: %q", n, len(leefAttributes(e)), line)
	}
}

func isKeyWord(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isKeyChar(s[i]) {
			return false
		}
	}
	return true
}
