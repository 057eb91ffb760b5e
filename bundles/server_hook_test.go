package bundles

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

type recorder struct {
	mu sync.Mutex
	es []*audit.Entry
}

func (r *recorder) record(_ context.Context, e *audit.Entry) {
	r.mu.Lock()
	r.es = append(r.es, e)
	r.mu.Unlock()
}

func (r *recorder) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.es {
		out = append(out, e.Type)
	}
	return out
}

func manifestRevision(t *testing.T, b []byte) string {
	t.Helper()
	bun, err := bundle.NewReader(bytes.NewReader(b)).WithSkipBundleVerification(true).Read()
	if err != nil {
		t.Fatal(err)
	}
	return bun.Manifest.Revision
}

// A push webhook on a bare mirror: a forged event is refused and recorded;
// a signed one fetches, builds and answers a waiting long poll at once.
func TestPushWebhookFetchesAndWakesLongPolls(t *testing.T) {
	g, _, c2 := fixture(t)
	mirror := gitfixture.Clone(t, g.Dir, true)
	r, err := policyrepo.Open(mirror.Dir)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	secret := []byte("hook-secret")
	s := &Server{Repo: r, Options: BuildOptions{Dir: "policies"}, WebhookSecret: secret, Record: rec.record,
		Fetch: func(ctx context.Context) error { return r.FetchMirror(ctx, "origin") }, RefPoll: time.Hour}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/bundles/main")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if manifestRevision(t, body) != c2 {
		t.Fatal("the mirror's main is not the fixture's")
	}
	c3 := g.Commit("cy", "admins only", map[string][]byte{"policies/config/authz/data.json": []byte(`{"roles": ["admin"]}`)})

	// A long poll waits on the old ETag (the ref poll is an hour: only the
	// webhook can wake it).
	type answer struct {
		rev  string
		took time.Duration
	}
	done := make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("GET", ts.URL+"/bundles/main", nil)
		req.Header.Set("If-None-Match", etag)
		req.Header.Set("Prefer", "modes=snapshot;wait=20")
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- answer{}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		rev := ""
		if resp.StatusCode == 200 {
			rev = manifestRevision(t, b)
		}
		done <- answer{rev, time.Since(start)}
	}()
	time.Sleep(200 * time.Millisecond)
	event := []byte(`{"ref": "refs/heads/main", "after": "` + c3 + `"}`)
	hook := func(sig string) int {
		req, _ := http.NewRequest("POST", ts.URL+"/hooks/push", bytes.NewReader(event))
		if sig != "" {
			req.Header.Set("X-Hub-Signature-256", sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := hook(""); code != http.StatusUnauthorized {
		t.Fatalf("unsigned hook: %d", code)
	}
	if code := hook("sha256=" + strings.Repeat("00", 32)); code != http.StatusUnauthorized {
		t.Fatalf("forged hook: %d", code)
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write(event)
	if code := hook("sha256=" + hex.EncodeToString(mac.Sum(nil))); code != http.StatusAccepted {
		t.Fatalf("signed hook: %d", code)
	}
	select {
	case a := <-done:
		if a.rev != c3 || a.took > 10*time.Second {
			t.Fatalf("long poll after the webhook: %+v, want %s", a, c3)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the long poll was not woken")
	}
	if got := strings.Join(rec.types(), ","); got != "auth_failure,auth_failure" {
		t.Fatalf("recorded events %s", got)
	}
}

// Mutual TLS: a client certificate from the CA authenticates without a
// token; no certificate and no token is refused and recorded.
func TestBundleServerMutualTLS(t *testing.T) {
	g, _, _ := fixture(t)
	r, _ := policyrepo.Open(g.Dir)
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edges CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	edgeKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edgeDER, _ := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "edge-1"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)},
		ca, &edgeKey.PublicKey, caKey)
	os.WriteFile(filepath.Join(dir, "tokens"), []byte(TokenDigest("s3cret")+" *\n"), 0o600)
	tk, _ := LoadTokens(filepath.Join(dir, "tokens"))
	rec := &recorder{}
	s := &Server{Repo: r, Options: BuildOptions{Dir: "policies"}, Tokens: tk, ClientCerts: true, Record: rec.record}
	ts := httptest.NewUnstartedServer(s.Handler())
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	ts.TLS = &tls.Config{ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven}
	ts.StartTLS()
	defer ts.Close()
	client := func(withCert bool) *http.Client {
		c := ts.Client()
		tr := c.Transport.(*http.Transport).Clone()
		if withCert {
			tr.TLSClientConfig.Certificates = []tls.Certificate{{Certificate: [][]byte{edgeDER}, PrivateKey: edgeKey}}
		}
		return &http.Client{Transport: tr}
	}
	get := func(c *http.Client, token string) int {
		req, _ := http.NewRequest("GET", ts.URL+"/bundles/main", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(client(true), ""); code != 200 {
		t.Fatalf("client certificate: %d", code)
	}
	if code := get(client(false), "s3cret"); code != 200 {
		t.Fatalf("token without certificate: %d", code)
	}
	if code := get(client(false), ""); code != http.StatusUnauthorized {
		t.Fatalf("neither: %d", code)
	}
	if got := strings.Join(rec.types(), ","); got != EventAuthFailure {
		t.Fatalf("recorded %q", got)
	}
}
