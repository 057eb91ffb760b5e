package impact

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
)

func libraryRevisions(t *testing.T) (Revision, Revision) {
	base := Revision{Label: "base", FS: libraryFS(t, func(s string) string { return s })}
	head := Revision{Label: "head", FS: libraryFS(t, func(s string) string {
		return strings.Replace(s, `{"resource": "repository", "action": "write", "conditions": ["tenant_member", "owner"]}`,
			`{"resource": "repository", "action": "write", "conditions": ["tenant_member"]}`, 1)
	})}
	return base, head
}

func recordedAuthz(n int) []Case {
	actions := []string{"read", "write", "delete", "run"}
	roles := []string{"viewer", "developer", "maintainer", "intern", "contractor", "admin"}
	out := make([]Case, n)
	for i := range out {
		in := fmt.Sprintf(`{"subject": {"id": "u%d", "roles": [%q], "tenant": "acme"}, "action": %q,
			"resource": {"type": "repository", "id": "r%d", "owner": "u%d", "tenant": "acme"},
			"context": {"time": "2026-11-2%dT%02d:00:00Z", "source_ip": "10.1.2.3"}}`, i, roles[i%len(roles)], actions[i%3], i, i/2*2, 3+i%5, 6+i%14)
		v, err := ast.ParseTerm(in)
		if err != nil {
			panic(err)
		}
		out[i] = Case{Path: "security/authz/allow", Input: v.Value, Source: fmt.Sprintf("audit #%d", i)}
	}
	return out
}

// The replay on the IR VM reports exactly what topdown reports.
func TestReplayOnTheVMEqualsTopdown(t *testing.T) {
	ctx := context.Background()
	base, head := libraryRevisions(t)
	cases := recordedAuthz(3000)
	fast, err := Compare(ctx, base, head, Options{Recorded: cases})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := Compare(ctx, base, head, Options{Recorded: cases, Topdown: true})
	if err != nil {
		t.Fatal(err)
	}
	if fast.Evaluator != "ir-vm" || slow.Evaluator != "topdown" {
		t.Fatalf("evaluators %q and %q", fast.Evaluator, slow.Evaluator)
	}
	if fast.Counts.Loosened == 0 {
		t.Fatal("the change loosens nothing: the test does not test")
	}
	if !reflect.DeepEqual(fast.Counts, slow.Counts) || !reflect.DeepEqual(fast.ByComponent, slow.ByComponent) ||
		!reflect.DeepEqual(fast.Flips, slow.Flips) || fast.Risk != slow.Risk {
		t.Fatalf("vm and topdown reports differ:\n vm      %+v %+v risk %d\n topdown %+v %+v risk %d",
			fast.Counts, fast.Flips, fast.Risk, slow.Counts, slow.Flips, slow.Risk)
	}
}

// A VM that disagrees with topdown on a sampled case is dropped before the
// replay, with a warning saying so.
func TestSpotCheckDropsADisagreeingVM(t *testing.T) {
	ctx := context.Background()
	baseRev, headRev := libraryRevisions(t)
	base, err := load(ctx, baseRev)
	if err != nil {
		t.Fatal(err)
	}
	head, err := load(ctx, headRev)
	if err != nil {
		t.Fatal(err)
	}
	cases := recordedAuthz(600)
	head.planVM(ctx, cases)
	base.planVM(ctx, cases)
	if len(base.vms) == 0 {
		t.Fatal("the library was not planned for the VM")
	}
	if why := base.spotCheck(ctx, cases); why != "" {
		t.Fatalf("a faithful VM was dropped: %s", why)
	}
	// The head's VM answers for the base: the loosened decisions differ.
	base.vms = head.vms
	why := base.spotCheck(ctx, cases)
	if why == "" || base.vms != nil || !strings.Contains(why, "replayed on topdown") {
		t.Fatalf("a wrong VM was kept (%q)", why)
	}
}
