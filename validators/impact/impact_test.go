package impact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

const authzBase = `package security.authz

# METADATA
# entrypoint: true
default allow := false

allow if input.user.role == "admin"
`

const authzTest = `package security.authz_test

import data.security.authz

test_admin if authz.allow with input as {"user": {"role": "admin"}}

test_dev_denied if not authz.allow with input as {"user": {"role": "dev"}}
`

func revs(t *testing.T, g *gitfixture.Repo, base, head string) (Revision, Revision) {
	t.Helper()
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	get := func(rev string) Revision {
		fsys, c, err := r.FS(rev)
		if err != nil {
			t.Fatal(err)
		}
		return Revision{Label: rev, Commit: c.Hash.String(), FS: fsys}
	}
	return get(base), get(head)
}

func TestLoosenedAuthzRuleIsMeasured(t *testing.T) {
	g := gitfixture.New(t)
	g.Commit("ana", "base", map[string][]byte{
		"security/authz/authz.rego":      []byte(authzBase),
		"security/authz/authz_test.rego": []byte(authzTest),
		"security/ratelimit/rl.rego":     []byte("package security.ratelimit\n\ndefault limit := 10\n"),
		"config/data.json":               []byte(`{"tiers": {"gold": 100, "free": 10}}`),
	})
	g.Commit("bo", "let devs in, lower the free tier", map[string][]byte{
		"security/authz/authz.rego": []byte(authzBase + "\nallow if input.user.role == \"dev\"\n"),
		"config/data.json":          []byte(`{"tiers": {"gold": 100, "free": 5}}`),
	})
	// Recorded decisions: 40 devs (denied before), 10 admins, 5 guests.
	dir := t.TempDir()
	l, err := audit.Open(context.Background(), audit.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for i, role := range append(append(repeat("dev", 40), repeat("admin", 10)...), repeat("guest", 5)...) {
		in := fmt.Sprintf(`{"user": {"role": %q, "id": "u%d"}}`, role, i)
		if _, err := l.Append(context.Background(), &audit.Entry{Kind: audit.KindDecision, Path: "security/authz/allow", Input: json.RawMessage(in)}); err != nil {
			t.Fatal(err)
		}
	}
	recorded, err := RecordedCases(context.Background(), l, RecordedOptions{Last: 1000})
	if err != nil || len(recorded) != 55 {
		t.Fatalf("recorded: %d %v", len(recorded), err)
	}
	l.Close()

	base, head := revs(t, g, "HEAD~1", "HEAD")
	rep, err := Compare(context.Background(), base, head, Options{Recorded: recorded})
	if err != nil {
		t.Fatal(err)
	}
	// 2 test inputs per side (4, 2 distinct) + 55 recorded.
	if rep.TestInputs != 4 || rep.RecordedInputs != 55 || rep.Replayed != 57 {
		t.Fatalf("replayed %d (tests %d, recorded %d)", rep.Replayed, rep.TestInputs, rep.RecordedInputs)
	}
	if c := rep.Counts; c.Loosened != 41 || c.Tightened != 0 || c.Modified != 0 || c.Unchanged != 16 {
		t.Fatalf("counts %+v, want 41 loosened (40 recorded devs + the test's dev) and 16 unchanged", c)
	}
	if c := rep.ByComponent["authz"]; c == nil || c.Loosened != 41 {
		t.Fatalf("by component %+v", rep.ByComponent)
	}
	if len(rep.Flips) != MaxExamples || rep.Flips[0].Direction != Loosened || rep.Flips[0].Before.Outcome != "deny" || rep.Flips[0].After.Outcome != "allow" {
		t.Fatalf("flips %+v", rep.Flips)
	}
	wantRules := []Change{{Kind: "rule", Action: "changed", Path: "security/authz/allow", Component: "authz", File: "security/authz/authz.rego"}}
	if fmt.Sprint(rep.Rules) != fmt.Sprint(wantRules) {
		t.Fatalf("rules %+v", rep.Rules)
	}
	if len(rep.Data) != 1 || rep.Data[0].Path != "config/tiers/free" || rep.Data[0].Component != "data" || rep.Data[0].Action != "changed" {
		t.Fatalf("data %+v", rep.Data)
	}
	// 40 + 20 × 41/57 (authz share) rounds to 54.
	if rep.Risk != 54 {
		t.Fatalf("risk %d: %v", rep.Risk, rep.RiskFactors)
	}
	for _, format := range Formats {
		var buf bytes.Buffer
		if err := Write(&buf, rep, format); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), "loosened") {
			t.Fatalf("%s output:\n%s", format, buf.String())
		}
	}
}

