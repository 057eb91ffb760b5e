package crypt

import (
	"encoding/json"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// metaFields and sealedFields are the schema of the two JSON objects in an
// envelope. appendMeta/appendSealed write them and readMeta/readSealed read
// them without reflection; tests hold both to encoding/json of these types.

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
