package sink

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/version"
)

// maxJSONField bounds the input, result and attrs copied into one CEF or LEEF
// message: receivers commonly cap a syslog message at 8-64 KiB and drop the
// whole event when it is larger. The audit log keeps the full values.
const maxJSONField = 4096

// formatCEF renders e as an ArcSight CEF:0 line (CEF spec rev. 25):
//
//	CEF:0|Belladonna|belladonna|<version>|<signature id>|<name>|<severity>|<extension>
func formatCEF(e *audit.Entry) string {
	var b strings.Builder
	b.WriteString("CEF:0|Belladonna|belladonna|")
	for _, h := range []string{version.Version, eventClass(e), title(e), strconv.Itoa(levelOf(e).cef())} {
		b.WriteString(cefHeader(h))
		b.WriteByte('|')
	}
	ext := cefExtension(e)
	for i, kv := range ext {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(cefValue(kv[1]))
	}
	return b.String()
}

// cefExtension maps the entry to standard CEF keys where one exists and to
// labelled custom strings (csN/csNLabel) otherwise. Empty values are left out.
func cefExtension(e *audit.Entry) [][2]string {
	var kv [][2]string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, [2]string{k, v})
		}
	}
	custom := func(n, label, v string) {
		if v != "" {
			add("cs"+n+"Label", label)
			add("cs"+n, v)
		}
	}
	if !e.Time.IsZero() {
		add("rt", strconv.FormatInt(e.Time.UnixMilli(), 10))
	}
	add("cat", string(e.Kind))
	if e.Kind == audit.KindDecision {
		add("act", e.Outcome)
	} else {
		add("act", e.Type)
	}
	add("outcome", e.Outcome)
	add("suser", e.Subject)
	if ip, port, ok := callerAddr(e.Caller); ok {
		add("src", ip)
		add("spt", port)
	}
	add("externalId", e.DecisionID)
	add("msg", e.Message)
	add("reason", e.Error)
	add("cn1Label", "auditIndex")
	add("cn1", strconv.FormatUint(e.Index, 10))
	if e.LatencyNS != 0 {
		add("cn2Label", "latencyNs")
		add("cn2", strconv.FormatInt(e.LatencyNS, 10))
	}
	custom("1", "policyPath", e.Path)
	custom("2", "bundleRevision", e.Revision)
	custom("3", "input", truncate(string(e.Input), maxJSONField))
	custom("4", "result", truncate(string(e.Result), maxJSONField))
	custom("5", "attrs", attrsJSON(e.Attrs))
	custom("6", "caller", e.Caller)
	return kv
}

func attrsJSON(attrs map[string]string) string {
	if len(attrs) == 0 {
		return ""
	}
	bs, err := json.Marshal(attrs) // a map of strings always marshals
	if err != nil {
		return ""
	}
	return truncate(string(bs), maxJSONField)
}

// cefHeader escapes a header field: backslash and pipe get a backslash. CEF
// has no escape for line breaks in the header, so they become spaces.
var cefHeader = strings.NewReplacer(`\`, `\\`, `|`, `\|`, "\r\n", " ", "\r", " ", "\n", " ").Replace

// cefValue escapes an extension value: backslash and equals sign get a
// backslash; line breaks become the two-character sequences \n and \r. A
// pipe needs no escape in the extension (spec rev. 25, "Character encoding").
var cefValue = strings.NewReplacer(`\`, `\\`, `=`, `\=`, "\r", `\r`, "\n", `\n`).Replace
