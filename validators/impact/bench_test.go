package impact

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/policies"
)

// libraryFS copies the shipped library into a MapFS, applying edit to
// config/authz/data.json.
func libraryFS(tb testing.TB, edit func(string) string) fs.FS {
	m := fstest.MapFS{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS, p)
		if p == "config/authz/data.json" {
			b = []byte(edit(string(b)))
		}
		m[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

var replayN = flag.Int("impact.n", 100_000, "recorded decisions BenchmarkReplay100k replays")

// BenchmarkReplay100k replays 100,000 distinct recorded authz decisions
// through two revisions: of the shipped library (the head lets developers
// write any repository of their tenant, not only their own; its RBAC
// computes a role graph on every evaluation), and of a one-rule policy.
func BenchmarkReplay100k(b *testing.B) {
	b.Run("library-rbac", benchLibrary)
	b.Run("one-rule", benchOneRule)
}

func benchOneRule(b *testing.B) {
	mk := func(roles string) Revision {
		return Revision{Label: roles, FS: fstest.MapFS{"authz/authz.rego": {Data: []byte(
			"package security.authz\n\ndefault allow := false\n\nallow if input.subject.roles[_] in " + roles + "\n")}}}
	}
	benchReplay(b, mk(`{"maintainer"}`), mk(`{"maintainer", "developer"}`))
}

func benchLibrary(b *testing.B) {
	base := Revision{Label: "base", FS: libraryFS(b, func(s string) string { return s })}
	head := Revision{Label: "head", FS: libraryFS(b, func(s string) string {
		return strings.Replace(s, `{"resource": "repository", "action": "write", "conditions": ["tenant_member", "owner"]}`,
			`{"resource": "repository", "action": "write", "conditions": ["tenant_member"]}`, 1)
	})}
	benchReplay(b, base, head)
}

func benchReplay(b *testing.B, base, head Revision) {
	n := *replayN
	cases := make([]Case, n)
	actions := []string{"read", "write", "delete", "run"}
	roles := []string{"viewer", "developer", "maintainer", "intern"}
	for i := range cases {
		in := fmt.Sprintf(`{"subject": {"id": "u%d", "roles": [%q], "tenant": "acme"}, "action": %q,
			"resource": {"type": "repository", "id": "r%d", "owner": "u%d", "tenant": "acme"},
			"context": {"time": "2026-11-25T10:00:00Z", "source_ip": "10.1.2.3"}}`, i, roles[i%4], actions[i%3], i, i/2*2)
		v, err := ast.ParseTerm(in)
		if err != nil {
			b.Fatal(err)
		}
		cases[i] = Case{Path: "security/authz/allow", Input: v.Value, Source: fmt.Sprintf("audit #%d", i)}
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := Compare(context.Background(), base, head, Options{Recorded: cases})
		if err != nil {
			b.Fatal(err)
		}
		if r.Counts.Loosened == 0 {
			b.Fatalf("no loosened decision: %+v", r.Counts)
		}
		b.ReportMetric(r.ReplayTime.Seconds(), "replay-s")
		b.ReportMetric(float64(r.Replayed)/r.ReplayTime.Seconds(), "decisions/s")
		b.ReportMetric(float64(r.Counts.Loosened), "loosened")
		if r.Evaluator != "ir-vm" {
			b.Logf("evaluator %s, warnings %+v", r.Evaluator, r.Warnings)
		}
	}
}
