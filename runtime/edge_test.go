package runtime

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// pairRego has two rules that must agree: a request answered by a mix of
// two revisions would show a and b differing.
func pairRego(v string) []byte {
	return []byte(fmt.Sprintf("package edge\n\na := %q\n\nb := %q\n", v, v))
}

type edgeRig struct {
	g       *gitfixture.Repo
	srv     *bundles.Server
	url     string
	down    atomic.Bool
	replay  atomic.Pointer[[2][]byte] // bundle and attestation served instead of the real ones
	sv      signature.SignerVerifier
	cfg     config.Config
	commits []string
}

func newEdgeRig(t *testing.T) *edgeRig {
	t.Helper()
	rig := &edgeRig{g: gitfixture.New(t)}
	rig.commits = append(rig.commits, rig.g.Commit("ana", "one", map[string][]byte{"policies/edge.rego": pairRego("one")}))
	r, err := policyrepo.Open(rig.g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	privDER, _ := x509.MarshalPKCS8PrivateKey(key)
	pubDER, _ := x509.MarshalPKIXPublicKey(key.Public())
	akey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	apubDER, _ := x509.MarshalPKIXPublicKey(akey.Public())
	sv, _ := signature.LoadECDSASignerVerifier(akey, crypto.SHA256)
	rig.sv = sv
	writePEMFile(t, filepath.Join(dir, "signing.pub"), "PUBLIC KEY", pubDER)
	writePEMFile(t, filepath.Join(dir, "attest.pub"), "PUBLIC KEY", apubDER)
	rig.srv = &bundles.Server{Repo: r, Options: bundles.BuildOptions{Dir: "policies"},
		Sign: &bundles.SignKey{PEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})}, Attest: sv, RefPoll: 20 * time.Millisecond}
	h := rig.srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rig.down.Load() {
			// An outage: the connection is cut without an answer.
			hj, _ := w.(http.Hijacker)
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
		if b := rig.replay.Load(); b != nil {
			switch {
			case strings.HasPrefix(r.URL.Path, "/bundles/"):
				w.Header().Set("ETag", `"replayed"`)
				w.Header().Set("Link", fmt.Sprintf("</replayed.intoto.json>; rel=%q", bundles.AttestationRel))
				w.Write(b[0])
				return
			case r.URL.Path == "/replayed.intoto.json":
				w.Write(b[1])
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	rig.url = ts.URL
	id, _ := r.Identity()
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	cfg.Bundles.Source = ts.URL + "/bundles/main"
	cfg.Bundles.VerificationKey = filepath.Join(dir, "signing.pub")
	cfg.Bundles.AttestationKey = filepath.Join(dir, "attest.pub")
	cfg.Bundles.Repository, cfg.Bundles.Branch = id, "main"
	cfg.Bundles.MinDelay, cfg.Bundles.MaxDelay = "100ms", "200ms"
	cfg.Bundles.MaxAge = "1500ms"
	rig.cfg = cfg
	return rig
}

func writePEMFile(t *testing.T, name, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(name, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (rig *edgeRig) start(t *testing.T) (*Serve, string) {
	t.Helper()
	s, err := NewServe(context.Background(), ServeParams{Config: rig.cfg})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s, "http://" + addr.String()
}

// ask returns the edge package's a and b and the HTTP status.
func ask(base string) (string, string, int, error) {
	resp, err := http.Post(base+"/v1/data/edge", "application/json", strings.NewReader(`{"input": {}}`))
	if err != nil {
		return "", "", 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Result struct{ A, B string }
	}
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &out)
	return out.Result.A, out.Result.B, resp.StatusCode, nil
}

func healthy(base string) (int, string) {
	resp, err := http.Get(base + "/health?bundles=true")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func waitUntil(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// The "done when" for an edge: it activates a verified bundle,
// picks up a new commit within one polling interval with no request
// failed or answered by a mix, survives an outage (and reports staleness),
// refuses a replayed older bundle, and comes back after a restart with the
// server down serving the last good bundle. Every activation and refusal
// is in the audit log.
func TestEdgePullsVerifiesAndSurvives(t *testing.T) {
	rig := newEdgeRig(t)
	s, base := rig.start(t)
	waitUntil(t, 5*time.Second, "first activation", func() bool { a, _, _, _ := ask(base); return a == "one" })
	waitUntil(t, time.Second, "health after activation", func() bool { code, _ := healthy(base); return code == 200 })

	// Load while a new commit lands: every answer is one revision or the
	// other, none fails.
	var wg sync.WaitGroup
	var answered, failed, mixed atomic.Int64
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				a, b, code, err := ask(base)
				switch {
				case err != nil || code != 200:
					failed.Add(1)
				case a != b || (a != "one" && a != "two"):
					mixed.Add(1)
				default:
					answered.Add(1)
				}
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	committed := time.Now()
	rig.commits = append(rig.commits, rig.g.Commit("bo", "two", map[string][]byte{"policies/edge.rego": pairRego("two")}))
	// One polling interval is at most max_delay (200 ms), plus the build.
	took := waitUntil(t, 3*time.Second, "the new commit", func() bool { a, _, _, _ := ask(base); return a == "two" })
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("new commit active %v after the commit (polling 100-200 ms); %d answers under load, %d failed, %d mixed",
		took, answered.Load(), failed.Load(), mixed.Load())
	_ = committed
	if failed.Load() != 0 || mixed.Load() != 0 || answered.Load() == 0 {
		t.Fatalf("during activation: %d answered, %d failed, %d mixed", answered.Load(), failed.Load(), mixed.Load())
	}
	if st := s.Puller().Status(); st.Active.Revision != rig.commits[1] || st.Active.Sequence != 2 || !st.Active.Attested {
		t.Fatalf("status %+v", st.Active)
	}

	// A replay of the older signed bundle with its attestation is refused.
	resp, err := http.Get(rig.url + "/bundles/main")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	old := buildSigned(t, rig, rig.commits[0])
	rig.replay.Store(&old)
	waitUntil(t, 3*time.Second, "the downgrade refusal", func() bool { return strings.Contains(s.Puller().Status().Message, "sequence") })
	if a, _, _, _ := ask(base); a != "two" {
		t.Fatalf("after a replayed old bundle the edge answers %q", a)
	}
	rig.replay.Store(nil)

	// An outage: decisions go on, health turns stale after max_age.
	rig.down.Store(true)
	waitUntil(t, 5*time.Second, "staleness", func() bool { code, _ := healthy(base); return code == 500 })
	if a, _, code, _ := ask(base); a != "two" || code != 200 {
		t.Fatalf("during the outage: %q %d", a, code)
	}
	_, body := healthy(base)
	if !strings.Contains(body, "stale") {
		t.Fatalf("health during the outage: %s", body)
	}
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// Restart with the server still down: the last good bundle serves.
	s2, base2 := rig.start(t)
	if a, _, code, _ := ask(base2); a != "two" || code != 200 {
		t.Fatalf("after a restart without the server: %q %d", a, code)
	}
	if code, body := healthy(base2); code != 200 {
		t.Fatalf("restored bundle not ready: %d %s", code, body)
	}
	// The server comes back with a third commit: picked up.
	rig.commits = append(rig.commits, rig.g.Commit("cy", "three", map[string][]byte{"policies/edge.rego": pairRego("three")}))
	rig.down.Store(false)
	waitUntil(t, 5*time.Second, "the commit after the outage", func() bool { a, _, _, _ := ask(base2); return a == "three" })
	if err := s2.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}

	// The audit log has every activation and the refusal.
	l, err := audit.Open(context.Background(), audit.Options{Dir: AuditDir(rig.cfg.DataDir)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	es, err := l.Read(context.Background(), 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var activations, refusals []string
	for _, e := range es {
		switch e.Type {
		case audit.EventBundleActivation:
			activations = append(activations, e.Revision)
		case bundles.EventBundleRefused:
			refusals = append(refusals, e.Message)
		}
	}
	want := []string{rig.commits[0], rig.commits[1], rig.commits[1], rig.commits[2]}
	if fmt.Sprint(activations) != fmt.Sprint(want) {
		t.Fatalf("activations in the audit log %v, want %v", activations, want)
	}
	if len(refusals) != 1 || !strings.Contains(refusals[0], "lower than the active") {
		t.Fatalf("refusals in the audit log: %q", refusals)
	}
}

// buildSigned builds, signs and attests commit the way the server does.
func buildSigned(t *testing.T, rig *edgeRig, commit string) [2][]byte {
	t.Helper()
	b, err := bundles.BuildRevision(context.Background(), rig.srv.Repo, commit, rig.srv.Options)
	if err != nil {
		t.Fatal(err)
	}
	signed, err := bundles.Sign(context.Background(), b.Bytes, *rig.srv.Sign)
	if err != nil {
		t.Fatal(err)
	}
	in, err := bundles.Provenance(rig.srv.Repo, "main", b, rig.srv.Options, "main.tar.gz", signed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	att, err := bundles.Attest(in, rig.sv)
	if err != nil {
		t.Fatal(err)
	}
	return [2][]byte{signed, att}
}

// An edge never activates what it cannot verify: serve refuses to start
// pulling without a verification key, and names the key.
func TestEdgeConfigNeedsAKey(t *testing.T) {
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Bundles.Source = "http://127.0.0.1:1/bundles/main"
	cfg.Bundles.VerificationKey = filepath.Join(t.TempDir(), "missing.pub")
	if _, err := NewServe(context.Background(), ServeParams{Config: cfg}); err == nil || !strings.Contains(err.Error(), "bundles.verification_key") {
		t.Fatalf("missing key: %v", err)
	}
	cfg.Bundles.VerificationKey = ""
	cfg.Server.Addr = "127.0.0.1:0"
	if _, err := NewServe(context.Background(), ServeParams{Config: cfg, Paths: []string{"x"}}); err == nil || !strings.Contains(err.Error(), "give no PATH") {
		t.Fatalf("paths with a source: %v", err)
	}
}
