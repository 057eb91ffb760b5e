package validators

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const repos = "../testdata/repos/"

// defaultConfig mirrors config.Default().Map() for the keys rules read; the
// validators package does not import config, so the shape is spelled out.
func defaultConfig() map[string]any {
	return map[string]any{
		"server": map[string]any{
			"addr":           "127.0.0.1:8181",
			"authentication": map[string]any{"mode": "none"},
			"rate_limit":     map[string]any{"enabled": false},
		},
		"audit": map[string]any{"enabled": true, "tamper_evident": true},
	}
}

func validate(t *testing.T, mutate func(*Options), paths ...string) *Result {
	t.Helper()
	opts := NewOptions()
	opts.Paths = paths
	opts.Config = defaultConfig()
	if mutate != nil {
		mutate(&opts)
	}
	res, err := Validate(context.Background(), opts)
	if err != nil {
		t.Fatalf("Validate(%v): %v", paths, err)
	}
	return res
}

// where renders a finding as "rule file:line" for comparisons.
func where(f Finding) string {
	line := "-"
	if f.Line > 0 {
		line = strconv.Itoa(f.Line)
	}
	file := "-"
	if f.File != "" {
		file = filepath.Base(f.File)
	}
	return f.Rule + " " + file + ":" + line
}

func wheres(fs []Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, where(f))
	}
	return out
}

func TestGoodRepoIsClean(t *testing.T) {
	res := validate(t, nil, repos+"good")
	if !res.Compiled || res.Failed() {
		t.Fatalf("compiled=%v failed=%v, findings %v", res.Compiled, res.Failed(), wheres(res.Findings))
	}
	// On loopback with defaults, the only findings are the two info notes.
	want := []string{"config/api-authentication -:-", "config/rate-limiting -:-"}
	if got := wheres(res.Findings); !slices.Equal(got, want) {
		t.Errorf("findings = %v, want %v", got, want)
	}
	if res.Tests == nil || res.Tests.Passed != 5 || !res.Tests.OK() {
		t.Errorf("tests = %+v, want 5 passed", res.Tests)
	}
}

func TestBrokenRepoNamesEveryError(t *testing.T) {
	res := validate(t, func(o *Options) { o.Config = nil }, repos+"broken")
	want := []string{
		"rego-compile-error compile.rego:12",
		"rego-unsafe-var-error compile_test.rego:6",
		"rego-parse-error parse.rego:13",
	}
	if got := wheres(res.Findings); !slices.Equal(got, want) {
		t.Errorf("findings = %v, want %v", got, want)
	}
	if !res.CheckFailed() || !res.Failed() {
		t.Errorf("CheckFailed=%v Failed=%v, want both", res.CheckFailed(), res.Failed())
	}
	if res.Tests == nil || res.Tests.NotRun == "" {
		t.Errorf("tests ran on a tree that does not compile: %+v", res.Tests)
	}
	skipped := map[string]string{}
	for _, s := range res.Skipped {
		skipped[s.ID] = s.Reason
	}
	if skipped["policy/syscall-exec-tmp"] == "" {
		t.Errorf("syscall probe rule ran on a broken tree; skipped = %v", res.Skipped)
	}
}

// TestFindingsRepo is the table of what each rule reports on the fixture.
func TestFindingsRepo(t *testing.T) {
	res := validate(t, nil, repos+"findings")
	if !res.Compiled {
		t.Fatalf("fixture must compile: %v", wheres(res.Findings))
	}
	got := wheres(res.Findings)
	for _, want := range []string{
		"policy/default-allow authz.rego:11",
		"policy/metadata-required authz.rego:1",
		"policy/syscall-exec-tmp -:-",
		"testing/missing-test-file helpers.rego:7",
		"imports/prefer-package-imports authz.rego:8",
		"style/todo-comment authz.rego:10",
		"style/prefer-snake-case authz.rego:13",
		"testing/print-or-trace-call authz.rego:17",
		"bugs/not-equals-in-loop authz.rego:22",
		"bugs/constant-condition authz.rego:26",
		"bugs/rule-shadows-builtin authz.rego:32",
		"testing/file-missing-test-suffix helpers.rego:7",
		"testing/test-outside-test-package helpers.rego:11",
		"config/api-authentication -:-",
	} {
		if !slices.Contains(got, want) {
			t.Errorf("missing finding %q in %v", want, got)
		}
	}
	// The second TODO carries a belladonna:ignore directive on the line before.
	if slices.Contains(got, "style/todo-comment authz.rego:31") {
		t.Error("ignore directive did not silence style/todo-comment on line 31")
	}
	if !res.Failed() {
		t.Error("errors present but Failed() is false")
	}
	// default allow := true is exactly why the guest test fails.
	if res.Tests.Failed != 1 || res.Tests.Passed != 2 {
		t.Errorf("tests = %+v, want 2 passed and 1 failed", res.Tests)
	}
}

func TestMalformedDataFiles(t *testing.T) {
	res := validate(t, nil, repos+"baddata")
	var got []string
	for _, f := range res.Findings {
		if f.Rule == RuleDataParseError {
			got = append(got, filepath.Base(f.File))
			if f.Line == 0 {
				t.Errorf("%s: no line in %v", f.File, f)
			}
		}
	}
	if !slices.Equal(got, []string{"data.json", "data.yaml"}) {
		t.Errorf("data-parse-error files = %v", got)
	}
	if !res.CheckFailed() {
		t.Error("malformed data must fail the check")
	}
}

