package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// Every removed key is rejected wherever it appears, with its replacement, as
// ErrRemovedKey.
func TestRemovedKeys(t *testing.T) {
	t.Parallel()
	for _, r := range RemovedKeys() {
		// The key as written at the top level, and nested under the sections
		// where it used to be documented.
		var nest []string
		for _, sec := range []string{"", "server", "server.authentication", "audit"} {
			if sec == "" && strings.Contains(r.Key, ".") && lookup(strings.Split(r.Key, ".")[0]) != nil {
				continue // e.g. "authentication.tokens" at the top level is a different, unknown key
			}
			nest = append(nest, sec)
		}
		for _, sec := range nest {
			path := joinPath(sec, r.Key)
			t.Run(path, func(t *testing.T) {
				t.Parallel()
				data, line, col := nested(path, "true")
				_, err := Parse([]byte(data), "belladonna.yaml")
				ps := problemsOf(t, err)
				if len(ps) != 1 {
					t.Fatalf("want one problem, got:\n%v", err)
				}
				want := fmt.Sprintf("belladonna.yaml:%d:%d: key %q was removed in Belladonna %s: %s; %s",
					line, col, path, r.Since, r.Reason, r.Instead)
				if got := err.Error(); got != want {
					t.Errorf("got  %s\nwant %s", got, want)
				}
				if !errors.Is(err, ErrRemovedKey) {
					t.Error("errors.Is(err, ErrRemovedKey) = false")
				}
				if ps[0].Key != path {
					t.Errorf("Key = %q, want %q", ps[0].Key, path)
				}
			})
		}
	}
}

// nested writes "a.b.c" as block YAML with value v and returns where the last
// key starts.
func nested(path, v string) (data string, line, col int) {
	var b strings.Builder
	b.WriteString("log:\n  level: info\n") // so the key is not on line 1
	parts := strings.Split(path, ".")
	for i, p := range parts {
		b.WriteString(strings.Repeat("  ", i) + p + ":")
		if i == len(parts)-1 {
			b.WriteString(" " + v)
		}
		b.WriteString("\n")
	}
	return b.String(), 2 + len(parts), 2*(len(parts)-1) + 1
}

// The message promised in the design, verbatim.
func TestRemovedKeyMessage(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("log:\n  level: info\nallow_legacy_tokens: true\n"), "belladonna.yaml")
	want := `belladonna.yaml:3:1: key "allow_legacy_tokens" was removed in Belladonna 0.1: legacy unhashed tokens are no longer accepted; use server.authentication.mode: token with tokens_file (SHA-256 digests) instead`
	wantLines(t, err, want)
}

// A section that exists only as the parent of removed keys reports its removed
// children, and its other children as unknown; with no removed child it is
// one unknown key.
func TestRemovedSection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{
			name: "removed child and unknown sibling",
			yaml: "decision_log:\n  console: true\n  path: x\n",
			want: []string{
				`belladonna.yaml:2:3: key "decision_log.console" was removed in Belladonna 0.1: decisions are no longer echoed to the console by a separate switch; use log.level: debug for verbose console logs instead; decisions themselves go to the audit log (audit.enabled)`,
				`belladonna.yaml:3:3: unknown key "decision_log.path"`,
			},
		},
		{
			name: "no removed child",
			yaml: "decision_log:\n  path: x\n",
			want: []string{`belladonna.yaml:1:1: unknown key "decision_log" (known keys in top level: data_dir, log, server, policies, audit, validate, repository, bundles)`},
		},
		{
			name: "not a mapping",
			yaml: "decision_log: true\n",
			want: []string{`belladonna.yaml:1:1: unknown key "decision_log" (known keys in top level: data_dir, log, server, policies, audit, validate, repository, bundles)`},
		},
		{
			name: "live section in the wrong place",
			yaml: "authentication:\n  mode: token\n",
			want: []string{`belladonna.yaml:1:1: unknown key "authentication" (did you mean "server.authentication"?)`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), "belladonna.yaml")
			wantLines(t, err, tc.want...)
		})
	}
}

// A removed key must never match a live key, or it would make a real setting
// impossible to use.
func TestRemovedKeysDoNotShadowLiveKeys(t *testing.T) {
	t.Parallel()
	for _, f := range schema.withItems() {
		if r, ok := removedAt(f.path); ok {
			t.Errorf("live key %q matches removed key %q", f.path, r.Key)
		}
	}
	for _, r := range RemovedKeys() {
		if r.Key == "" || r.Since == "" || r.Reason == "" || r.Instead == "" {
			t.Errorf("incomplete entry %+v", r)
		}
	}
}

// An alias can make a removed-only section contain itself; the walk must end.
func TestRemovedSectionAliasCycle(t *testing.T) {
	t.Parallel()
	_, err := Parse([]byte("decision_log: &x {console: true, decision_log: *x}\n"), "belladonna.yaml")
	wantLines(t, err,
		`belladonna.yaml:1:19: key "decision_log.console" was removed in Belladonna 0.1: decisions are no longer echoed to the console by a separate switch; use log.level: debug for verbose console logs instead; decisions themselves go to the audit log (audit.enabled)`,
		`belladonna.yaml:1:34: unknown key "decision_log.decision_log"`,
	)
}
