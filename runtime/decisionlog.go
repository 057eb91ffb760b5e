package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// auditDecisions turns engine decisions into audit entries, applying the
// recording mode (all, denials, sample) and the failure policy.
type auditDecisions struct {
	log      audit.Appender
	mask     []string
	mode     string
	rate     float64
	failOpen bool
	logger   *slog.Logger
	dropped  prometheus.Counter
}

func newAuditDecisions(l audit.Appender, cfg config.Audit, logger *slog.Logger) *auditDecisions {
	return &auditDecisions{
		log: l, mask: cfg.Mask, mode: cfg.Decisions, rate: cfg.SampleRate,
		failOpen: cfg.OnFailure == "open", logger: logger,
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "belladonna_audit_unrecorded_decisions_total",
			Help: "Decisions answered although recording them failed (audit.on_failure: open).",
		}),
	}
}

func (a *auditDecisions) LogDecision(ctx context.Context, d *engine.Decision) error {
	outcome := outcomeOf(d)
	denied := outcome == audit.OutcomeDeny || outcome == audit.OutcomeError || outcome == audit.OutcomeUndefined
	switch a.mode {
	case "denials":
		if !denied {
			return nil
		}
	case "sample":
		if !denied && rand.Float64() >= a.rate {
			return nil
		}
	}
	e := audit.Entry{
		Time:       d.Time.UTC(),
		Kind:       audit.KindDecision,
		Type:       string(audit.KindDecision),
		DecisionID: d.ID,
		Revision:   d.Revision,
		Path:       d.Path,
		Outcome:    outcome,
		Defined:    d.Defined,
		LatencyNS:  d.Duration.Nanoseconds(),
		Caller:     d.Caller,
		Error:      d.Error,
		Subject:    subjectOf(d.Input),
	}
	var err error
	if d.Input != nil {
		// Credentials in the input are masked before they reach the disk.
		if e.Input, err = json.Marshal(audit.MaskInput(d.Input, a.mask)); err != nil {
			return fmt.Errorf("encoding input: %w", err)
		}
	}
	if d.Defined {
		if d.ResultJSON != nil {
			e.Result = bytes.Clone(d.ResultJSON) // the cache keeps its own
		} else if e.Result, err = json.Marshal(d.Result); err != nil {
			return fmt.Errorf("encoding result: %w", err)
		}
	}
	if _, err := a.log.Append(ctx, &e); err != nil {
		if a.failOpen {
			a.dropped.Inc()
			a.logger.Error("decision not recorded (audit.on_failure: open)", logfields.DecisionID, d.ID, logfields.Error, err)
			return nil
		}
		return err
	}
	return nil
}

// outcomeOf is the engine's allow/deny reading of d, in the audit log's
// words (the same).
func outcomeOf(d *engine.Decision) string { return d.Outcome() }

// subjectOf finds who a decision is about: input.subject.id, input.user or
// input.sub, the shapes of the shipped library and of common JWT claims.
func subjectOf(input any) string {
	m, ok := input.(map[string]any)
	if !ok {
		return ""
	}
	if s, ok := m["subject"].(map[string]any); ok {
		if id, ok := s["id"].(string); ok {
			return id
		}
	}
	for _, k := range []string{"user", "sub"} {
		if id, ok := m[k].(string); ok {
			return id
		}
	}
	return ""
}
