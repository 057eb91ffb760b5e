package crypt

import (
	"encoding/json"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// metaFields are stored in clear (authenticated, not encrypted): what a
// decision was about in policy terms, never who or with what data. They stay
// queryable without keys and after a subject's erasure. Adding a field here
// publishes it; TestEveryEntryFieldIsClassified keeps the split explicit.
type metaFields struct {
	Time       time.Time  `json:"time"`
	Kind       audit.Kind `json:"kind"`
	Type       string     `json:"type"`
	Severity   string     `json:"severity,omitempty"`
	DecisionID string     `json:"decision_id,omitempty"`
	Revision   string     `json:"revision,omitempty"`
	Path       string     `json:"path,omitempty"`
	Outcome    string     `json:"outcome,omitempty"`
	Defined    bool       `json:"defined,omitempty"`
	LatencyNS  int64      `json:"latency_ns,omitempty"`
}

// sealedFields are encrypted: under the entry key, or under the subject's
// key when the entry has a Subject (and then destroyed with it). The subject
// id itself is among them, so it never appears in clear.
type sealedFields struct {
	Input   json.RawMessage   `json:"input,omitempty"`
	Result  json.RawMessage   `json:"result,omitempty"`
	Caller  string            `json:"caller,omitempty"`
	Subject string            `json:"subject,omitempty"`
	Message string            `json:"message,omitempty"`
	Error   string            `json:"error,omitempty"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}

func metaOf(e *audit.Entry) metaFields {
	return metaFields{Time: e.Time, Kind: e.Kind, Type: e.Type, Severity: e.Severity, DecisionID: e.DecisionID,
		Revision: e.Revision, Path: e.Path, Outcome: e.Outcome, Defined: e.Defined, LatencyNS: e.LatencyNS}
}

func sealedOf(e *audit.Entry) sealedFields {
	return sealedFields{Input: e.Input, Result: e.Result, Caller: e.Caller, Subject: e.Subject,
		Message: e.Message, Error: e.Error, Attrs: e.Attrs}
}

func (m *metaFields) applyTo(e *audit.Entry) {
	e.Time, e.Kind, e.Type, e.Severity, e.DecisionID = m.Time, m.Kind, m.Type, m.Severity, m.DecisionID
	e.Revision, e.Path, e.Outcome, e.Defined, e.LatencyNS = m.Revision, m.Path, m.Outcome, m.Defined, m.LatencyNS
}

func (s *sealedFields) applyTo(e *audit.Entry) {
	e.Input, e.Result, e.Caller, e.Subject = s.Input, s.Result, s.Caller, s.Subject
	e.Message, e.Error, e.Attrs = s.Message, s.Error, s.Attrs
}
