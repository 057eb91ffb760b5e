package policyrepo

import (
	"context"
	"errors"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
)

func TestSyncEachStrategy(t *testing.T) {
	ctx := context.Background()
	up := gitfixture.New(t) // the peer's work repo
	up.Commit("ana", "base", map[string][]byte{"security/authz/authz.rego": []byte("package security.authz\n")})
	bare := gitfixture.Clone(t, up.Dir, true)
	up.AddRemote("peer", bare.Dir)
	local := gitfixture.Clone(t, bare.Dir, false)
	r, err := Open(local.Dir)
	if err != nil {
		t.Fatal(err)
	}
	sync := func(strategy string) (*SyncReport, error) { return r.Sync(ctx, "origin", "", strategy) }
	head := func() string { c, _ := r.Resolve("HEAD"); return c.Hash.String() }

	if rep, err := sync(FFOnly); err != nil || rep.State != "up-to-date" || rep.Action != "none" {
		t.Fatalf("up to date: %+v %v", rep, err)
	}
	// Behind: the peer moved on; every strategy but manual-review fast-forwards.
	c2 := up.Commit("ana", "data", map[string][]byte{"config/d.json": []byte(`{"a": 1}`)})
	up.Push("peer")
	if rep, err := sync(ManualReview); err != nil || rep.State != "behind" || rep.Action != "reported" || head() == c2 {
		t.Fatalf("manual review when behind: %+v %v", rep, err)
	}
	if rep, err := sync(FFOnly); err != nil || rep.Action != "fast-forward" || head() != c2 {
		t.Fatalf("fast-forward: %+v %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(local.Dir, "config", "d.json")); err != nil {
		t.Fatalf("work tree not fast-forwarded: %v", err)
	}
	// Ahead: nothing to do.
	local.Reopen()
	local.SetClock(time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	l1 := local.Commit("bo", "local authz", map[string][]byte{"security/authz/authz.rego": []byte("package security.authz\n\nx := 1\n")})
	if rep, err := sync(FFOnly); err != nil || rep.State != "ahead" || head() != l1 {
		t.Fatalf("ahead: %+v %v", rep, err)
	}
	// Diverged: both changed authz.rego.
	up.SetClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	c3 := up.Commit("ana", "peer authz", map[string][]byte{"security/authz/authz.rego": []byte("package security.authz\n\ny := 2\n")})
	up.Push("peer")
	rep, err := sync(FFOnly)
	if !errors.Is(err, ErrDiverged) || rep.Action != "refused" || head() != l1 {
		t.Fatalf("ff-only on divergence: %+v %v", rep, err)
	}
	rep, err = sync(ManualReview)
	if err != nil || rep.State != "diverged" || head() != l1 || len(rep.LocalOnly) != 1 || len(rep.RemoteOnly) != 1 ||
		len(rep.BothChanged) != 1 || rep.BothChanged[0] != "security/authz/authz.rego" {
		t.Fatalf("manual review: %+v %v", rep, err)
	}
	// A dirty work tree is refused.
	os.WriteFile(filepath.Join(local.Dir, "scratch.rego"), []byte("package s\n"), 0o644)
	if _, err := sync(UseRemote); !errors.Is(err, ErrDirty) || head() != l1 {
		t.Fatalf("dirty: %v", err)
	}
	os.Remove(filepath.Join(local.Dir, "scratch.rego"))
	// use-latest: the peer's tip is newer, so its tree wins; both histories stay.
	rep, err = sync(UseLatest)
	if err != nil || rep.Action != "merge-remote" {
		t.Fatalf("use-latest: %+v %v", rep, err)
	}
	m, _ := r.Resolve("HEAD")
	pc3, _ := r.Resolve(c3)
	if m.TreeHash != pc3.TreeHash || len(m.ParentHashes) != 2 || m.ParentHashes[0].String() != l1 || m.ParentHashes[1].String() != c3 {
		t.Fatalf("merge commit %v parents %v", m.Hash, m.ParentHashes)
	}
	// A new divergence, kept local.
	local.Reopen()
	l2 := local.Commit("bo", "local again", map[string][]byte{"config/d.json": []byte(`{"a": 2}`)})
	up.Commit("ana", "peer again", map[string][]byte{"config/e.json": []byte(`{}`)})
	up.Push("peer")
	pl2, _ := r.Resolve(l2)
	if rep, err := sync(UseLocal); err != nil || rep.Action != "merge-local" {
		t.Fatalf("use-local: %+v %v", rep, err)
	}
	if m, _ := r.Resolve("HEAD"); m.TreeHash != pl2.TreeHash {
		t.Fatal("use-local did not keep the local tree")
	}
	if _, err := r.Sync(ctx, "nowhere", "", FFOnly); err == nil {
		t.Fatal("unknown remote synced")
	}
	if _, err := r.Sync(ctx, "origin", "", "yolo"); err == nil {
		t.Fatal("unknown strategy accepted")
	}
}

// Sync over HTTP: the peer is served by git's own smart-HTTP server
// (git http-backend, through net/http/cgi), as a git host would.
func TestSyncOverHTTP(t *testing.T) {
	backend, err := exec.LookPath("git")
	if err != nil {
		t.Fatalf("git is needed to serve HTTP remotes: %v", err)
	}
	up := gitfixture.New(t)
	up.Commit("ana", "base", map[string][]byte{"a/a.rego": []byte("package a\n")})
	bare := gitfixture.Clone(t, up.Dir, true)
	up.AddRemote("peer", bare.Dir)
	h := &cgi.Handler{Path: backend, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(bare.Dir), "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	local := gitfixture.Clone(t, srv.URL+"/"+filepath.Base(bare.Dir), false)
	c2 := up.Commit("ana", "more", map[string][]byte{"a/b.rego": []byte("package a\n\ny := 1\n")})
	up.Push("peer")
	r, _ := Open(local.Dir)
	rep, err := r.Sync(context.Background(), "origin", "", FFOnly)
	if err != nil || rep.Action != "fast-forward" || rep.Result != c2 {
		t.Fatalf("sync over HTTP: %+v %v", rep, err)
	}
}

// Approvals made on a peer arrive with sync (a union of signed statements)
// and verify here; manual-review only counts them.
func TestSyncMergesApprovals(t *testing.T) {
	ctx := context.Background()
	up := gitfixture.New(t)
	c1 := up.Commit("ana", "base", map[string][]byte{"a/a.rego": []byte("package a\n")})
	bare := gitfixture.Clone(t, up.Dir, true)
	up.AddRemote("peer", bare.Dir)
	local := gitfixture.Clone(t, bare.Dir, false)
	bo, cy := newApprover(t, "bo"), newApprover(t, "cy")
	keys := t.TempDir()
	bo.writeKey(t, keys, time.Time{})
	cy.writeKey(t, keys, time.Time{})
	ks, _ := LoadApprovalKeys(keys)
	pr, _ := Open(up.Dir)
	if _, _, err := pr.Approve(ctx, c1, "bo", bo.signer); err != nil {
		t.Fatal(err)
	}
	up.Reopen()
	up.PushNotes("peer")
	r, _ := Open(local.Dir)
	if _, _, err := r.Approve(ctx, c1, "cy", cy.signer); err != nil {
		t.Fatal(err)
	}
	if rep, err := r.Sync(ctx, "origin", "", ManualReview); err != nil || rep.ApprovalsMerged != 1 {
		t.Fatalf("manual review: %+v %v", rep, err)
	}
	if rep, _ := r.VerifyApprovals(c1, ks, 1, time.Now()); len(rep.Approvers) != 1 {
		t.Fatalf("manual review merged approvals: %+v", rep)
	}
	if rep, err := r.Sync(ctx, "origin", "", FFOnly); err != nil || rep.ApprovalsMerged != 1 {
		t.Fatalf("sync: %+v %v", rep, err)
	}
	rep, err := r.VerifyApprovals(c1, ks, 2, time.Now())
	if err != nil || len(rep.Approvers) != 2 {
		t.Fatalf("after sync, bo (peer) and cy (local): %+v %v", rep, err)
	}
	if rep, err := r.Sync(ctx, "origin", "", FFOnly); err != nil || rep.ApprovalsMerged != 0 {
		t.Fatalf("second sync merges nothing: %+v %v", rep, err)
	}
}
