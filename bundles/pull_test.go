package bundles

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/bundletest"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// edgeFixture is a bundle server (signing and attesting the fixture
// repository's main) behind a switch that lets a test serve something
// else: canned bytes, an outage, a stall.
type edgeFixture struct {
	g        *gitfixture.Repo
	url      string
	pub      []byte
	attestSV signature.SignerVerifier
	srv      *Server
	mu       sync.Mutex
	override http.HandlerFunc
	events   []*audit.Entry
}

func newEdgeFixture(t *testing.T) *edgeFixture {
	t.Helper()
	g, _, _ := fixture(t)
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	priv, pub := pemKeys(t, key)
	akey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, err := signature.LoadECDSASignerVerifier(akey, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	f := &edgeFixture{g: g, pub: pub, attestSV: sv}
	f.srv = &Server{Repo: r, Options: BuildOptions{Dir: "policies", Builder: "test"}, Sign: &SignKey{PEM: priv}, Attest: sv, RefPoll: 20 * time.Millisecond}
	h := f.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		o := f.override
		f.mu.Unlock()
		if o != nil && strings.HasPrefix(r.URL.Path, "/bundles/") {
			o(w, r)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	f.url = ts.URL
	return f
}

func (f *edgeFixture) serve(h http.HandlerFunc) {
	f.mu.Lock()
	f.override = h
	f.mu.Unlock()
}

// canned serves b (with the real attestation link when att is set).
func (f *edgeFixture) canned(b []byte, etag, link string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		if link != "" {
			w.Header().Set("Link", link)
		}
		w.Write(b)
	}
}

func (f *edgeFixture) puller(t *testing.T, dir string, mod func(*PullOptions)) (*Puller, *atomic.Value) {
	t.Helper()
	active := &atomic.Value{}
	opts := PullOptions{Source: f.url + "/bundles/main", PublicKey: f.pub, Attestation: f.attestSV, Expect: Expect{Branch: "main"},
		MinDelay: 20 * time.Millisecond, MaxDelay: 40 * time.Millisecond, Timeout: 2 * time.Second, StateDir: dir,
		Activate: func(_ context.Context, p *Pulled) error { active.Store(p.Verification.Revision); return nil },
		Record: func(_ context.Context, e *audit.Entry) error {
			f.mu.Lock()
			f.events = append(f.events, e)
			f.mu.Unlock()
			return nil
		}}
	if mod != nil {
		mod(&opts)
	}
	p, err := NewPuller(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p, active
}

func (f *edgeFixture) lastEvent() *audit.Entry {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.events) == 0 {
		return nil
	}
	return f.events[len(f.events)-1]
}

func get(t *testing.T, url string) ([]byte, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b, resp.Header
}

// Every bad bundle the issue names is refused with its reason, recorded,
// and the active bundle keeps serving.
func TestPullerRefusesBadBundlesAndKeepsServing(t *testing.T) {
	ctx := context.Background()
	f := newEdgeFixture(t)
	good, hdr := get(t, f.url+"/bundles/main")
	p, active := f.puller(t, t.TempDir(), nil)
	if _, err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	head := active.Load().(string)
	if st := p.Status(); st.Active == nil || !st.Active.Attested || st.Active.Branch != "main" || st.Active.Sequence != 2 {
		t.Fatalf("after the first poll: %+v", st.Active)
	}
	if err := p.Ready(); err != nil {
		t.Fatal(err)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherPriv, _ := pemKeys(t, otherKey)
	unsigned := build(t, f.g.Dir, "HEAD", BuildOptions{Dir: "policies"}).Bytes
	byOther, err := Sign(ctx, unsigned, SignKey{PEM: otherPriv})
	if err != nil {
		t.Fatal(err)
	}
	// The commit before, signed with the right key: a replayed old bundle.
	older, err := Sign(ctx, build(t, f.g.Dir, "HEAD~1", BuildOptions{Dir: "policies"}).Bytes, *f.srv.Sign)
	if err != nil {
		t.Fatal(err)
	}
	link := hdr.Get("Link")
	cases := []struct {
		name, reason, want string
		h                  http.HandlerFunc
	}{
		{"tampered file", RefuseSignature, "digest", f.canned(bundletest.TamperRego(t, good), `"t1"`, link)},
		{"another key", RefuseSignature, "signature", f.canned(byOther, `"t2"`, link)},
		{"no .signatures.json", RefuseSignature, ".signatures.json", f.canned(unsigned, `"t3"`, link)},
		{"malformed .signatures.json", RefuseSignature, "signature", f.canned(bundletest.SetFile(t, unsigned, ".signatures.json", []byte(`{"signatures": ["x.y"]}`)), `"t4"`, link)},
		{"attestation of another digest", RefuseAttestation, "it attests sha256", f.canned(mustSign(t, bundletest.SetFile(t, unsigned, "extra/data.json", []byte(`{}`)), *f.srv.Sign), `"t5"`, link)},
		{"no attestation", RefuseAttestation, "offers no attestation", f.canned(good, `"t6"`, "")},
		{"older bundle replayed", RefuseDowngrade, "lower than the active", f.canned(older, `"t7"`, "")},
		{"../ path", RefuseUnsafe, "..", f.canned(tarball(t, entry{name: "../../etc/x.rego", body: []byte("package x")}), `"t8"`, "")},
		{"absolute path", RefuseUnsafe, "leaves the bundle root", f.canned(tarball(t, entry{name: "//etc/x.rego", body: []byte("package x")}), `"t9"`, "")},
		{"duplicate names", RefuseUnsafe, "appears twice", f.canned(tarball(t, entry{name: "/x.rego", body: []byte("package x")}, entry{name: "/x.rego", body: []byte("package y")}), `"t10"`, "")},
		{"server error", RefuseDownload, "HTTP 500", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "boom", 500) }},
		{"revoked token", RefuseDownload, "HTTP 401", func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "unknown token", 401) }},
		{"hangs mid-download", RefuseDownload, "deadline", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			w.Write(good[:100])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.serve(c.h)
			if c.name == "older bundle replayed" {
				// The old bundle needs its own attestation to reach the
				// sequence check.
				p.opts.Attestation = nil
				defer func() { p.opts.Attestation = f.attestSV }()
			}
			if c.name == "hangs mid-download" {
				p.opts.Timeout = 300 * time.Millisecond
				defer func() { p.opts.Timeout = 2 * time.Second }()
			}
			_, err := p.Poll(ctx)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("want an error with %q, got %v", c.want, err)
			}
			if got := active.Load().(string); got != head {
				t.Fatalf("active changed to %s", got)
			}
			if st := p.Status(); st.Active.Revision != head || st.Code == "" || !strings.Contains(st.Message, c.want) {
				t.Fatalf("status: %+v", st)
			}
			if c.reason != RefuseDownload {
				ev := f.lastEvent()
				if ev == nil || ev.Attrs["reason"] != c.reason || !strings.Contains(ev.Message, c.want) {
					t.Fatalf("audit event: %+v", ev)
				}
			}
			if n := counterValue(t, p.met.refusals.WithLabelValues(c.reason)); n < 1 {
				t.Fatalf("refusals{%s} = %v", c.reason, n)
			}
		})
	}
	// The server fixed: the good bundle is there again, nothing to do.
	f.serve(nil)
	if _, err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(); err != nil {
		t.Fatal(err)
	}
}

