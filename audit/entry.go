package audit

import (
	"encoding/json"
	"time"
)

// Kind separates decisions from security events.
type Kind string

const (
	KindDecision Kind = "decision"
	KindEvent    Kind = "event"
)

// Event types recorded with Kind "event". Consumers (sinks, correlation,
// compliance evidence) branch on these; add new ones here.
const (
	EventBundleActivation = "bundle_activation"
	EventSignatureFailure = "signature_failure"
	EventConfigChange     = "config_change"
	EventRollback         = "rollback"
	EventApproval         = "approval"
	EventEBPFAlert        = "ebpf_alert"
	EventRetention        = "retention"
	EventErasure          = "erasure"
	EventIncident         = "incident"
	EventKeyRotation      = "key_rotation"
	EventTornTail         = "torn_tail"
)

// Decision outcomes, derived from the result when the entry is built:
// a boolean result or a result object's "allow" field decides allow/deny.
const (
	OutcomeAllow     = "allow"
	OutcomeDeny      = "deny"
	OutcomeDefined   = "defined" // a non-boolean result
	OutcomeUndefined = "undefined"
	OutcomeError     = "error"
)

// Entry is one record of the audit log: a decision or a security event.
//
// Index is the entry's position in the log (its Merkle leaf index). It is
// assigned by the log on append and filled in on read; it is not part of the
// stored payload, whose bytes are what the Merkle leaf commits to.
type Entry struct {
	Index uint64    `json:"index"`
	Time  time.Time `json:"time"`
	Kind  Kind      `json:"kind"`
	// Type is the event type (Event* constants); "decision" for decisions.
	Type     string `json:"type"`
	Severity string `json:"severity,omitempty"` // critical|high|medium|low|info

	// Decision fields.
	DecisionID string          `json:"decision_id,omitempty"`
	Revision   string          `json:"revision,omitempty"`
	Path       string          `json:"path,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Outcome    string          `json:"outcome,omitempty"`
	Defined    bool            `json:"defined,omitempty"`
	LatencyNS  int64           `json:"latency_ns,omitempty"`
	Caller     string          `json:"caller,omitempty"`

	// Subject is the data subject (user id) the entry is about; per-subject
	// encryption keys and crypto-erasure key on it.
	Subject string `json:"subject,omitempty"`
	// Message is a human-readable line for events.
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	// Attrs carries event details (bundle name, rule, pid...).
	Attrs map[string]string `json:"attrs,omitempty"`
	// Erased is set on read when the entry's payload was crypto-erased: the
	// leaf still verifies, but Input and Result are gone for good.
	Erased bool `json:"erased,omitempty"`
}
