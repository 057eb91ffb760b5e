package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/config"
)

const repoRoot = "../.."

// differentialCases pairs each shipped input with the documents to ask for.
var differentialCases = map[string][]string{
	"authz-allow.json":         {"security/authz/allow", "security/authz/decision", "security/authz/reasons"},
	"authz-deny.json":          {"security/authz/allow", "security/authz/decision", "security/authz/reasons"},
	"syscall-exec-tmp.json":    {"syscall/decision", "syscall/allow"},
	"syscall-benign.json":      {"syscall/decision", "syscall/allow"},
	"compliance-evidence.json": {"compliance/soc2/controls", "compliance/gdpr/controls", "compliance/iso27001/compliant", "compliance/nist_csf/controls", "compliance/sox/controls"},
}

// loadInputs returns, per shipped input file, the input and variants of it
// with one leaf changed at a time, so both engines see allowed, denied and
// odd shapes, not only the happy path.
func loadInputs(t *testing.T, name string) []any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "testdata", "inputs", name))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	// Request bodies carry {"input": ...}; evidence documents are the input.
	input := any(doc)
	if in, ok := doc["input"]; ok {
		input = in
	}
	out := []any{input}
	for _, v := range mutations(input) {
		out = append(out, v)
	}
	return out
}

// mutations replaces each leaf in turn with a value of another type or content.
func mutations(v any) []any {
	var out []any
	var walk func(cur any, set func(any) any)
	walk = func(cur any, rebuild func(any) any) {
		switch x := cur.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(x[k], func(nv any) any {
					cp := make(map[string]any, len(x))
					for kk, vv := range x {
						cp[kk] = vv
					}
					cp[k] = nv
					return rebuild(cp)
				})
			}
		case []any:
			for i := range x {
				walk(x[i], func(nv any) any {
					cp := append([]any(nil), x...)
					cp[i] = nv
					return rebuild(cp)
				})
			}
		case string:
			out = append(out, rebuild("zz-"+x), rebuild(42))
		case float64:
			out = append(out, rebuild(x+1000), rebuild("0"))
		case bool:
			out = append(out, rebuild(!x))
		}
	}
	walk(v, func(nv any) any { return nv })
	return out
}

// TestDifferentialServe starts `belladonna serve` and stock `opa run --server`
// on the same shipped library and requires the same result for every input.
func TestDifferentialServe(t *testing.T) {
	policies := filepath.Join(repoRoot, "policies")
	opaURL := startStockOPA(t, policies)

	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	s, addr := startServeConfig(t, cfg)
	defer s.Stop(context.Background())
	ourURL := "http://" + addr.String()

	compared := 0
	for file, paths := range differentialCases {
		for _, input := range loadInputs(t, file) {
			body, _ := json.Marshal(map[string]any{"input": input})
			for _, path := range paths {
				want := postResult(t, opaURL, path, body)
				got := postResult(t, ourURL, path, body)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s %s input %s:\n belladonna %v\n opa        %v", file, path, body, got, want)
				}
				compared++
			}
		}
	}
	t.Logf("serve differential: %d decisions identical to stock OPA", compared)
}

// postResult returns the response's "result" (nil when undefined) plus the
// status, so errors are compared too.
func postResult(t *testing.T, base, path string, body []byte) any {
	t.Helper()
	resp, err := http.Post(base+"/v1/data/"+path, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: not JSON: %s", base, raw)
	}
	return map[string]any{"status": resp.StatusCode, "result": out["result"]}
}

// TestDifferentialEval runs `belladonna eval` and stock `opa eval` with the
// same flags and compares their JSON output.
func TestDifferentialEval(t *testing.T) {
	opa := stockOPA(t)
	policies := filepath.Join(repoRoot, "policies")
	dir := t.TempDir()
	compared := 0
	for file, paths := range differentialCases {
		for i, input := range loadInputs(t, file) {
			if i > 5 {
				break // eval is process-per-call; serve covers the variants
			}
			inFile := filepath.Join(dir, fmt.Sprintf("%s.%d.json", file, i))
			raw, _ := json.Marshal(input)
			os.WriteFile(inFile, raw, 0o600)
			for _, path := range paths {
				query := "data." + strings.ReplaceAll(path, "/", ".")
				sameEvalOutput(t, opa, "eval", "-d", policies, "-i", inFile, query)
				compared++
			}
		}
	}
	t.Logf("eval differential: %d outputs identical to stock opa eval", compared)
}

// TestDifferentialEvalBundleFlag: -b reads a directory as a bundle (only
// data.json/data.yaml count as data, the manifest's revision applies) and -d
// through OPA's loader (any .json is data); both must match stock opa eval.
func TestDifferentialEvalBundleFlag(t *testing.T) {
	opa := stockOPA(t)
	dir := t.TempDir()
	writeFile(t, dir, "b/.manifest", `{"revision": "r1", "roots": ["app"]}`)
	writeFile(t, dir, "b/app/data.json", `{"limit": 3}`)
	writeFile(t, dir, "b/app/extra.json", `{"ignored_in_bundles": true}`)
	writeFile(t, dir, "b/app/app.rego", "package app\n\nok if data.app.limit > 2\n")
	sameEvalOutput(t, opa, "eval", "-b", filepath.Join(dir, "b"), "data.app")
	sameEvalOutput(t, opa, "eval", "-d", filepath.Join(dir, "b", "app"), "data")
}

// sameEvalOutput runs belladonna and stock opa with the same arguments and
// requires the same JSON output.
func sameEvalOutput(t *testing.T, opa string, args ...string) {
	t.Helper()
	var ours, errb bytes.Buffer
	if code := run(args, &ours, &errb); code != 0 {
		t.Fatalf("belladonna %v: exit %d: %s", args, code, errb.String())
	}
	theirs, err := exec.Command(opa, args...).Output()
	if err != nil {
		t.Fatalf("opa %v: %v", args, err)
	}
	var a, b any
	json.Unmarshal(ours.Bytes(), &a)
	json.Unmarshal(theirs, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("%v:\n belladonna %s\n opa        %s", args, ours.String(), theirs)
	}
}
