package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/policies"
)

// libraryRepo commits the shipped library under policies/ in a new repository.
func libraryRepo(t *testing.T) (*gitfixture.Repo, string) {
	t.Helper()
	files := map[string][]byte{}
	err := fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(policies.FS, p)
		files["policies/"+p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	g := gitfixture.New(t)
	return g, g.Commit("ana", "the library", files)
}

// bundle build from a revision: reproducible, named by its commit, and
// stock OPA loads it and decides as belladonna does, optimized or not.
func TestBundleBuildCLI(t *testing.T) {
	g, commit := libraryRepo(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "bundle.tar.gz")
	code, stdout, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "-o", out)
	if code != 0 || !strings.Contains(stdout, "commit "+commit[:12]+" (sequence 1)") {
		t.Fatalf("bundle build: exit %d %s %s", code, stdout, errb)
	}
	first, _ := os.ReadFile(out)
	code, stdout, _ = runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "-o", out, "--json")
	var rep map[string]any
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep["commit"] != commit {
		t.Fatalf("--json: exit %d %s", code, stdout)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(first, again) {
		t.Fatal("two builds of one commit differ")
	}
	optimized := filepath.Join(dir, "authz.tar.gz")
	if code, _, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "-o", optimized,
		"-O", "1", "-e", "security/authz/allow", "-e", "security/authz/decision"); code != 0 {
		t.Fatalf("-O 1: %s", errb)
	}

	opa := stockOPA(t)
	compared := 0
	for _, file := range []string{"authz-allow.json", "authz-deny.json"} {
		for i, input := range loadInputs(t, file) {
			if i > 3 {
				break
			}
			inFile := filepath.Join(dir, fmt.Sprintf("%s.%d.json", file, i))
			raw, _ := json.Marshal(input)
			os.WriteFile(inFile, raw, 0o600)
			for _, b := range []string{out, optimized} {
				for _, q := range []string{"data.security.authz.allow", "data.security.authz.decision"} {
					sameEvalOutput(t, opa, "eval", "-b", b, "-i", inFile, q)
					compared++
				}
			}
		}
	}
	t.Logf("%d evaluations of the built bundles identical to stock opa eval", compared)

	if code, _, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "--rev", "nope", "-o", out); code != 2 || !strings.Contains(errb, `unknown revision "nope"`) {
		t.Fatalf("unknown revision: exit %d %s", code, errb)
	}
	if code, _, errb := runCLI(t, "bundle", "build", "--repo", g.Dir, "-O", "2", "-o", out); code != 2 || !strings.Contains(errb, "needs at least one entrypoint") {
		t.Fatalf("-O 2 without entrypoint: exit %d %s", code, errb)
	}
}
