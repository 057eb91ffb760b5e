package bundles

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/internal/bundletest"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/internal/stockopa"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

func serverFixture(t *testing.T) (*gitfixture.Repo, string, []byte, func(string, ...string) *http.Response) {
	t.Helper()
	g, _, _ := fixture(t)
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	priv, pub := pemKeys(t, key)
	tokens := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(tokens, []byte("# bundle readers\n"+TokenDigest("s3cret")+" main\n"+TokenDigest("other")+" release/*\n"), 0o600)
	tk, err := LoadTokens(tokens)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Repo: r, Options: BuildOptions{Dir: "policies"}, Sign: &SignKey{PEM: priv}, Tokens: tk, RefPoll: 50 * time.Millisecond}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	get := func(token string, hdr ...string) *http.Response {
		req, _ := http.NewRequest("GET", ts.URL+"/bundles/main", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	return g, ts.URL, pub, get
}

func TestBundleServerProtocol(t *testing.T) {
	_, url, _, get := serverFixture(t)
	if resp := get(""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("no token: %d", resp.StatusCode)
	}
	if resp := get("wrong"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unknown token: %d", resp.StatusCode)
	}
	if resp := get("other"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("token for other bundles: %d", resp.StatusCode)
	}
	ok := get("s3cret")
	etag := ok.Header.Get("ETag")
	if ok.StatusCode != 200 || etag == "" || ok.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("bundle: %d etag %q type %q", ok.StatusCode, etag, ok.Header.Get("Content-Type"))
	}
	if resp := get("s3cret", "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	// A long poll with nothing new waits, then says 304 in OPA's media type.
	start := time.Now()
	resp := get("s3cret", "If-None-Match", `"old", `+etag, "Prefer", "modes=snapshot;wait=1")
	if resp.StatusCode != http.StatusNotModified || time.Since(start) < 900*time.Millisecond {
		t.Fatalf("long poll: %d after %v", resp.StatusCode, time.Since(start))
	}
	// A long-polling client learns from the media type that the server
	// long polls (net/http drops it from 304s: OPA keeps its setting).
	if resp := get("s3cret", "Prefer", "modes=snapshot;wait=1"); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/vnd.openpolicyagent.bundles" {
		t.Fatalf("long-poll 200: %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// Failed attempts are rate limited.
	limited := false
	for range 20 {
		if get("guess").StatusCode == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("failed attempts are not rate limited")
	}
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`belladonna_bundle_requests_total{code="200"} 2`, `belladonna_bundle_requests_total{code="304"} 2`,
		`belladonna_bundle_requests_total{code="403"} 1`, `belladonna_bundle_requests_total{code="429"}`, "belladonna_bundle_builds_total 1",
		`belladonna_bundle_size_bytes{ref="main"}`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %s:\n%s", want, body)
		}
	}
}

func TestTokensFileRefusesPlainTokens(t *testing.T) {
	f := filepath.Join(t.TempDir(), "tokens")
	os.WriteFile(f, []byte("s3cret main\n"), 0o600)
	if _, err := LoadTokens(f); err == nil || !strings.Contains(err.Error(), "not the token") {
		t.Fatalf("a plain token: %v", err)
	}
}

// startStockOPA runs stock `opa run --server` pulling /bundles/main from
// url with the token and the public key; it returns its address and log.
func startStockOPA(t *testing.T, url string, pub []byte) (string, *stockopa.Logs) {
	t.Helper()
	return startStockOPAWith(t, stockopa.Client{URL: url, Token: "s3cret", Bundle: "authz", Resource: "/bundles/main", KeyPEM: pub, KeyID: "belladonna"}.Config())
}

// startStockOPAWith runs stock `opa run --server` with the config cfg.
func startStockOPAWith(t *testing.T, cfg string) (string, *stockopa.Logs) {
	return stockopa.Server(t, cfg)
}

