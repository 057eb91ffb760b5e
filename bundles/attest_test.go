package bundles

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/policyrepo"
)

func TestAttestationBindsTheBundleToItsSource(t *testing.T) {
	g, c1, c2 := fixture(t)
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Approve(context.Background(), "main", "bo", sv); err != nil {
		t.Fatal(err)
	}
	opts := BuildOptions{Dir: "policies", Builder: "belladonna test"}
	b := build(t, g.Dir, "main", opts)
	in, err := Provenance(r, "main", b, opts, "bundle.tar.gz", b.Bytes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	env, err := Attest(in, sv)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := r.Identity()
	st, err := VerifyAttestation(env, b.Bytes, sv, Expect{Repository: id, Branch: "main"})
	if err != nil {
		t.Fatal(err)
	}
	bd := st.Predicate.BuildDefinition
	if bd.ResolvedDependencies[0].Digest["gitCommit"] != c2 || bd.ExternalParameters.Branch != "main" || st.Predicate.RunDetails.Builder.ID != "belladonna test" {
		t.Fatalf("provenance %+v", st.Predicate)
	}
	var approvals []Approval
	json.Unmarshal(st.Predicate.RunDetails.Byproducts[0].Content, &approvals)
	if len(approvals) != 1 || approvals[0].Approver != "bo" {
		t.Fatalf("approvals recorded %+v", approvals)
	}
	names := ""
	for _, p := range st.Predicate.RunDetails.Byproducts[1:] {
		names += p.Name + " "
	}
	if !strings.Contains(names, "security/authz/authz.rego") || !strings.Contains(names, ".manifest") {
		t.Fatalf("file digests for %s", names)
	}

	older := build(t, g.Dir, c1, opts)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherV, _ := signature.LoadECDSAVerifier(&other.PublicKey, crypto.SHA256)
	var envelope map[string]any
	json.Unmarshal(env, &envelope)
	envelope["payload"] = strings.Replace(envelope["payload"].(string), "A", "B", 1)
	forged, _ := json.Marshal(envelope)
	for _, tc := range []struct {
		name     string
		env, bun []byte
		v        signature.Verifier
		want     Expect
		says     string
	}{
		{"another bundle", env, older.Bytes, sv, Expect{}, "it attests sha256"},
		{"another repository", env, b.Bytes, sv, Expect{Repository: "git:0000"}, "built from repository"},
		{"another branch", env, b.Bytes, sv, Expect{Branch: "release"}, `built from branch "main", want "release"`},
		{"another key", env, b.Bytes, otherV, Expect{}, "does not verify"},
		{"a changed statement", forged, b.Bytes, sv, Expect{}, "does not verify"},
		{"not an envelope", []byte("{"), b.Bytes, sv, Expect{}, "does not verify"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := VerifyAttestation(tc.env, tc.bun, tc.v, tc.want); !errors.Is(err, ErrAttestation) || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want ErrAttestation saying %q, got %v", tc.says, err)
			}
		})
	}
}
