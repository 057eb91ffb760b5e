package runtime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/logfields"
	"github.com/belladonna-dev/belladonna/internal/version"
)

// statusReporter posts what the edge runs to an OPA status API endpoint
// (a bundle server's /status), in the document stock OPA's status plugin
// sends, so a fleet of Belladonna sidecars and OPA agents shows up alike.
type statusReporter struct {
	url      string
	id       string
	token    string
	interval time.Duration
	client   *http.Client
	puller   *bundles.Puller
	log      *slog.Logger
}

func newStatusReporter(url, id, token string, interval time.Duration, client *http.Client, p *bundles.Puller, log *slog.Logger) *statusReporter {
	if id == "" {
		id, _ = os.Hostname()
	}
	if interval <= 0 {
		interval = 30 * time.Second
	}
	return &statusReporter{url: url, id: id, token: token, interval: interval, client: client, puller: p, log: log}
}

func (r *statusReporter) run(ctx context.Context) {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	activated := r.puller.Activated()
	for {
		if err := r.report(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("status report not delivered", "url", r.url, logfields.Error, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-activated:
			// Report the first activation at once, then on the ticker.
			activated = nil
		}
	}
}

// report posts one status document.
func (r *statusReporter) report(ctx context.Context) error {
	st := r.puller.Status()
	b := &bundles.BundleStatus{Name: st.Name, LastSuccessfulActivation: st.LastSuccessfulActivation,
		LastSuccessfulDownload: st.LastSuccessfulDownload, LastSuccessfulRequest: st.LastSuccessfulRequest,
		LastRequest: st.LastRequest, Code: st.Code, Message: st.Message}
	if st.Active != nil {
		b.ActiveRevision = st.Active.Revision
	}
	if st.Code != "" {
		msg, _ := json.Marshal(map[string]string{"code": st.Code, "message": st.Message})
		b.Errors = []json.RawMessage{msg}
	}
	doc := bundles.StatusReport{Labels: map[string]string{"id": r.id, "edge_id": r.id, "version": version.Version, "agent": "belladonna"},
		Bundles: map[string]*bundles.BundleStatus{st.Name: b}}
	body, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("status report to %s: %w", r.url, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if r.token != "" {
		req.Header.Set("Authorization", "Bearer "+r.token)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("status report to %s: %w", r.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("status report to %s: HTTP %d: %s", r.url, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}
