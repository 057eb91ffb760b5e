package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	httpTimeout = 30 * time.Second
	// maxResponseBytes bounds what is read of a receiver's answer.
	maxResponseBytes = 64 << 10
)

// httpTarget is a receiver URL with the client to reach it.
type httpTarget struct {
	name     string
	endpoint string
	// auth is the Authorization header value; it holds the token and must
	// never be logged or put in an error.
	auth   string
	client *http.Client
}

// newHTTPTarget checks cfg.URL and appends path to it unless it already ends
// with it.
func newHTTPTarget(cfg Config, path string) (*httpTarget, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cfg.invalid("url", fmt.Sprintf("want an http:// or https:// URL, got %q", redactURL(cfg.URL)))
	}
	if u.User != nil {
		return nil, cfg.invalid("url", "credentials in the URL are not supported; use token_file")
	}
	if cfg.TLS.Enabled {
		return nil, cfg.invalid("tls.enabled", "HTTP sinks use TLS when the URL is https://")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if u.Scheme == "https" {
		if tr.TLSClientConfig, err = cfg.clientTLS(u.Hostname()); err != nil {
			return nil, err
		}
	} else if cfg.TLS != (TLSConfig{}) {
		return nil, cfg.invalid("tls", "TLS files are set but the URL is not https://")
	}
	if !strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), path) {
		u = u.JoinPath(path)
	}
	return &httpTarget{
		name:     cfg.Name,
		endpoint: u.String(),
		client:   &http.Client{Transport: tr, Timeout: httpTimeout},
	}, nil
}

// post sends body and returns the status and up to maxResponseBytes of the
// answer. Errors name the endpoint, never the headers.
func (t *httpTarget) post(ctx context.Context, body []byte, gzipped bool) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("audit sink %s: %w", t.name, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if gzipped {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if t.auth != "" {
		req.Header.Set("Authorization", t.auth)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("audit sink %s: %w", t.name, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("audit sink %s: reading the answer: %w", t.name, err)
	}
	// Drain the rest so the connection can be reused.
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, answer, nil
}

func (t *httpTarget) close() {
	t.client.CloseIdleConnections()
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b) // writes to a bytes.Buffer cannot fail
	_ = zw.Close()
	return buf.Bytes()
}

// redactURL hides userinfo before a URL goes into an error.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}
