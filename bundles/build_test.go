package bundles

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/bundle"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

const authzRego = `package security.authz

default allow := false

allow if input.user.role in data.config.authz.roles
`

func fixture(t *testing.T) (*gitfixture.Repo, string, string) {
	t.Helper()
	g := gitfixture.New(t)
	c1 := g.Commit("ana", "admins", map[string][]byte{
		"policies/security/authz/authz.rego":      []byte(authzRego),
		"policies/security/authz/authz_test.rego": []byte("package security.authz_test\n\nimport data.security.authz\n\ntest_admin if authz.allow with input as {\"user\": {\"role\": \"admin\"}}\n"),
		"policies/config/authz/data.json":         []byte(`{"roles": ["admin"]}`),
		"README.md":                               []byte("not policy"),
	})
	c2 := g.Commit("bo", "devs too", map[string][]byte{
		"policies/config/authz/data.json": []byte(`{"roles": ["admin", "dev"]}`),
	})
	return g, c1, c2
}

func build(t *testing.T, dir, rev string, opts BuildOptions) *Build {
	t.Helper()
	r, err := policyrepo.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := BuildRevision(context.Background(), r, rev, opts)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The same commit always gives the same bytes, from any clone; the manifest
// names the commit, its time and its place on the branch.
func TestBuildIsReproducibleAndNamesTheCommit(t *testing.T) {
	g, c1, c2 := fixture(t)
	opts := BuildOptions{Dir: "policies", Builder: "belladonna test"}
	a := build(t, g.Dir, "HEAD", opts)
	b := build(t, g.Dir, c2, opts)
	clone := gitfixture.Clone(t, g.Dir, false)
	c := build(t, clone.Dir, c2, opts)
	if !bytes.Equal(a.Bytes, b.Bytes) || !bytes.Equal(a.Bytes, c.Bytes) {
		t.Fatal("the same commit built to different bytes")
	}
	if a.Commit != c2 || a.Sequence != 2 {
		t.Fatalf("build %s sequence %d, want %s and 2", a.Commit, a.Sequence, c2)
	}
	if first := build(t, g.Dir, c1, opts); first.Sequence != 1 || bytes.Equal(first.Bytes, a.Bytes) {
		t.Fatalf("first commit: sequence %d", first.Sequence)
	}
	if strings.Join(a.Modules, ",") != "security/authz/authz.rego" {
		t.Fatalf("modules %v: tests and non-policy files stay out", a.Modules)
	}

	got, err := bundle.NewReader(bytes.NewReader(a.Bytes)).Read()
	if err != nil {
		t.Fatal(err)
	}
	m := got.Manifest
	if m.Revision != c2 || m.Metadata[MetaSequence] == nil || m.Metadata[MetaBuilder] != "belladonna test" ||
		m.Metadata[MetaCommitTime] != a.CommitTime.Format("2006-01-02T15:04:05Z07:00") || !strings.HasPrefix(m.Metadata[MetaRepository].(string), "git:") {
		t.Fatalf("manifest %+v", m)
	}
	if len(got.Modules) != 1 || got.Modules[0].Path != "/security/authz/authz.rego" {
		t.Fatalf("bundle modules %+v", got.Modules)
	}
}

// The bundle serves: the engine loads it and its decisions name the commit.
func TestBuiltBundleLoadsAndDecides(t *testing.T) {
	g, _, c2 := fixture(t)
	for _, opt := range []int{0, 1} {
		b := build(t, g.Dir, "HEAD", BuildOptions{Dir: "policies", Optimize: opt, Entrypoints: []string{"security/authz/allow"}})
		src, err := engine.LoadBundle(bytes.NewReader(b.Bytes), engine.LoadOptions{})
		if err != nil {
			t.Fatalf("-O=%d: %v", opt, err)
		}
		if src.Revision != c2 {
			t.Fatalf("-O=%d: revision %q, want the commit", opt, src.Revision)
		}
		st, err := engine.Compile(context.Background(), src, engine.CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for role, want := range map[string]bool{"admin": true, "dev": true, "guest": false} {
			v, _, err := st.Eval(context.Background(), "security/authz/allow", map[string]any{"user": map[string]any{"role": role}})
			if err != nil || v != want {
				t.Fatalf("-O=%d: %s: %v %v, want %v", opt, role, v, err, want)
			}
		}
	}
}

func TestBuildBadInput(t *testing.T) {
	g, _, _ := fixture(t)
	g.Commit("cy", "broken", map[string][]byte{"policies/security/authz/broken.rego": []byte("package security.authz\n\nallow if {\n")})
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		name, rev string
		opts      BuildOptions
		want      string
	}{
		{"unknown revision", "v9", BuildOptions{}, `unknown revision "v9"`},
		{"does not compile", "HEAD", BuildOptions{Dir: "policies"}, "policies/security/authz/broken.rego:4: rego_parse_error"},
		{"no such directory", "HEAD~1", BuildOptions{Dir: "nope"}, "directory nope is not in HEAD~1"},
		{"optimize without entrypoint", "HEAD~1", BuildOptions{Optimize: 1}, "needs at least one entrypoint"},
		{"bad level", "HEAD~1", BuildOptions{Optimize: 3}, "optimization level 3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := BuildRevision(ctx, r, tc.rev, tc.opts)
			if !errors.Is(err, ErrBuild) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want ErrBuild saying %q, got %v", tc.want, err)
			}
		})
	}
}
