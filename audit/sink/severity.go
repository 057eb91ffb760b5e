package sink

import (
	"net"
	"strings"

	"github.com/belladonna-dev/belladonna/audit"
)

// level is one severity scale for every output, mapped to each format's own.
type level int

const (
	levelInfo level = iota
	levelLow
	levelMedium
	levelHigh
	levelCritical
)

// levelOf uses the entry's Severity when set. Otherwise a denial is low
// (expected, but worth a look in volume) and an evaluation error medium (a
// policy that cannot decide is a gap in enforcement).
func levelOf(e *audit.Entry) level {
	switch strings.ToLower(e.Severity) {
	case "critical":
		return levelCritical
	case "high":
		return levelHigh
	case "medium":
		return levelMedium
	case "low":
		return levelLow
	case "info":
		return levelInfo
	}
	switch {
	case e.Outcome == audit.OutcomeError || e.Error != "":
		return levelMedium
	case e.Outcome == audit.OutcomeDeny:
		return levelLow
	}
	return levelInfo
}

// cef is ArcSight's 0-10 scale (0-3 low, 4-6 medium, 7-8 high, 9-10 very high).
func (l level) cef() int { return [...]int{1, 3, 5, 8, 10}[l] }

// leef is QRadar's 1-10 scale.
func (l level) leef() int { return [...]int{1, 3, 5, 8, 10}[l] }

// syslog is the RFC 5424 severity: 6 informational .. 2 critical.
func (l level) syslog() int { return [...]int{6, 5, 4, 3, 2}[l] }

// eventClass is a low-cardinality identifier of what happened, used as CEF's
// Signature ID and LEEF's Event ID: "decision.deny", "bundle_activation".
func eventClass(e *audit.Entry) string {
	if e.Kind == audit.KindDecision {
		if e.Outcome == "" {
			return "decision"
		}
		return "decision." + e.Outcome
	}
	if e.Type != "" {
		return e.Type
	}
	return string(e.Kind)
}

// title is the human-readable event name.
func title(e *audit.Entry) string {
	if e.Kind == audit.KindDecision {
		if e.Outcome == "" {
			return "policy decision"
		}
		return "policy decision: " + e.Outcome
	}
	return "audit event: " + eventClass(e)
}

// callerAddr splits a caller recorded as "ip:port" (the decision API's remote
// address); ok is false for any other caller (a client id).
func callerAddr(caller string) (ip, port string, ok bool) {
	host, port, err := net.SplitHostPort(caller)
	if err != nil {
		host, port = caller, ""
	}
	if net.ParseIP(host) == nil {
		return "", "", false
	}
	return host, port, true
}
