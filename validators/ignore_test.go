package validators

import (
	"slices"
	"strings"
	"testing"
)

func TestParseIgnoreDirective(t *testing.T) {
	for _, tc := range []struct {
		text  string
		names []string
		ok    bool
	}{
		{" belladonna:ignore style/line-length", []string{"style/line-length"}, true},
		{"belladonna:ignore a, b c", []string{"a", "b", "c"}, true},
		{" belladonna:ignore: todo-comment -- tracked in #12", []string{"todo-comment"}, true},
		{" belladonna:ignore", nil, true},
		{" belladonna:ignored x", nil, false},
		{" TODO: belladonna:ignore x", nil, false},
		{" plain comment", nil, false},
	} {
		names, ok := parseIgnoreDirective(tc.text)
		if ok != tc.ok || !slices.Equal(names, tc.names) {
			t.Errorf("parseIgnoreDirective(%q) = %v, %v; want %v, %v", tc.text, names, ok, tc.names, tc.ok)
		}
	}
}

func TestIgnoresMatch(t *testing.T) {
	ig := ignores{"a.rego": {4: {"line-length"}, 5: {"line-length"}, 9: {"*"}, 12: {"style"}}}
	for _, tc := range []struct {
		f    Finding
		want bool
	}{
		{Finding{Rule: "style/line-length", File: "a.rego", Line: 5}, true},
		{Finding{Rule: "style/todo-comment", File: "a.rego", Line: 5}, false},
		{Finding{Rule: "bugs/constant-condition", File: "a.rego", Line: 9}, true},
		{Finding{Rule: "style/todo-comment", File: "a.rego", Line: 12}, true},
		{Finding{Rule: "style/line-length", File: "b.rego", Line: 5}, false},
		{Finding{Rule: "style/line-length", File: "a.rego"}, false},
	} {
		if got := ig.ignored(tc.f); got != tc.want {
			t.Errorf("ignored(%v) = %v, want %v", tc.f, got, tc.want)
		}
	}
}

func FuzzParseIgnoreDirective(f *testing.F) {
	for _, s := range []string{" belladonna:ignore a,b", "belladonna:ignore", "belladonna:ignore: x -- y", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		names, ok := parseIgnoreDirective(text)
		if !ok && names != nil {
			t.Fatalf("names without a directive: %q", names)
		}
		for _, n := range names {
			if n == "" || strings.ContainsAny(n, ", \t") {
				t.Fatalf("bad name %q from %q", n, text)
			}
		}
	})
}
