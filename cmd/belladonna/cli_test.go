package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVersion(t *testing.T) {
	code, out, _ := runCLI(t, "version")
	if code != 0 || !strings.Contains(out, "OPA: 1.") || !strings.Contains(out, "Go: go1.") {
		t.Fatalf("exit %d: %s", code, out)
	}
}

func TestConfigErrorsExit2(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", "server:\n  adr: 127.0.0.1:1\n", []string{"belladonna.yaml:2:3", `"server.adr"`, "server.addr"}},
		{"removed key", "allow_legacy_tokens: true\n", []string{"belladonna.yaml:1:1", "allow_legacy_tokens", "was removed", "tokens_file"}},
		{"removed nested", "server:\n  pseudo_signatures: true\n", []string{"belladonna.yaml:2:3", "pseudo_signatures", "--signing-key"}},
		{"bad value", "log:\n  level: loud\n", []string{"log.level", "loud"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "-")+"/belladonna.yaml", tc.yaml)
			code, _, errb := runCLI(t, "--config", cfg, "eval", "1 == 1")
			if code != ExitUsage {
				t.Fatalf("exit %d, want 2: %s", code, errb)
			}
			for _, w := range tc.want {
				if !strings.Contains(errb, w) {
					t.Errorf("stderr %q lacks %q", errb, w)
				}
			}
		})
	}
	if code, _, errb := runCLI(t, "--config", filepath.Join(dir, "missing.yaml"), "eval", "true"); code != ExitUsage || !strings.Contains(errb, "missing.yaml") {
		t.Fatalf("missing config: exit %d %s", code, errb)
	}
	if code, _, _ := runCLI(t, "--log-format", "xml", "eval", "true"); code != ExitUsage {
		t.Fatalf("bad --log-format: exit %d", code)
	}
}

func TestEvalExitCodesAndErrors(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "p/p.rego", "package p\n\nallow if input.ok\n")
	good := writeFile(t, dir, "in.json", `{"ok": true}`)
	yamlIn := writeFile(t, dir, "in.yaml", "ok: true\n")
	bad := writeFile(t, dir, "bad.json", `{"ok": `)
	pdir := filepath.Join(dir, "p")

	for _, tc := range []struct {
		name string
		args []string
		code int
		out  string
		errs string
	}{
		{"defined", []string{"eval", "-d", pdir, "-i", good, "data.p.allow"}, 0, `"value": true`, ""},
		{"yaml input", []string{"eval", "-d", pdir, "-i", yamlIn, "--format", "raw", "data.p.allow"}, 0, "true\n", ""},
		{"undefined prints {}", []string{"eval", "-d", pdir, "data.p.allow"}, 0, "{}\n", ""},
		{"--fail on undefined", []string{"eval", "--fail", "-d", pdir, "data.p.allow"}, 1, "{}", ""},
		{"--fail-defined", []string{"eval", "--fail-defined", "-d", pdir, "-i", good, "data.p.allow"}, 1, "true", ""},
		{"malformed input", []string{"eval", "-d", pdir, "-i", bad, "data.p.allow"}, 2, "", "bad.json"},
		{"unknown format", []string{"eval", "-f", "yaml", "true"}, 2, "", "unknown --format"},
		{"bad query", []string{"eval", "data.p.allow ==="}, 2, "", "rego_parse_error"},
		{"no query", []string{"eval"}, 2, "", "accepts 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errb := runCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.out) || !strings.Contains(errb, tc.errs) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errb)
			}
		})
	}
}

func TestEvalCompileErrorNamesLocation(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "bad/bad.rego", "package bad\n\nallow if {\n\tx := 1\n}\n")
	code, _, errb := runCLI(t, "eval", "-d", filepath.Join(dir, "bad"), "data.bad.allow")
	if code != ExitUsage || !strings.Contains(errb, "bad.rego:4:") {
		t.Fatalf("exit %d: %s", code, errb)
	}
}

func TestServeRefusesBrokenPolicyExit2(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "p/p.rego", "package p\n\nallow if {\n")
	code, _, errb := runCLI(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), filepath.Join(dir, "p"))
	if code != ExitUsage || !strings.Contains(errb, "p.rego:") {
		t.Fatalf("exit %d: %s", code, errb)
	}
}

func TestUnknownCommandExit2(t *testing.T) {
	if code, _, errb := runCLI(t, "frobnicate"); code != ExitUsage || !strings.Contains(errb, "unknown command") {
		t.Fatalf("exit %d: %s", code, errb)
	}
}

func TestHelpShowsExamples(t *testing.T) {
	for _, cmd := range []string{"validate", "test", "eval", "serve", "version"} {
		code, out, _ := runCLI(t, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") {
			t.Errorf("%s --help: exit %d, no Examples section:\n%s", cmd, code, out)
		}
	}
}
