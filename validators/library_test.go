package validators

import (
	"context"
	"testing"

	"github.com/belladonna-dev/belladonna/config"
)

// TestShippedLibraryPassesItsOwnRules: the embedded library compiles, its
// tests pass with full coverage, and no validator rule reports a warning or
// an error under the default configuration (`make lint` runs the same with
// --fail-on warning).
func TestShippedLibraryPassesItsOwnRules(t *testing.T) {
	opts := NewOptions()
	opts.Paths = []string{"../policies"}
	opts.Config = config.Default().Map()
	opts.FailOn = SeverityWarning
	opts.Coverage = true
	res, err := Validate(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		if f.Severity >= SeverityWarning {
			t.Errorf("%s:%d: %s: %s", f.File, f.Line, f.Rule, f.Message)
		}
	}
	if !res.Compiled || res.Tests == nil || !res.Tests.OK() || res.Tests.Passed < 150 {
		t.Fatalf("compiled=%v tests=%+v", res.Compiled, res.Tests)
	}
	if res.Coverage == nil || res.Coverage.Percent < 95 {
		t.Errorf("library coverage %+v, want at least 95%%", res.Coverage)
	}
	if res.Failed() {
		t.Error("validate --fail-on warning would fail on the shipped library")
	}
}
