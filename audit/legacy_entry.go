package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"
)

// legacyEntry is one record of the log.
type legacyEntry struct {
	Seq        uint64          `json:"seq"`
	Time       time.Time       `json:"time"`
	Kind       string          `json:"kind"` // decision | event
	DecisionID string          `json:"decision_id,omitempty"`
	Revision   string          `json:"revision,omitempty"`
	Path       string          `json:"path,omitempty"`
	Input      json.RawMessage `json:"input,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Defined    bool            `json:"defined,omitempty"`
	LatencyNS  int64           `json:"latency_ns,omitempty"`
	Caller     string          `json:"caller,omitempty"`
	Error      string          `json:"error,omitempty"`
	Message    string          `json:"message,omitempty"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// digest is SHA-256 over the entry's JSON with Hash empty: the chain commits
// to every other field, including PrevHash.
func (e legacyEntry) digest() (string, error) {
	e.Hash = ""
	bs, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encoding entry %d: %w", e.Seq, err)
	}
	sum := sha256.Sum256(bs)
	return hex.EncodeToString(sum[:]), nil
}

// genesis is the PrevHash of the first entry.
var genesis = hex.EncodeToString(make([]byte, sha256.Size))
