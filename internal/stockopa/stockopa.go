// Package stockopa builds the stock opa binary from the OPA module version
// pinned in go.mod, for tests and benchmarks that compare against exactly
// the OPA Belladonna embeds.
package stockopa

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Path builds opa once per test binary and returns its path; a build that
// fails fails t.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		dir, e := os.MkdirTemp("", "belladonna-stock-opa")
		if e != nil {
			err = e
			return
		}
		path = filepath.Join(dir, "opa")
		if out, e := exec.Command("go", "build", "-o", path, "github.com/open-policy-agent/opa").CombinedOutput(); e != nil {
			err = fmt.Errorf("building stock opa: %v\n%s", e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}
