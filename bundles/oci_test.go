package bundles

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"

	"github.com/belladonna-dev/belladonna/internal/bundletest"
	"github.com/belladonna-dev/belladonna/internal/registrytest"
	"github.com/belladonna-dev/belladonna/internal/stockopa"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// signedAttested builds rev of the fixture, signs it and attests it.
func (f *edgeFixture) signedAttested(t *testing.T, rev string) ([]byte, []byte) {
	t.Helper()
	r, err := policyrepo.Open(f.g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	opts := BuildOptions{Dir: "policies", Builder: "test"}
	b, err := BuildRevision(context.Background(), r, rev, opts)
	if err != nil {
		t.Fatal(err)
	}
	signed := mustSign(t, b.Bytes, *f.srv.Sign)
	in, err := Provenance(r, "main", b, opts, "bundle.tar.gz", signed, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	att, err := Attest(in, f.attestSV)
	if err != nil {
		t.Fatal(err)
	}
	return signed, att
}

// Through a real registry: what we push, our edge pulls and verifies
// (attestation as an OCI referrer), refusing a downgrade and a tampered
// push, and stock OPA pulls and activates too.
func TestOCIPushPull(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.Start(t)
	f := newEdgeFixture(t)
	ref, err := ParseOCIRef("oci://" + reg + "/policies/authz:main")
	if err != nil {
		t.Fatal(err)
	}
	b1, a1 := f.signedAttested(t, "HEAD")
	res, err := PushOCI(ctx, ref, b1, a1, OCIOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Attestation == nil || res.Manifest.MediaType != "application/vnd.oci.image.manifest.v1+json" {
		t.Fatalf("push result %+v", res)
	}
	// What OPA takes (the first tar+gzip layer) and what Conftest takes
	// (its media types, file names as titles, its config type).
	repo, _ := OCIOptions{}.repository(ref)
	_, raw, err := oras.FetchBytes(ctx, repo, ref.Tag, oras.DefaultFetchBytesOptions)
	if err != nil {
		t.Fatal(err)
	}
	var man ocispec.Manifest
	json.Unmarshal(raw, &man)
	var layers []string
	for _, l := range man.Layers {
		layers = append(layers, l.MediaType+" "+l.Annotations[ocispec.AnnotationTitle])
	}
	want := []string{ocispec.MediaTypeImageLayerGzip + " bundle.tar.gz", OCIDataLayerType + " data.json", OCIRegoLayerType + " security/authz/authz.rego"}
	if man.Config.MediaType != OCIConfigType || strings.Join(layers, "\n") != strings.Join(want, "\n") {
		t.Fatalf("manifest config %s, layers:\n%s\nwant\n%s", man.Config.MediaType, strings.Join(layers, "\n"), strings.Join(want, "\n"))
	}
	var activated atomic.Int32
	p, active := f.puller(t, t.TempDir(), func(o *PullOptions) {
		o.Source = ref.String()
		inner := o.Activate
		o.Activate = func(ctx context.Context, pl *Pulled) error { activated.Add(1); return inner(ctx, pl) }
	})
	if _, err := p.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	head := f.g.Commit("cy", "admins only", map[string][]byte{"policies/config/authz/data.json": []byte(`{"roles": ["admin"]}`)})
	if got := active.Load(); got == head || got == nil {
		t.Fatalf("active %v", got)
	}
	st := p.Status()
	if !st.Active.Attested || st.Active.ETag != res.Manifest.Digest.String() || st.Name != "main" {
		t.Fatalf("status %+v", st.Active)
	}
	// Nothing new: the manifest digest is the ETag, nothing is activated.
	if _, err := p.Poll(ctx); err != nil || activated.Load() != 1 {
		t.Fatalf("second poll: %v, %d activations", err, activated.Load())
	}
	b2, a2 := f.signedAttested(t, "HEAD")
	if _, err := PushOCI(ctx, ref, b2, a2, OCIOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Poll(ctx); err != nil || active.Load() != head {
		t.Fatalf("new commit: %v, active %v", err, active.Load())
	}
	// The old bundle pushed again (a replay): refused.
	if _, err := PushOCI(ctx, ref, b1, a1, OCIOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Poll(ctx); err == nil || !strings.Contains(err.Error(), "lower than the active") || active.Load() != head {
		t.Fatalf("downgrade through OCI: %v, active %v", err, active.Load())
	}
	// A bundle changed after signing, pushed with the old attestation.
	if _, err := PushOCI(ctx, ref, bundletest.TamperRego(t, b2), a2, OCIOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Poll(ctx); err == nil || !strings.Contains(err.Error(), "signature") || active.Load() != head {
		t.Fatalf("tampered through OCI: %v", err)
	}
	// Stock OPA, pointed at the registry, pulls the good one, and refuses
	// the same bundle with one byte changed under another tag.
	if _, err := PushOCI(ctx, ref, b2, a2, OCIOptions{}); err != nil {
		t.Fatal(err)
	}
	flipped := ref
	flipped.Tag = "flipped"
	if _, err := PushOCI(ctx, flipped, bundletest.FlipByte(t, b2), nil, OCIOptions{}); err != nil {
		t.Fatal(err)
	}
	opaCfg := func(tag string) string {
		return stockopa.Client{URL: "http://" + reg, OCI: true, Bundle: "authz", Resource: reg + "/policies/authz:" + tag, KeyPEM: f.pub}.Config()
	}
	addr, _ := startStockOPAWith(t, opaCfg("main"))
	badAddr, badLogs := startStockOPAWith(t, opaCfg("flipped"))
	deadline := time.Now().Add(30 * time.Second)
	for !bundlesReady(addr) {
		if time.Now().After(deadline) {
			t.Fatal("stock OPA did not activate the bundle from the registry")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for role, want := range map[string]bool{"admin": true, "dev": false} {
		resp, err := http.Post("http://"+addr+"/v1/data/security/authz/allow", "application/json",
			strings.NewReader(fmt.Sprintf(`{"input": {"user": {"role": %q}}}`, role)))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if out["result"] != want {
			t.Fatalf("stock OPA from OCI: %s -> %v, want %v", role, out, want)
		}
	}
	for range 20 {
		if bundlesReady(badAddr) {
			t.Fatal("stock OPA activated a bundle with one byte changed")
		}
		if strings.Contains(badLogs.String(), "digest mismatch") {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("stock OPA does not say why it refused the changed bundle:\n%s", badLogs.String())
}

func TestParseOCIRef(t *testing.T) {
	for _, bad := range []string{"oci://", "oci://host", "oci://host/repo", "http://host/repo:tag", "oci://host/Repo:tag", "oci://host/repo:"} {
		if _, err := ParseOCIRef(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	r, err := ParseOCIRef("oci://127.0.0.1:5000/org/policies:v1.2")
	if err != nil || r.Registry != "127.0.0.1:5000" || r.Repository != "org/policies" || r.Tag != "v1.2" {
		t.Fatalf("%+v %v", r, err)
	}
}

// A private registry (htpasswd): pushing and pulling need the
// credentials; without them the edge refuses to activate anything and
// says why.
func TestOCIPrivateRegistry(t *testing.T) {
	ctx := context.Background()
	reg := registrytest.StartWithUser(t, "ci", "pa55word")
	f := newEdgeFixture(t)
	ref, _ := ParseOCIRef("oci://" + reg + "/private/authz:main")
	b, a := f.signedAttested(t, "HEAD")
	if _, err := PushOCI(ctx, ref, b, a, OCIOptions{}); err == nil || !strings.Contains(err.Error(), "credential") {
		t.Fatalf("push without credentials: %v", err)
	}
	if _, err := PushOCI(ctx, ref, b, a, OCIOptions{Username: "ci", Password: "pa55word"}); err != nil {
		t.Fatal(err)
	}
	anon, active := f.puller(t, t.TempDir(), func(o *PullOptions) { o.Source = ref.String() })
	if _, err := anon.Poll(ctx); err == nil || active.Load() != nil || !strings.Contains(anon.Status().Message, "credential") {
		t.Fatalf("pull without credentials: %v (%s)", err, anon.Status().Message)
	}
	p, active := f.puller(t, t.TempDir(), func(o *PullOptions) {
		o.Source, o.RegistryUsername, o.Token = ref.String(), "ci", "pa55word"
	})
	if _, err := p.Poll(ctx); err != nil || active.Load() == nil {
		t.Fatalf("pull with credentials: %v", err)
	}
}
