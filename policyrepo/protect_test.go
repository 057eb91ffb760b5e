package policyrepo

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
)

func TestProtectedBranchNeedsApprovals(t *testing.T) {
	g := gitfixture.New(t)
	c1 := g.Commit("ana", "one", map[string][]byte{"authz/a.rego": []byte("package authz\n")})
	if out, err := exec.Command("git", "-C", g.Dir, "branch", "release/1.0").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if out, err := exec.Command("git", "-C", g.Dir, "branch", "feature").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	bo, cy, eve := newApprover(t, "bo"), newApprover(t, "cy"), newApprover(t, "eve")
	keys := t.TempDir()
	bo.writeKey(t, keys, time.Time{})
	cy.writeKey(t, keys, time.Time{})
	ks, err := LoadApprovalKeys(keys)
	if err != nil {
		t.Fatal(err)
	}
	rules := []Protection{
		{Pattern: "main", Approvals: 2, Keys: ks, KeysDir: keys},
		{Pattern: "release/*", Approvals: 1, Keys: ks, KeysDir: keys},
	}
	now := time.Now()
	refused := func(rev string, want ...string) {
		t.Helper()
		err := r.CheckProtected(rev, rules, now)
		if !errors.Is(err, ErrProtected) {
			t.Fatalf("%s: want ErrProtected, got %v", rev, err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Fatalf("%s: %q does not say %q", rev, err, w)
			}
		}
	}
	allowed := func(rev string) {
		t.Helper()
		if err := r.CheckProtected(rev, rules, now); err != nil {
			t.Fatalf("%s: %v", rev, err)
		}
	}

	refused("main", `branch "main" matches "main"`, "needs 2 approvals", "0 valid")
	refused("HEAD", `branch "main"`)
	refused("refs/heads/main", `branch "main"`)
	refused("release/1.0", `matches "release/*"`, "needs 1 approvals")
	allowed("feature") // no rule
	allowed(c1)        // a commit id is not a branch
	allowed("no-such") // not a branch either; resolving it fails later, naming it

	ctx := context.Background()
	// An approval by a key outside keys_dir does not count, and says why.
	if _, _, err := r.Approve(ctx, "main", eve.name, eve.signer); err != nil {
		t.Fatal(err)
	}
	refused("main", "0 valid", "not counted: approval 1: signed by unknown key")
	if _, _, err := r.Approve(ctx, "main", bo.name, bo.signer); err != nil {
		t.Fatal(err)
	}
	refused("main", "1 valid from distinct approvers, 2 required")
	allowed("release/1.0") // the same commit: one approval is what release/* needs
	if _, _, err := r.Approve(ctx, "main", cy.name, cy.signer); err != nil {
		t.Fatal(err)
	}
	allowed("main")
	allowed("HEAD")

	// A new commit on main needs approvals of its own.
	g.Commit("ana", "two", map[string][]byte{"authz/a.rego": []byte("package authz\n\nx := 1\n")})
	refused("main", "0 valid")
}