func bundlesReady(addr string) bool {
	resp, err := http.Get("http://" + addr + "/health?bundles=true")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// Stock OPA pulls our signed bundle with a token, verifies it with the
// public key, answers as we do, and picks up a new commit.
func TestStockOPAActivatesServedBundle(t *testing.T) {
	g, url, pub, _ := serverFixture(t)
	addr, _ := startStockOPA(t, url, pub)
	ask := func(role string) (any, bool) {
		body := strings.NewReader(fmt.Sprintf(`{"input": {"user": {"role": %q}}}`, role))
		resp, err := http.Post("http://"+addr+"/v1/data/security/authz/allow", "application/json", body)
		if err != nil {
			return nil, false
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		v, ok := out["result"]
		return v, ok
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("stock OPA: %s did not happen", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("activation", func() bool { return bundlesReady(addr) })
	for role, want := range map[string]bool{"admin": true, "dev": true, "guest": false} {
		if v, ok := ask(role); !ok || v != want {
			t.Fatalf("stock OPA on our bundle: %s -> %v (%v), want %v", role, v, ok, want)
		}
	}
	// A new commit on main: OPA has it within its polling interval.
	g.Commit("cy", "admins only", map[string][]byte{"policies/config/authz/data.json": []byte(`{"roles": ["admin"]}`)})
	waitFor("the new commit", func() bool { v, ok := ask("dev"); return ok && v == false })
}

// Between our server and stock OPA one byte of a .rego file changes
// ("admin" -> "bdmin"): OPA refuses the bundle and never activates it.
func TestStockOPARefusesATamperedBundle(t *testing.T) {
	_, url, pub, _ := serverFixture(t)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, url+r.URL.Path, nil)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 {
			body = bundletest.FlipByte(t, body)
		}
		w.Header().Set("Content-Type", resp.Header.Get("Content-Type"))
		w.Header().Set("ETag", resp.Header.Get("ETag"))
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	defer proxy.Close()
	addr, logs := startStockOPA(t, proxy.URL, pub)
	deadline := time.Now().Add(4 * time.Second)
	for time.Now().Before(deadline) {
		if bundlesReady(addr) {
			t.Fatal("stock OPA activated a tampered bundle")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "digest mismatch") && !strings.Contains(logs.String(), "signature") {
		t.Fatalf("OPA's log does not say why:\n%s", logs.String())
	}
}

// A protected branch is not served until its commit holds the approvals;
// then it is, and a new commit needs its own.
func TestBundleServerRefusesUnapprovedProtectedBranch(t *testing.T) {
	g, _, _ := fixture(t)
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	bo := newApproverKey(t)
	keys := t.TempDir()
	os.WriteFile(filepath.Join(keys, "bo.pem"), bo.pub, 0o644)
	ks, err := policyrepo.LoadApprovalKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Repo: r, Options: BuildOptions{Dir: "policies"},
		Protections: []policyrepo.Protection{{Pattern: "main", Approvals: 1, Keys: ks, KeysDir: keys}}}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	get := func() (int, string) {
		resp, err := http.Get(ts.URL + "/bundles/main")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, body := get(); code != http.StatusForbidden || !strings.Contains(body, `branch "main" matches "main", which needs 1 approvals`) {
		t.Fatalf("unapproved: %d %s", code, body)
	}
	if _, _, err := r.Approve(context.Background(), "main", "bo", bo.signer); err != nil {
		t.Fatal(err)
	}
	if code, body := get(); code != http.StatusOK {
		t.Fatalf("approved: %d %s", code, body)
	}
	g.Commit("cy", "more", map[string][]byte{"policies/config/authz/data.json": []byte(`{"roles": ["admin", "dev", "ops"]}`)})
	if code, _ := get(); code != http.StatusForbidden {
		t.Fatalf("a new unapproved commit on main: %d", code)
	}
}

type approverKey struct {
	signer signature.Signer
	pub    []byte
}

func newApproverKey(t *testing.T) approverKey {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	s, err := signature.LoadECDSASigner(k, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	_, pub := pemKeys(t, k)
	return approverKey{signer: s, pub: pub}
}
