package bundles

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
	"github.com/belladonna-dev/belladonna/internal/stockopa"
	"github.com/belladonna-dev/belladonna/policies"
	"github.com/belladonna-dev/belladonna/policyrepo"
)

// BenchmarkBuild builds the shipped library and a generated repository of
// 1,000 modules from git, next to stock `opa build` (built from the pinned
// OPA module) on the same tree checked out, and reports sizes.
func BenchmarkBuild(b *testing.B) {
	b.Run("library", func(b *testing.B) {
		files := map[string][]byte{}
		fs.WalkDir(policies.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files[p], _ = fs.ReadFile(policies.FS, p)
			}
			return err
		})
		benchBuild(b, files)
	})
	b.Run("generated-1000", func(b *testing.B) {
		files := map[string][]byte{}
		for i := range 1000 {
			files[fmt.Sprintf("gen/m%04d/policy.rego", i)] = []byte(fmt.Sprintf(`package gen.m%04d

default allow := false

allow if {
	input.user.role in data.gen.roles
	input.action in {"read", "list"}
	count(input.path) < %d
}

deny contains msg if {
	not allow
	msg := sprintf("module %d denies %%v", [input.user.role])
}
`, i, 10+i%7, i))
		}
		files["gen/data.json"] = []byte(`{"roles": ["admin", "dev"]}`)
		benchBuild(b, files)
	})
}

func benchBuild(b *testing.B, files map[string][]byte) {
	g := gitfixture.New(b)
	g.Commit("ana", "tree", files)
	r, err := policyrepo.Open(g.Dir)
	if err != nil {
		b.Fatal(err)
	}
	var size int
	b.ResetTimer()
	for b.Loop() {
		out, err := BuildRevision(context.Background(), r, "HEAD", BuildOptions{})
		if err != nil {
			b.Fatal(err)
		}
		size = len(out.Bytes)
	}
	b.StopTimer()
	b.ReportMetric(float64(size), "bundle-bytes")
	opa := stockopa.Path(b)
	out := filepath.Join(b.TempDir(), "opa.tar.gz")
	start := time.Now()
	const runs = 3
	for range runs {
		cmd := exec.Command(opa, "build", "-o", out, ".")
		cmd.Dir = g.Dir
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("opa build: %v %s", err, msg)
		}
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds())/runs, "opa-build-ms")
	if st, err := os.Stat(out); err == nil {
		b.ReportMetric(float64(st.Size()), "opa-bundle-bytes")
	}
}
