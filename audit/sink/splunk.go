package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/belladonna-dev/belladonna/audit"
)

const (
	hecPath       = "/services/collector/event"
	hecSource     = "belladonna"
	hecSourceType = "belladonna:audit"
)

// splunkSink posts entries to a Splunk HTTP Event Collector.
type splunkSink struct {
	*httpTarget
	gzip bool
	host string
}

// hecEvent is one event in HEC's JSON event format.
type hecEvent struct {
	// Time is epoch seconds with milliseconds; empty lets HEC use the
	// receive time.
	Time       json.Number  `json:"time,omitempty"`
	Host       string       `json:"host,omitempty"`
	Source     string       `json:"source"`
	SourceType string       `json:"sourcetype"`
	Event      *audit.Entry `json:"event"`
}

// hecAnswer is HEC's reply: {"text":"Success","code":0}.
type hecAnswer struct {
	Text string `json:"text"`
	Code *int   `json:"code"`
}

func newSplunk(cfg Config) (*splunkSink, error) {
	if err := cfg.onlyFor(TypeSplunk); err != nil {
		return nil, err
	}
	t, err := newHTTPTarget(cfg, hecPath)
	if err != nil {
		return nil, err
	}
	token, err := cfg.token()
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, cfg.invalid("token_file", "a HEC token is required")
	}
	t.auth = "Splunk " + token
	host := cfg.Hostname
	if host == "" {
		host, _ = os.Hostname()
	}
	return &splunkSink{httpTarget: t, gzip: cfg.Gzip, host: host}, nil
}

func (s *splunkSink) Name() string { return s.name }

// Send posts the batch as concatenated JSON events, one per line. Any
// failure is retried by the Runner; 400, 401 and 403 unwrap to ErrRejected.
func (s *splunkSink) Send(ctx context.Context, entries []audit.Entry) error {
	var body bytes.Buffer
	enc := json.NewEncoder(&body) // Encode ends each event with a newline
	for i := range entries {
		e := &entries[i]
		ev := hecEvent{Host: s.host, Source: hecSource, SourceType: hecSourceType, Event: e}
		if t := e.Time; t.Unix() >= 0 { // the zero time and pre-epoch times are left to HEC
			ev.Time = json.Number(fmt.Sprintf("%d.%03d", t.Unix(), t.Nanosecond()/1e6))
		}
		if err := enc.Encode(&ev); err != nil {
			return fmt.Errorf("audit sink %s: encoding entry %d: %w", s.name, e.Index, err)
		}
	}
	payload := body.Bytes()
	if s.gzip {
		payload = gzipBytes(payload)
	}
	status, answer, err := s.post(ctx, payload, s.gzip)
	if err != nil {
		return err
	}
	var a hecAnswer
	parsed := json.Unmarshal(answer, &a) == nil && a.Code != nil
	switch {
	case status >= 200 && status < 300 && (!parsed || *a.Code == 0):
		return nil
	case parsed:
		return &HTTPError{Sink: s.name, Status: status, Code: *a.Code, Text: truncate(a.Text, 200)}
	default:
		return &HTTPError{Sink: s.name, Status: status, Code: -1}
	}
}

// Close releases idle connections.
func (s *splunkSink) Close() error {
	s.close()
	return nil
}
