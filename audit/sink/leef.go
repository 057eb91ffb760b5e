package sink

import (
	"strconv"
	"strings"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/version"
)

// leefDelimiter separates LEEF attributes. Tab is LEEF 1.0's fixed
// delimiter and what QRadar's DSMs expect by default; LEEF 2.0 names it in
// the header in hex.
const (
	leefDelimiter    = '\t'
	leefDelimiterHex = "x09"
	leefTimeFormat   = "2006-01-02T15:04:05.000-0700"
	// leefTimeFormatJava tells QRadar how to parse devTime (Java pattern of
	// leefTimeFormat).
	leefTimeFormatJava = "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
)

// formatLEEF renders e as an IBM QRadar LEEF 2.0 line:
//
//	LEEF:2.0|Belladonna|belladonna|<version>|<event id>|x09|key=value<TAB>key=value...
func formatLEEF(e *audit.Entry) string {
	var b strings.Builder
	b.WriteString("LEEF:2.0|Belladonna|belladonna|")
	b.WriteString(leefHeader(version.Version))
	b.WriteByte('|')
	b.WriteString(leefHeader(eventClass(e)))
	b.WriteByte('|')
	b.WriteString(leefDelimiterHex)
	b.WriteByte('|')
	for i, kv := range leefAttributes(e) {
		if i > 0 {
			b.WriteByte(leefDelimiter)
		}
		b.WriteString(kv[0])
		b.WriteByte('=')
		b.WriteString(leefValue(kv[1]))
	}
	return b.String()
}

// leefAttributes uses LEEF's predefined keys (devTime, cat, sev, usrName,
// src, srcPort) and plain descriptive keys for the rest, which QRadar maps
// with custom properties.
func leefAttributes(e *audit.Entry) [][2]string {
	var kv [][2]string
	add := func(k, v string) {
		if v != "" {
			kv = append(kv, [2]string{k, v})
		}
	}
	if !e.Time.IsZero() {
		add("devTime", e.Time.Format(leefTimeFormat))
		add("devTimeFormat", leefTimeFormatJava)
	}
	add("cat", eventClass(e))
	add("sev", strconv.Itoa(levelOf(e).leef()))
	add("usrName", e.Subject)
	if ip, port, ok := callerAddr(e.Caller); ok {
		add("src", ip)
		add("srcPort", port)
	}
	add("kind", string(e.Kind))
	add("outcome", e.Outcome)
	add("decisionId", e.DecisionID)
	add("policyPath", e.Path)
	add("bundleRevision", e.Revision)
	add("auditIndex", strconv.FormatUint(e.Index, 10))
	if e.LatencyNS != 0 {
		add("latencyNs", strconv.FormatInt(e.LatencyNS, 10))
	}
	add("caller", e.Caller)
	add("msg", e.Message)
	add("reason", e.Error)
	add("input", truncate(string(e.Input), maxJSONField))
	add("result", truncate(string(e.Result), maxJSONField))
	add("attrs", attrsJSON(e.Attrs))
	return kv
}

// leefHeader escapes a header field like CEF's: backslash and pipe get a
// backslash, line breaks become spaces.
var leefHeader = cefHeader

// leefValue keeps the delimiter and line breaks out of a value. LEEF defines
// no escape sequences for values, so they are written as the visible
// two-character sequences \t, \n, \r, which keeps the text readable and the
// attribute list parseable.
var leefValue = strings.NewReplacer("\t", `\t`, "\r", `\r`, "\n", `\n`).Replace
