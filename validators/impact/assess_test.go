package impact

import (
	"strings"
	"testing"
)

func TestAssessLevels(t *testing.T) {
	rule := func(comp, action string) Change {
		return Change{Kind: "rule", Action: action, Component: comp, Path: comp + "/r"}
	}
	for _, tc := range []struct {
		name  string
		r     Report
		fixes []string
		want  string
		why   string
	}{
		{"data only", Report{Data: []Change{{Kind: "data", Action: "changed", Component: "data"}}}, nil, Simple, ""},
		{"two rules of one component", Report{Rules: []Change{rule("authz", "changed"), rule("authz", "added")}}, nil, Simple, ""},
		{"two components", Report{Rules: []Change{rule("authz", "changed"), rule("ratelimit", "changed")}}, nil, Moderate, "2 components"},
		{"many rules", Report{Rules: []Change{rule("authz", "changed"), rule("authz", "added"), rule("authz", "removed"), rule("authz", "changed")}}, nil, Moderate, "4 rules"},
		{"three components", Report{Rules: []Change{rule("authz", "changed"), rule("ratelimit", "changed"), rule("compliance", "changed")}}, nil, Complex, "3 components"},
		{"removed entrypoint", Report{Warnings: []Warning{{Kind: WarnRemovedEntrypoint, Message: "entrypoint gone"}}}, nil, Complex, "entrypoint gone"},
		{"loosens syscall", Report{ByComponent: map[string]*Counts{"syscall": {Loosened: 2}}}, nil, Dangerous, "loosens 2 syscall"},
		{"tightens authz only", Report{ByComponent: map[string]*Counts{"authz": {Tightened: 5}}}, nil, Simple, ""},
		{"removes a validator rule", Report{Rules: []Change{rule("validators", "removed")}}, nil, Dangerous, "removes validator rule"},
		{"undoes a security fix", Report{}, []string{"abc CVE-1"}, Dangerous, "security fix (abc CVE-1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(&tc.r, tc.fixes)
			if a.Level != tc.want || (tc.why != "" && !strings.Contains(strings.Join(a.Reasons, "; "), tc.why)) {
				t.Fatalf("%s: %+v, want %s because %q", tc.name, a, tc.want, tc.why)
			}
		})
	}
}