func mustSign(t *testing.T, b []byte, k SignKey) []byte {
	t.Helper()
	s, err := Sign(context.Background(), b, k)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A restart restores the persisted bundle, verified again; a persisted
// bundle that was altered is refused, never served.
func TestPullerRestoresTheLastGoodBundle(t *testing.T) {
	ctx := context.Background()
	f := newEdgeFixture(t)
	dir := t.TempDir()
	p, active := f.puller(t, dir, nil)
	if _, err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	head := active.Load().(string)
	f.serve(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 503) })
	p2, active2 := f.puller(t, dir, nil)
	ok, err := p2.Restore(ctx)
	if err != nil || !ok || active2.Load() != head {
		t.Fatalf("restore: %v %v %v", ok, err, active2.Load())
	}
	if st := p2.Status(); st.Active == nil || !st.Active.Attested || st.Active.Revision != head {
		t.Fatalf("restored status %+v", st.Active)
	}
	// A restored older bundle still refuses a downgrade afterwards.
	if _, err := p2.Poll(ctx); err == nil {
		t.Fatal("an outage is not an error")
	}
	if err := p2.Ready(); err != nil {
		t.Fatalf("the restored bundle is ready: %v", err)
	}
	// Someone edits the persisted bundle: the restart serves nothing.
	b, _ := readFile(t, dir+"/"+stateBundleFile)
	writeFile(t, dir+"/"+stateBundleFile, bundletest.TamperRego(t, b))
	p3, active3 := f.puller(t, dir, nil)
	if ok, err := p3.Restore(ctx); ok || err != nil || active3.Load() != nil {
		t.Fatalf("tampered state restored: %v %v", ok, err)
	}
	if err := p3.Ready(); err == nil {
		t.Fatal("ready without a verified bundle")
	}
	if ev := f.lastEvent(); ev == nil || !strings.Contains(ev.Message, "persisted bundle") {
		t.Fatalf("no audit event for the refused persisted bundle: %+v", ev)
	}
}

// MaxAge makes a bundle that the source has not confirmed for that long
// unhealthy, and a successful check healthy again.
func TestPullerStaleness(t *testing.T) {
	ctx := context.Background()
	f := newEdgeFixture(t)
	p, _ := f.puller(t, t.TempDir(), func(o *PullOptions) { o.MaxAge = 300 * time.Millisecond })
	if err := p.Ready(); err == nil || !strings.Contains(err.Error(), "no verified bundle") {
		t.Fatalf("before activation: %v", err)
	}
	if _, err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(); err != nil {
		t.Fatal(err)
	}
	f.serve(func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", 503) })
	time.Sleep(400 * time.Millisecond)
	p.Poll(ctx)
	if err := p.Ready(); err == nil || !strings.Contains(err.Error(), "stale") {
		t.Fatalf("after max age without the server: %v", err)
	}
	f.serve(nil)
	if _, err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := p.Ready(); err != nil {
		t.Fatalf("after the server is back: %v", err)
	}
}

func TestPullerNeedsAKey(t *testing.T) {
	_, err := NewPuller(PullOptions{Source: "http://x/bundles/main", Activate: func(context.Context, *Pulled) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "verification key is required") {
		t.Fatalf("no key: %v", err)
	}
	_, err = NewPuller(PullOptions{Source: "http://x/bundles/main", PublicKey: []byte("x"), Activate: func(context.Context, *Pulled) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "verification key") {
		t.Fatalf("a key that is not PEM: %v", err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, pub := pemKeys(t, k)
	_, err = NewPuller(PullOptions{Source: "ftp://x", PublicKey: pub, Activate: func(context.Context, *Pulled) error { return nil }})
	if err == nil || !strings.Contains(err.Error(), "want http(s)://") {
		t.Fatalf("an ftp source: %v", err)
	}
}

func counterValue(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	return testutil.ToFloat64(c)
}

func readFile(t *testing.T, name string) ([]byte, error) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b, nil
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
