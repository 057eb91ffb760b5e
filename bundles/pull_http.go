package bundles

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// fetcher gets the bundle at a source; a nil result with no error means
// not modified since etag.
type fetcher interface {
	fetch(ctx context.Context, etag string) (*fetched, error)
}

type fetched struct {
	bytes       []byte
	etag        string
	attestation []byte // nil when the source offers none
	// longPoll: the server long polls, so the next request may follow at
	// once.
	longPoll bool
}

// httpFetcher speaks OPA's bundle service protocol.
type httpFetcher struct {
	url      string
	client   *http.Client
	token    string
	longPoll time.Duration
	maxBytes int64
}

// download errors name the source, what failed and the HTTP status.
func (f *httpFetcher) fetch(ctx context.Context, etag string) (*fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return nil, fmt.Errorf("bundle source %s: %w", f.url, err)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	if f.longPoll > 0 {
		req.Header.Set("Prefer", fmt.Sprintf("modes=snapshot;wait=%d", int(f.longPoll.Seconds())))
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", f.url, err)
	}
	defer resp.Body.Close()
	lp := resp.Header.Get("Content-Type") == "application/vnd.openpolicyagent.bundles"
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, nil
	case http.StatusOK:
	default:
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("downloading %s: HTTP %d: %s", f.url, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	body, err := readLimited(resp.Body, f.maxBytes)
	if err != nil {
		return nil, fmt.Errorf("downloading %s: %w", f.url, err)
	}
	out := &fetched{bytes: body, etag: resp.Header.Get("ETag"), longPoll: lp}
	if link := attestationLink(resp.Header.Values("Link")); link != "" {
		ref, err := url.Parse(link)
		if err != nil {
			return nil, fmt.Errorf("bundle source %s: bad attestation link %q: %w", f.url, link, err)
		}
		base, _ := url.Parse(f.url)
		if out.attestation, err = f.get(ctx, base.ResolveReference(ref).String()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (f *httpFetcher) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("attestation %s: %w", u, err)
	}
	if f.token != "" {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("downloading attestation %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("downloading attestation %s: HTTP %d", u, resp.StatusCode)
	}
	b, err := readLimited(resp.Body, 16<<20)
	if err != nil {
		return nil, fmt.Errorf("downloading attestation %s: %w", u, err)
	}
	return b, nil
}

var linkRE = regexp.MustCompile(`^\s*<([^>]*)>\s*;\s*rel="?([^";]+)"?`)

func attestationLink(values []string) string {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if m := linkRE.FindStringSubmatch(part); m != nil && m[2] == AttestationRel {
				return m[1]
			}
		}
	}
	return ""
}

// readLimited reads at most max bytes and refuses more (a server that
// streams forever must not fill memory).
func readLimited(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrUnsafe, max)
	}
	return b, nil
}
