package policyrepo

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
)

const authzV1 = `package security.authz

default allow := false

allow if input.user.role == "admin"
`

func TestHistoryListsComponentsPerCommit(t *testing.T) {
	g := gitfixture.New(t)
	c1 := g.Commit("ana", "initial policies", map[string][]byte{
		"security/authz/authz.rego":   []byte(authzV1),
		"security/authn/authn.rego":   []byte("package security.authn\n\ndefault ok := false\n"),
		"config/roles.json":           []byte(`{"roles": {}}`),
		"README.md":                   []byte("docs"),
		"rules/network.rego":          []byte("package syscall.network\n\ndeny contains 1 if false\n"),
		"validators/no_wildcard.rego": []byte("package belladonna.validators.no_wildcard\n"),
	})
	c2 := g.Commit("bo", "tighten admin\n\nSecurity-Fix: CVE-2026-1\nSigned-off-by: bo", map[string][]byte{
		"security/authz/authz.rego": []byte(authzV1 + "\nallow if input.user.role == \"owner\"\n"),
	})
	c3 := g.Commit("ana", "data only", map[string][]byte{"config/roles.json": []byte(`{"roles": {"a": 1}}`)})
	c4 := g.Commit("cy", "drop authn, docs", map[string][]byte{"security/authn/authn.rego": nil, "README.md": []byte("more docs")})

	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	hist, err := r.History(context.Background(), "HEAD", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		commit     string
		author     string
		components []string
	}{
		{c4, "cy", []string{ComponentAuthn}},
		{c3, "ana", []string{ComponentData}},
		{c2, "bo", []string{ComponentAuthz}},
		{c1, "ana", []string{ComponentAuthn, ComponentAuthz, ComponentSyscall, ComponentValidators, ComponentData}},
	}
	if len(hist) != len(want) {
		t.Fatalf("%d versions, want %d", len(hist), len(want))
	}
	for i, w := range want {
		v := hist[i]
		if v.Commit != w.commit || v.Author != w.author || !slices.Equal(v.Components, w.components) {
			t.Errorf("version %d: %s by %s changed %v, want %s by %s changing %v", i, v.Short(), v.Author, v.Components, w.commit[:12], w.author, w.components)
		}
	}
	if got := hist[2].Trailers["Security-Fix"]; !slices.Equal(got, []string{"CVE-2026-1"}) {
		t.Errorf("Security-Fix trailer %v", got)
	}
	if hist[0].Files[0] != (FileChange{Path: "README.md", Action: "modified"}) ||
		hist[0].Files[1] != (FileChange{Path: "security/authn/authn.rego", Action: "deleted", Component: ComponentAuthn}) {
		t.Errorf("files of %s: %+v", hist[0].Short(), hist[0].Files)
	}
	if lim, _ := r.History(context.Background(), "HEAD", 2); len(lim) != 2 || lim[1].Commit != c3 {
		t.Errorf("limit 2: %+v", lim)
	}
	if v, err := r.Version(context.Background(), c2[:8]); err != nil || v.Commit != c2 {
		t.Errorf("short id: %v %v", v.Commit, err)
	}
	if v, err := r.Version(context.Background(), "HEAD~3"); err != nil || v.Commit != c1 || len(v.Parents) != 0 {
		t.Errorf("HEAD~3: %v %v", v.Commit, err)
	}
}

func TestUnknownRevisionAndNotARepository(t *testing.T) {
	g := gitfixture.New(t)
	g.Commit("ana", "one", map[string][]byte{"a.rego": []byte("package a\n")})
	r, err := Open(g.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, rev := range []string{"nope", "HEAD~5", "0123456789abcdef0123456789abcdef01234567", "main:a.rego"} {
		if _, err := r.Resolve(rev); !errors.Is(err, ErrUnknownRevision) {
			t.Errorf("%q: %v, want ErrUnknownRevision", rev, err)
		}
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepository) {
		t.Errorf("empty dir: %v", err)
	}
}

// The tree of an old revision reads as a file system, and reading it never
// touches the work tree.
func TestTreeFSReadsARevisionWithoutCheckout(t *testing.T) {
	g := gitfixture.New(t)
	c1 := g.Commit("ana", "v1", map[string][]byte{
		"security/authz/authz.rego": []byte(authzV1),
		"config/roles.json":         []byte(`{"roles": {}}`),
	})
	g.Commit("ana", "v2", map[string][]byte{"security/authz/authz.rego": []byte("package security.authz\n")})
	os.WriteFile(filepath.Join(g.Dir, "uncommitted.rego"), []byte("package x\n"), 0o644)
	r, _ := Open(g.Dir)
	fsys, c, err := r.FS(c1)
	if err != nil || c.Hash.String() != c1 {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "security/authz/authz.rego", "config/roles.json"); err != nil {
		t.Fatal(err)
	}
	b, err := fs.ReadFile(fsys, "security/authz/authz.rego")
	if err != nil || string(b) != authzV1 {
		t.Fatalf("v1 content %q %v", b, err)
	}
	if _, err := fs.Stat(fsys, "uncommitted.rego"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("uncommitted file visible: %v", err)
	}
	// The work tree still holds v2 and the uncommitted file.
	if b, _ := os.ReadFile(filepath.Join(g.Dir, "security/authz/authz.rego")); string(b) != "package security.authz\n" {
		t.Fatalf("work tree changed: %q", b)
	}
}

func TestComponentOf(t *testing.T) {
	for _, tc := range []struct {
		path, content, want string
	}{
		{"policies/security/authz/rbac.rego", "", ComponentAuthz},
		{"policies/config/authz.json", "", ComponentData},
		{"lib/x.rego", "package syscall.exec\n", ComponentSyscall},
		{"lib/x.rego", "# c\npackage mycorp.ratelimit # why\n", ComponentRateLimit},
		{"lib/x.rego", "package mycorp.misc\n", ComponentOther},
		{"compliance/soc2/cc6.rego", "", ComponentCompliance},
		{"docs/README.md", "", ""},
		{".regal/config.yaml", "", ""},
	} {
		if got := ComponentOf(tc.path, []byte(tc.content)); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
	for p, want := range map[string]string{"security/authz/allow": ComponentAuthz, "syscall/decision": ComponentSyscall, "mycorp/misc": ComponentOther} {
		if got := ComponentOfDataPath(p); got != want {
			t.Errorf("data path %s: %q, want %q", p, got, want)
		}
	}
}

// A damaged object store gives an error naming the file and the object,
// not a silently different policy.
func TestCorruptedObjectIsNamed(t *testing.T) {
	g := gitfixture.New(t)
	g.Commit("ana", "one", map[string][]byte{"security/authz/authz.rego": []byte(authzV1)})
	r, _ := Open(g.Dir)
	c, _ := r.Resolve("HEAD")
	tree, _ := c.Tree()
	f, err := tree.File("security/authz/authz.rego")
	if err != nil {
		t.Fatal(err)
	}
	h := f.Hash.String()
	obj := filepath.Join(g.Dir, ".git", "objects", h[:2], h[2:])
	os.Chmod(obj, 0o644)
	if err := os.WriteFile(obj, []byte("not a zlib stream"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ = Open(g.Dir) // no cached objects
	fsys, _, err := r.FS("HEAD")
	if err != nil {
		t.Fatal(err)
	}
	_, err = fs.ReadFile(fsys, "security/authz/authz.rego")
	if err == nil || !strings.Contains(err.Error(), "security/authz/authz.rego") || !strings.Contains(err.Error(), h) {
		t.Fatalf("want an error naming the file and blob %s, got %v", h, err)
	}
}
