package engine

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/open-policy-agent/opa/v1/util"
)

// Decision is one answered request: what was asked, against which policy
// version, what came back and how long it took.
type Decision struct {
	ID       string
	Time     time.Time
	Revision string
	Path     string
	Input    any
	Result   any
	Defined  bool
	Duration time.Duration
	Caller   string
	Error    string
	// Cached: the result came from the result cache; CacheMiss: the path
	// is cacheable and the result was not there.
	Cached, CacheMiss bool
	outcome           string
	// ResultJSON, when set, is the result encoded as JSON (cached paths),
	// so a server need not encode it again. Read-only: it is shared.
	ResultJSON []byte
}

// Value is the result as a JSON-shaped Go value. A cache hit keeps only
// the result's JSON (a fraction of the memory); Value decodes it on first
// use. Read Value, not Result, unless Cached is false.
func (d *Decision) Value() any {
	if d.Result == nil && d.Defined && d.ResultJSON != nil {
		switch string(d.ResultJSON) {
		case "true": // the common answer, without a decoder
			d.Result = true
		case "false":
			d.Result = false
		default:
			var v any
			if err := util.UnmarshalJSON(d.ResultJSON, &v); err == nil {
				d.Result = v
			}
		}
	}
	return d.Result
}

// Decision outcomes: a boolean result, or a result object's "allow", read
// as allow or deny.
const (
	OutcomeAllow     = "allow"
	OutcomeDeny      = "deny"
	OutcomeDefined   = "defined"
	OutcomeUndefined = "undefined"
	OutcomeError     = "error"
)

// Outcome reads d as allow, deny, defined, undefined or error, without
// decoding a cached result.
func (d *Decision) Outcome() string {
	switch {
	case d.Error != "":
		return OutcomeError
	case !d.Defined:
		return OutcomeUndefined
	case d.outcome != "":
		return d.outcome
	}
	return outcomeOf(d.Result)
}

func outcomeOf(result any) string {
	switch r := result.(type) {
	case bool:
		if r {
			return OutcomeAllow
		}
		return OutcomeDeny
	case map[string]any:
		if b, ok := r["allow"].(bool); ok {
			if b {
				return OutcomeAllow
			}
			return OutcomeDeny
		}
	}
	return OutcomeDefined
}

// DecisionLogger receives every decision. The audit log implements it; an
// error from LogDecision fails the decision (fail closed: an unrecorded
// decision is not returned).
type DecisionLogger interface {
	LogDecision(ctx context.Context, d *Decision) error
}

// DecideOption adds request context to a decision.
type DecideOption func(*Decision)

// WithCaller records who asked (remote address, client id).
func WithCaller(caller string) DecideOption {
	return func(d *Decision) { d.Caller = caller }
}

// WithDecisionID sets the id instead of generating one (for callers that
// propagate an id, e.g. from a request header).
func WithDecisionID(id string) DecideOption {
	return func(d *Decision) { d.ID = id }
}

// Decision ids come from a pool of random bytes refilled in blocks rather
// than one read per id (they name decisions; they are not secrets).
func init() { uuid.EnableRandPool() }

func newDecisionID() string {
	return uuid.NewString()
}
