package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/version"
)

const (
	// opaLogsPath is the resource OPA's decision-log plugin posts to by
	// default (v1/plugins/logs: defaultResourcePath).
	opaLogsPath = "/logs"
	// opaUploadLimit is OPA's default upload_size_limit_bytes: collectors
	// built for OPA may refuse larger compressed bodies, so bigger batches
	// are split.
	opaUploadLimit = 32768
	defaultBundle  = "belladonna"
)

// opaEvent is the wire form of OPA's logs.EventV1 (v1/plugins/logs), for
// the fields Belladonna has. It is declared here rather than imported
// because importing OPA's plugin package links OPA's whole plugin manager
// and server into the sidecar; opa_test.go decodes what this produces into
// OPA's own type to keep the two in step.
type opaEvent struct {
	Labels      map[string]string    `json:"labels"`
	DecisionID  string               `json:"decision_id"`
	Bundles     map[string]opaBundle `json:"bundles,omitempty"`
	Path        string               `json:"path,omitempty"`
	Input       json.RawMessage      `json:"input,omitempty"`
	Result      json.RawMessage      `json:"result,omitempty"`
	Erased      []string             `json:"erased,omitempty"`
	RequestedBy string               `json:"requested_by,omitempty"`
	Timestamp   time.Time            `json:"timestamp"`
	Metrics     map[string]any       `json:"metrics,omitempty"`
	Custom      map[string]any       `json:"custom,omitempty"`
}

type opaBundle struct {
	Revision string `json:"revision,omitempty"`
}

// opaSink posts decisions as OPA's decision-log plugin does: gzip-compressed
// JSON arrays of events to <service url>/logs.
type opaSink struct {
	*httpTarget
	labels map[string]string
	bundle string
}

func newOPA(cfg Config) (*opaSink, error) {
	if err := cfg.onlyFor(TypeOPA); err != nil {
		return nil, err
	}
	t, err := newHTTPTarget(cfg, opaLogsPath)
	if err != nil {
		return nil, err
	}
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	if token != "" {
		t.auth = "Bearer " + token
	}
	// OPA labels every event with its instance id and version; the user's
	// labels come on top, as in OPA's config.
	host, _ := os.Hostname()
	labels := map[string]string{"id": host, "version": version.Version}
	maps.Copy(labels, cfg.Labels)
	bundle := cfg.Bundle
	if bundle == "" {
		bundle = defaultBundle
	}
	return &opaSink{httpTarget: t, labels: labels, bundle: bundle}, nil
}

func (s *opaSink) Name() string { return s.name }

// Send posts the batch's decisions; security events have no place in OPA's
// protocol and are passed over (the batch still counts as delivered).
func (s *opaSink) Send(ctx context.Context, entries []audit.Entry) error {
	events := make([]opaEvent, 0, len(entries))
	for i := range entries {
		if e := &entries[i]; e.Kind == audit.KindDecision {
			events = append(events, s.event(e))
		}
	}
	if len(events) == 0 {
		return nil
	}
	return s.upload(ctx, events)
}

// upload posts events, halving the chunk until its compressed size fits
// OPA's default upload limit. A single event larger than that is sent alone
// rather than dropped (OPA drops it); the collector decides.
func (s *opaSink) upload(ctx context.Context, events []opaEvent) error {
	raw, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("audit sink %s: encoding events: %w", s.name, err)
	}
	body := gzipBytes(raw)
	if len(body) > opaUploadLimit && len(events) > 1 {
		half := len(events) / 2
		if err := s.upload(ctx, events[:half]); err != nil {
			return err
		}
		return s.upload(ctx, events[half:])
	}
	status, _, err := s.post(ctx, body, true)
	if err != nil {
		return err
	}
	if status < 200 || status >= 300 {
		return &HTTPError{Sink: s.name, Status: status, Code: -1}
	}
	return nil
}

func (s *opaSink) event(e *audit.Entry) opaEvent {
	ev := opaEvent{
		Labels:      s.labels,
		DecisionID:  e.DecisionID,
		Path:        e.Path,
		Input:       e.Input,
		Result:      e.Result,
		RequestedBy: e.Caller,
		Timestamp:   e.Time,
		Custom:      map[string]any{"audit_index": e.Index},
	}
	if e.Revision != "" {
		ev.Bundles = map[string]opaBundle{s.bundle: {Revision: e.Revision}}
	}
	if e.LatencyNS != 0 {
		ev.Metrics = map[string]any{"timer_rego_query_eval_ns": e.LatencyNS}
	}
	if e.Erased {
		// OPA lists removed parts as JSON pointers into the event.
		ev.Erased = []string{"/input", "/result"}
	}
	if e.Error != "" {
		// OPA's "error" is a structured topdown error that OPA's own
		// EventV1 cannot decode (its field is the error interface), so a
		// collector built on EventV1 would refuse the whole batch; the
		// message travels in custom instead.
		ev.Custom["error"] = e.Error
	}
	return ev
}

// Close releases idle connections.
func (s *opaSink) Close() error {
	s.close()
	return nil
}