func TestRemovedEntrypointAndShapeChange(t *testing.T) {
	g := gitfixture.New(t)
	g.Commit("ana", "base", map[string][]byte{
		"security/authz/authz.rego":      []byte(authzBase + "\ndecision := {\"allow\": allow}\n"),
		"security/authz/authz_test.rego": []byte(authzTest + "\ntest_decision if authz.decision with input as {\"user\": {\"role\": \"admin\"}}\n"),
	})
	g.Commit("bo", "rename allow, decision grows a reason", map[string][]byte{
		"security/authz/authz.rego": []byte("package security.authz\n\ndefault permit := false\n\npermit if input.user.role == \"admin\"\n\ndecision := {\"allow\": permit, \"reason\": \"r\"}\n"),
	})
	base, head := revs(t, g, "HEAD~1", "HEAD")
	rep, err := Compare(context.Background(), base, head, Options{})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]string{}
	for _, w := range rep.Warnings {
		kinds[w.Kind] = w.Path
	}
	if kinds[WarnRemovedEntrypoint] != "security/authz/allow" || kinds[WarnResultShape] != "security/authz/decision" {
		t.Fatalf("warnings %+v", rep.Warnings)
	}
	// admin: allow true -> undefined (allow removed): tightened.
	if rep.Counts.Tightened == 0 || rep.Risk < 40 {
		t.Fatalf("counts %+v risk %d %v", rep.Counts, rep.Risk, rep.RiskFactors)
	}
}

func TestBrokenRevisionIsNamed(t *testing.T) {
	g := gitfixture.New(t)
	g.Commit("ana", "base", map[string][]byte{"a/a.rego": []byte("package a\n\nx := 1\n")})
	g.Commit("ana", "broken", map[string][]byte{"a/a.rego": []byte("package a\n\nx := y\n")})
	base, head := revs(t, g, "HEAD~1", "HEAD")
	_, err := Compare(context.Background(), base, head, Options{})
	if err == nil || !strings.Contains(err.Error(), "HEAD does not compile") || !strings.Contains(err.Error(), filepath.Join("a", "a.rego")) {
		t.Fatalf("want a compile error naming HEAD and the file, got %v", err)
	}
}

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// Test inputs built from a base input rule, a helper function or a local
// assigned from constants are found too (the shipped library's tests
// are written that way).
func TestCasesFromHelpersAndLocals(t *testing.T) {
	fsys := fstest.MapFS{
		"authz/authz.rego": {Data: []byte("package security.authz\n\ndefault allow := false\n\nallow if input.role == \"admin\"\n")},
		"authz/authz_test.rego": {Data: []byte(`package security.authz_test

import data.security.authz

base := {"role": "admin"}

req(o) := object.union(base, o)

test_base if authz.allow with input as base

test_helper if not authz.allow with input as req({"role": "dev"})

test_local if {
	r := req({"role": "guest"})
	not authz.allow with input as r
}

test_from_input if {
	some x in [1]
	not authz.allow with input as {"role": x}
}
`)},
	}
	s, err := load(context.Background(), Revision{Label: "x", FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range TestCases(context.Background(), s.state) {
		got = append(got, c.Path+" "+c.Input.String())
	}
	want := []string{`security/authz/allow {"role": "admin"}`, `security/authz/allow {"role": "dev"}`, `security/authz/allow {"role": "guest"}`}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("cases %q, want %q", got, want)
	}
}
