package engine

import (
	"context"
	"time"

	"github.com/google/uuid"
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
	// ResultJSON, when set, is Result encoded as JSON (cached paths), so a
	// server need not encode it again. Read-only: it is shared.
	ResultJSON []byte
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
