package runtime

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/engine"
)

// auditDecisions turns engine decisions into audit entries.
type auditDecisions struct {
	log  *audit.FileLog
	mask []string
}

func (a auditDecisions) LogDecision(ctx context.Context, d *engine.Decision) error {
	e := audit.Entry{
		Time:       d.Time.UTC(),
		Kind:       audit.KindDecision,
		Type:       string(audit.KindDecision),
		DecisionID: d.ID,
		Revision:   d.Revision,
		Path:       d.Path,
		Defined:    d.Defined,
		LatencyNS:  d.Duration.Nanoseconds(),
		Caller:     d.Caller,
		Error:      d.Error,
	}
	var err error
	if d.Input != nil {
		// Credentials in the input are masked before they reach the disk.
		if e.Input, err = json.Marshal(audit.MaskInput(d.Input, a.mask)); err != nil {
			return fmt.Errorf("encoding input: %w", err)
		}
	}
	if d.Defined {
		if e.Result, err = json.Marshal(d.Result); err != nil {
			return fmt.Errorf("encoding result: %w", err)
		}
	}
	return a.log.Append(ctx, e)
}
