package validators

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBaselineRoundTrip(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "repo")
	policy := "package p\n\n# TODO: one\nx := 1\n\n# TODO: two\ny := 2\n"
	write(t, src, "p/p.rego", policy)
	write(t, src, "p/p_test.rego", "package p_test\n\nimport data.p\n\ntest_x if p.x == 1\n")
	base := filepath.Join(dir, "baseline.json")
	run := func(mutate func(*Options)) *Result {
		return validate(t, func(o *Options) {
			o.Config = nil
			o.Disable = []string{"policy"}
			mutate(o)
		}, src)
	}

	first := run(func(o *Options) { o.WriteBaseline = base })
	if len(first.Findings) != 2 {
		t.Fatalf("want two todo findings, got %v", wheres(first.Findings))
	}
	b, err := ReadBaseline(base)
	if err != nil || len(b.Findings) != 2 {
		t.Fatalf("baseline %+v, %v", b, err)
	}

	// Lines added above the findings move them but keep their fingerprints.
	write(t, src, "p/p.rego", "package p\n\nimport rego.v1\n\n"+strings.TrimPrefix(policy, "package p\n\n"))
	moved := run(func(o *Options) { o.Baseline = base })
	if len(moved.Findings) != 0 || moved.Baseline.Suppressed != 2 || len(moved.Baseline.Stale) != 0 {
		t.Fatalf("after moving: findings %v, baseline %+v", wheres(moved.Findings), moved.Baseline)
	}

	// A new finding is reported; a fixed one leaves a stale entry.
	write(t, src, "p/p.rego", "package p\n\n# TODO: one\nx := 1\n\n# TODO: three\ny := 2\n")
	changed := run(func(o *Options) { o.Baseline = base })
	if got := wheres(changed.Findings); len(got) != 1 || !strings.Contains(changed.Findings[0].Message, "three") {
		t.Errorf("new findings = %v", got)
	}
	if changed.Baseline.Suppressed != 1 || len(changed.Baseline.Stale) != 1 || !strings.Contains(changed.Baseline.Stale[0].Message, "two") {
		t.Errorf("baseline status = %+v", changed.Baseline)
	}
}

func TestIdenticalLinesGetDistinctFingerprints(t *testing.T) {
	fs := []Finding{
		{Rule: "style/todo-comment", File: "a.rego", Line: 3},
		{Rule: "style/todo-comment", File: "a.rego", Line: 9},
	}
	fingerprint(fs, func(string) []string {
		return []string{"", "", "# TODO", "", "", "", "", "", "# TODO"}
	})
	if fs[0].Fingerprint == fs[1].Fingerprint || len(fs[0].Fingerprint) != 32 {
		t.Errorf("fingerprints %q %q", fs[0].Fingerprint, fs[1].Fingerprint)
	}
}

func TestMalformedBaseline(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"syntax":   `{"version": 1, "findings": [`,
		"version":  `{"version": 2, "findings": []}`,
		"unknown":  `{"version": 1, "findings": [], "extra": true}`,
		"short":    `{"version": 1, "findings": [{"fingerprint": "abc", "rule": "x"}]}`,
		"trailing": `{"version": 1, "findings": []} {}`,
	} {
		p := filepath.Join(dir, name+".json")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadBaseline(p)
		be, ok := errors.AsType[*BaselineError](err)
		if !ok || be.File != p {
			t.Errorf("%s: err = %v, want *BaselineError naming the file", name, err)
		}
	}
	opts := NewOptions()
	opts.Paths = []string{repos + "good"}
	opts.Baseline = filepath.Join(dir, "syntax.json")
	if _, err := Validate(t.Context(), opts); err == nil {
		t.Error("Validate accepted a malformed baseline")
	}
}

func FuzzDecodeBaseline(f *testing.F) {
	var buf bytes.Buffer
	_ = NewBaseline([]Finding{{Rule: "r", File: "f", Fingerprint: strings.Repeat("ab", 16)}}).Encode(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte(`{"version":1,"findings":[]}`))
	f.Add([]byte(`{"version":1,"findings":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBaseline(bytes.NewReader(data))
		if err != nil {
			return
		}
		// Whatever decodes must encode and decode to the same entries.
		var out bytes.Buffer
		if err := b.Encode(&out); err != nil {
			t.Fatal(err)
		}
		again, err := DecodeBaseline(&out)
		if err != nil || len(again.Findings) != len(b.Findings) {
			t.Fatalf("round trip: %v", err)
		}
	})
}
