package bundles

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// The edge's and the server's decoders of untrusted input never panic,
// and what they accept is well-formed.

func FuzzParseOCIRef(f *testing.F) {
	for _, s := range []string{"oci://127.0.0.1:5000/policies/authz:main", "oci://ghcr.io/org/repo:v1", "oci://h/r:", "oci://h:1/a/b/c:t", "oci://:/:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseOCIRef(s)
		if err != nil {
			return
		}
		if r.Registry == "" || r.Repository == "" || r.Tag == "" {
			t.Fatalf("%q accepted as %+v", s, r)
		}
		if again, err := ParseOCIRef(r.String()); err != nil || again != r {
			t.Fatalf("%q -> %+v -> %q does not round-trip: %v", s, r, r.String(), err)
		}
	})
}

func FuzzAttestationLink(f *testing.F) {
	f.Add(`</attestations/ab>; rel="` + AttestationRel + `"`)
	f.Add(`<a>; rel=next, </x>; rel="` + AttestationRel + `"`)
	f.Add(`<>; rel=`)
	f.Fuzz(func(t *testing.T, s string) {
		if l := attestationLink([]string{s}); l != "" && strings.ContainsAny(l, "<>") {
			t.Fatalf("link %q from %q", l, s)
		}
	})
}

func FuzzManifestSequence(f *testing.F) {
	for _, s := range []string{`{"sequence": 3}`, `{"sequence": -1}`, `{"sequence": 1.5}`, `{"sequence": "7"}`, `{"sequence": null}`, `{}`, `{"sequence": 1e30}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var meta map[string]any
		d := json.NewDecoder(strings.NewReader(s))
		if err := d.Decode(&meta); err != nil {
			return
		}
		manifestSequence(bundle.Manifest{Metadata: meta})
	})
}

// FuzzStatusReport posts arbitrary bodies to /status: each is stored or
// refused with 400, and the fleet view stays servable.
func FuzzStatusReport(f *testing.F) {
	f.Add([]byte(`{"labels": {"id": "a", "version": "1"}, "bundles": {"main": {"name": "main", "active_revision": "x"}}}`))
	f.Add([]byte(`{"labels": {"id": "b"}, "bundle": {"name": "main", "code": "bundle_error", "errors": [{"code": "x"}]}}`))
	f.Add([]byte(`{"labels": {}}`))
	f.Add([]byte(`{"bundles": {"main": null}, "labels": {"id": "c"}}`))
	g := gitfixture.New(f)
	g.Commit("ana", "one", map[string][]byte{"policies/p.rego": []byte("package p\n\nx := 1\n")})
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		f.Fatal(err)
	}
	s := &Server{Repo: r, Fleet: &Fleet{MaxEdges: 50}}
	h := s.Handler()
	f.Fuzz(func(t *testing.T, body []byte) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/status", bytes.NewReader(body)))
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		v := s.Fleet.View()
		if _, err := json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	})
}
