package config

import (
	"reflect"
	"testing"
)

func TestParseProtectedBranches(t *testing.T) {
	t.Parallel()
	y := "repository:\n  protected_branches:\n    - {pattern: main, approvals: 2, keys_dir: approvers}\n    - {pattern: \"release/*\", approvals: 1, keys_dir: rel}\n"
	c, err := Parse([]byte(y), "belladonna.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []ProtectedBranch{{Pattern: "main", Approvals: 2, KeysDir: "approvers"}, {Pattern: "release/*", Approvals: 1, KeysDir: "rel"}}
	if !reflect.DeepEqual(c.Repository.ProtectedBranches, want) {
		t.Fatalf("got %+v", c.Repository.ProtectedBranches)
	}
}

func TestProtectedBranchProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, item string
		want       []string
	}{
		{"no pattern", "{approvals: 1, keys_dir: k}",
			[]string{`belladonna.yaml:3:7: repository.protected_branches[0].pattern: required: a branch name or glob such as main or release/*`}},
		{"bad glob", "{pattern: \"rel[ease\", approvals: 1, keys_dir: k}",
			[]string{`belladonna.yaml:3:17: repository.protected_branches[0].pattern: not a valid glob: "rel[ease"`}},
		{"no approvals", "{pattern: main, keys_dir: k}",
			[]string{`belladonna.yaml:3:7: repository.protected_branches[0].approvals: must be at least 1, got 0`}},
		{"no keys", "{pattern: main, approvals: 2}",
			[]string{`belladonna.yaml:3:7: repository.protected_branches[0].keys_dir: required: the directory of the approvers' public keys`}},
		{"unknown key", "{pattern: main, approvals: 2, keys_dir: k, require: 3}",
			[]string{`belladonna.yaml:3:50: unknown key "repository.protected_branches[0].require" (known keys in repository.protected_branches[0]: pattern, approvals, keys_dir)`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte("repository:\n  protected_branches:\n    - "+tc.item+"\n"), "belladonna.yaml")
			wantLines(t, err, tc.want...)
		})
	}
}