func TestV0Modules(t *testing.T) {
	res := validate(t, nil, repos+"v0")
	if res.Compiled {
		t.Fatal("v0 module compiled as v1")
	}
	if !slices.ContainsFunc(res.Findings, func(f Finding) bool {
		return f.Rule == "rego-parse-error" && strings.Contains(f.Message, "`if` keyword is required")
	}) {
		t.Errorf("no v1 parse error for v0 syntax: %v", res.Findings)
	}
	res = validate(t, func(o *Options) { o.V0Compatible = true; o.Config = nil }, repos+"v0")
	if !res.Compiled || res.Tests.Passed != 1 {
		t.Errorf("with V0Compatible: compiled=%v tests=%+v findings=%v", res.Compiled, res.Tests, wheres(res.Findings))
	}
}

func TestDisable(t *testing.T) {
	res := validate(t, func(o *Options) {
		o.Disable = []string{"style", "default-allow", "bugs/constant-condition"}
	}, repos+"findings")
	for _, f := range res.Findings {
		if strings.HasPrefix(f.Rule, "style/") || f.Rule == "policy/default-allow" || f.Rule == "bugs/constant-condition" {
			t.Errorf("disabled rule reported: %v", f)
		}
	}
	opts := NewOptions()
	opts.Paths = []string{repos + "good"}
	opts.Disable = []string{"style/no-such-rule"}
	_, err := Validate(context.Background(), opts)
	if e, ok := errors.AsType[*UnknownRuleError](err); !ok || e.Names[0] != "style/no-such-rule" {
		t.Errorf("unknown rule: err = %v, want *UnknownRuleError", err)
	}
}

func TestFailOn(t *testing.T) {
	for _, tc := range []struct {
		failOn Severity
		want   bool
	}{
		{SeverityError, false},
		{SeverityWarning, false},
		{SeverityInfo, true},
	} {
		res := validate(t, func(o *Options) { o.FailOn = tc.failOn }, repos+"good")
		if res.Failed() != tc.want {
			t.Errorf("fail-on %s: Failed() = %v, want %v", tc.failOn, res.Failed(), tc.want)
		}
	}
}

func TestRunFilterAndCoverage(t *testing.T) {
	res := validate(t, func(o *Options) {
		o.Run = "authz"
		o.Coverage = true
	}, repos+"good")
	if res.Tests.Passed != 3 {
		t.Errorf("--run authz ran %d tests, want 3", res.Tests.Passed)
	}
	if res.Coverage == nil || res.Coverage.Percent <= 0 || len(res.Coverage.Files) == 0 {
		t.Fatalf("coverage = %+v", res.Coverage)
	}
	res = validate(t, func(o *Options) { o.Threshold = 100 }, repos+"good")
	if res.Coverage == nil {
		t.Fatal("threshold did not imply coverage")
	}
	if res.Coverage.Percent < 100 && !res.Failed() {
		t.Errorf("coverage %.2f below threshold 100 but not failed", res.Coverage.Percent)
	}
}

func TestFailingTestIsReportedWithLocation(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "p/p.rego", "package p\n\nx := 1\n")
	write(t, dir, "p/p_test.rego", "package p_test\n\nimport data.p\n\ntest_x if {\n\tprint(\"x is\", p.x)\n\tp.x == 2\n}\n")
	res := validate(t, func(o *Options) { o.Config = nil; o.Verbose = true }, dir)
	if res.Tests.Failed != 1 || !res.Failed() {
		t.Fatalf("tests = %+v", res.Tests)
	}
	tr := res.Tests.Results[0]
	if tr.Line != 5 || !strings.HasSuffix(tr.File, "p_test.rego") || !strings.Contains(tr.Output, "x is 1") || tr.Trace == "" {
		t.Errorf("failed test = %+v", tr)
	}
}

func TestUnreadablePathIsLoadError(t *testing.T) {
	opts := NewOptions()
	opts.Paths = []string{"does/not/exist"}
	_, err := Validate(context.Background(), opts)
	if _, ok := errors.AsType[*LoadError](err); !ok {
		t.Errorf("err = %v, want *LoadError", err)
	}
}

func TestInvalidOptions(t *testing.T) {
	for _, mutate := range []func(*Options){
		func(o *Options) { o.Run = "(" },
		func(o *Options) { o.Threshold = 101 },
	} {
		opts := NewOptions()
		opts.Paths = []string{repos + "good"}
		mutate(&opts)
		if _, err := Validate(context.Background(), opts); err == nil {
			t.Errorf("options %+v accepted", opts)
		}
	}
}

func TestProgressOnlyForLargeRepos(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.step("parsing", 1, 10)
	if buf.Len() != 0 {
		t.Errorf("progress for 10 items: %q", buf.String())
	}
	p.step("parsing", 1, 51)
	p.phase("testing")
	p.clear()
	if got := buf.String(); !strings.Contains(got, "\rparsing 1/51") || !strings.Contains(got, "\rtesting") || !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress = %q", got)
	}
	var nilProgress *progress
	nilProgress.step("x", 1, 100) // must not panic
	if IsTerminal(&buf) {
		t.Error("a buffer is not a terminal")
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opts := NewOptions()
	opts.Paths = []string{repos + "good"}
	if _, err := Validate(ctx, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestTestEntryPoint(t *testing.T) {
	opts := NewOptions()
	opts.Paths = []string{repos + "good"}
	opts.Timeout = 10 * time.Second
	res, err := Test(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 || res.Tests.Passed != 5 {
		t.Errorf("Test: findings %v, tests %+v", wheres(res.Findings), res.Tests)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
