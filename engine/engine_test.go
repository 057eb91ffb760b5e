package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/bundle"
)

const authzModule = `package app.authz

# METADATA
# entrypoint: true
# scope: document
allow if input.user in data.app.admins

deny_reason := "not an admin" if not allow
`

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func mustActivate(t *testing.T, e *Engine, src *Source) *State {
	t.Helper()
	st, err := e.Activate(context.Background(), src)
	if err != nil {
		t.Fatalf("activate: %v", err)
	}
	return st
}

func TestLoadFSAndDecide(t *testing.T) {
	src, err := LoadFS(mapFS(map[string]string{
		"app/authz.rego":      authzModule,
		"app/authz_test.rego": "package app.authz_test\n\ntest_x if true\n",
		"app/data.json":       `{"admins": ["alice"]}`,
		"README.md":           "not policy",
	}), ".", LoadOptions{SkipTests: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Modules) != 1 {
		t.Fatalf("SkipTests: got modules %v", keys(src.Modules))
	}
	e := New()
	st := mustActivate(t, e, src)
	if got := st.Entrypoints(); len(got) != 1 || got[0] != "app/authz/allow" {
		t.Fatalf("entrypoints = %v, want [app/authz/allow]", got)
	}
	for _, tc := range []struct {
		input   any
		defined bool
		want    any
	}{
		{map[string]any{"user": "alice"}, true, true},
		{map[string]any{"user": "bob"}, false, nil},
		{nil, false, nil},
	} {
		d, err := e.Decide(context.Background(), "/app/authz/allow", tc.input)
		if err != nil {
			t.Fatal(err)
		}
		if d.Defined != tc.defined || d.Result != tc.want {
			t.Errorf("input %v: got defined=%v result=%v", tc.input, d.Defined, d.Result)
		}
		if d.ID == "" || d.Revision != src.Revision || !strings.HasPrefix(d.Revision, "sha256:") || d.Path != "app/authz/allow" {
			t.Errorf("decision metadata: %+v", d)
		}
	}
}

func TestLoadPathsDirectory(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "app", "authz.rego"), authzModule)
	write(t, filepath.Join(dir, "app", "data.yaml"), "admins: [carol]\n")
	write(t, filepath.Join(dir, ".git", "junk.rego"), "not rego at all")
	src, err := LoadPaths([]string{dir}, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := New()
	mustActivate(t, e, src)
	d, err := e.Decide(context.Background(), "app/authz/allow", map[string]any{"user": "carol"})
	if err != nil || d.Result != true {
		t.Fatalf("got %+v, %v", d, err)
	}
	// Same tree, same revision: the digest is content-addressed.
	again, err := LoadPaths([]string{dir}, LoadOptions{})
	if err != nil || again.Revision != src.Revision {
		t.Fatalf("revision not stable: %s vs %s (%v)", again.Revision, src.Revision, err)
	}
}

func TestLoadBundleTarball(t *testing.T) {
	b := bundle.Bundle{
		Manifest: bundle.Manifest{Revision: "rev-42", Roots: &[]string{"app"}},
		Data:     map[string]any{"app": map[string]any{"admins": []any{"dave"}}},
		Modules: []bundle.ModuleFile{{
			URL: "/app/authz.rego", Path: "/app/authz.rego", Raw: []byte(authzModule),
		}},
	}
	var buf bytes.Buffer
	if err := bundle.NewWriter(&buf).Write(b); err != nil {
		t.Fatal(err)
	}
	tarball := buf.Bytes()
	src, err := LoadBundle(bytes.NewReader(tarball), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if src.Revision != "rev-42" {
		t.Fatalf("revision = %q, want the manifest's", src.Revision)
	}
	e := New()
	mustActivate(t, e, src)
	d, err := e.Decide(context.Background(), "app/authz/allow", map[string]any{"user": "dave"})
	if err != nil || d.Result != true || d.Revision != "rev-42" {
		t.Fatalf("got %+v, %v", d, err)
	}
	// The same bundle from a file path through LoadPaths.
	path := filepath.Join(t.TempDir(), "bundle.tar.gz")
	if err := os.WriteFile(path, tarball, 0o600); err != nil {
		t.Fatal(err)
	}
	src2, err := LoadPaths([]string{path}, LoadOptions{})
	if err != nil || src2.Revision != "rev-42" {
		t.Fatalf("LoadPaths(bundle): %v, revision %q", err, src2.Revision)
	}
	if _, err := LoadBundle(strings.NewReader("not a tarball"), LoadOptions{}); err == nil {
		t.Fatal("garbage tarball loaded")
	}
}

func TestCompileErrorsNameEveryLocation(t *testing.T) {
	src, err := LoadFS(mapFS(map[string]string{
		"a.rego": "package a\n\np if {\n\tx := 1\n}\n",        // strict: unused x
		"b.rego": "package b\n\nq if undefined_function(1)\n", // unknown function
	}), ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compile(context.Background(), src, CompileOptions{})
	ce, ok := errors.AsType[*CompileError](err)
	if !ok {
		t.Fatalf("want *CompileError, got %v", err)
	}
	msg := ce.Error()
	for _, want := range []string{"a.rego:4:", "b.rego:3:", "rego_compile_error", "rego_type_error"} {
		if !strings.Contains(msg, want) {
			t.Errorf("compile error %q lacks %q", msg, want)
		}
	}
	if len(ce.Errors) < 2 {
		t.Errorf("want every error, got %d", len(ce.Errors))
	}
}

func TestParseErrorNamesFileAndLine(t *testing.T) {
	_, err := LoadFS(mapFS(map[string]string{"x/bad.rego": "package x\n\nallow if {\n"}), ".", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "bad.rego:") {
		t.Fatalf("want a parse error naming bad.rego, got %v", err)
	}
	_, err = LoadFS(mapFS(map[string]string{"x/data.json": `{"a": `}), ".", LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "data.json") {
		t.Fatalf("want an error naming data.json, got %v", err)
	}
}

func TestV0Compatible(t *testing.T) {
	v0 := "package v0\n\nallow { input.x == 1 }\n"
	if _, err := LoadFS(mapFS(map[string]string{"v0.rego": v0}), ".", LoadOptions{}); err == nil {
		t.Fatal("v0 module parsed as v1")
	}
	src, err := LoadFS(mapFS(map[string]string{"v0.rego": v0}), ".", LoadOptions{RegoVersion: ast.RegoV0})
	if err != nil {
		t.Fatal(err)
	}
	e := New(WithCompileOptions(CompileOptions{RegoVersion: ast.RegoV0}))
	mustActivate(t, e, src)
	d, err := e.Decide(context.Background(), "v0/allow", map[string]any{"x": 1})
	if err != nil || d.Result != true {
		t.Fatalf("got %+v %v", d, err)
	}
}

func TestFailedCompileNeverActivates(t *testing.T) {
	e := New()
	good := versionSource(t, "v1")
	mustActivate(t, e, good)
	bad, err := LoadFS(mapFS(map[string]string{"p.rego": "package p\n\nr := x\n"}), ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Activate(context.Background(), bad); err == nil {
		t.Fatal("bad source activated")
	}
	d, err := e.Decide(context.Background(), "p/r", nil)
	if err != nil || d.Revision != good.Revision {
		t.Fatalf("after failed activation: %+v %v", d, err)
	}
}

// versionSource builds a policy whose rule and data both carry tag, so a
// decision that mixed two versions would show two different tags.
func versionSource(t *testing.T, tag string) *Source {
	t.Helper()
	src, err := LoadFS(mapFS(map[string]string{
		"p/p.rego":    fmt.Sprintf("package p\n\nr := {\"rule\": %q, \"data\": data.p.tag}\n", tag),
		"p/data.json": fmt.Sprintf(`{"tag": %q}`, tag),
	}), ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestSwapUnderLoadNeverMixes(t *testing.T) {
	e := New()
	srcs := []*Source{versionSource(t, "a"), versionSource(t, "b")}
	states := make([]*State, len(srcs))
	for i, s := range srcs {
		st, err := Compile(context.Background(), s, CompileOptions{Entrypoints: []string{"p/r"}})
		if err != nil {
			t.Fatal(err)
		}
		states[i] = st
	}
	e.Swap(states[0])
	revTag := map[string]string{srcs[0].Revision: "a", srcs[1].Revision: "b"}
	var wg sync.WaitGroup
	var stop atomic.Bool
	var seen [2]atomic.Int64
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				d, err := e.Decide(context.Background(), "p/r", nil)
				if err != nil {
					t.Error(err)
					return
				}
				m := d.Result.(map[string]any)
				tag := revTag[d.Revision]
				if m["rule"] != tag || m["data"] != tag {
					t.Errorf("mixed decision: revision %s (tag %s) result %v", d.Revision, tag, m)
					return
				}
				if tag == "a" {
					seen[0].Add(1)
				} else {
					seen[1].Add(1)
				}
			}
		})
	}
	// Swap until both versions have served plenty, racing the readers.
	for i := 0; seen[0].Load() < 500 || seen[1].Load() < 500; i++ {
		e.Swap(states[i%2])
		runtime.Gosched()
	}
	stop.Store(true)
	wg.Wait()
	if seen[0].Load() == 0 || seen[1].Load() == 0 {
		t.Fatalf("both versions should have served: a=%d b=%d", seen[0].Load(), seen[1].Load())
	}
}

type recorder struct {
	mu   sync.Mutex
	got  []*Decision
	fail error
}

func (r *recorder) LogDecision(_ context.Context, d *Decision) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	r.got = append(r.got, d)
	return nil
}

func TestDecisionLoggerFailsClosed(t *testing.T) {
	rec := &recorder{}
	e := New(WithDecisionLogger(rec))
	mustActivate(t, e, versionSource(t, "a"))
	d, err := e.Decide(context.Background(), "p/r", map[string]any{"k": 1}, WithCaller("127.0.0.1:5555"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.got) != 1 || rec.got[0].ID != d.ID || rec.got[0].Caller != "127.0.0.1:5555" || rec.got[0].Duration <= 0 {
		t.Fatalf("logger saw %+v", rec.got)
	}
	rec.fail = errors.New("disk full")
	if _, err := e.Decide(context.Background(), "p/r", nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("an unrecorded decision must fail, got %v", err)
	}
}

func TestDecideBeforeActivation(t *testing.T) {
	if _, err := New().Decide(context.Background(), "x", nil); !errors.Is(err, ErrNoPolicy) {
		t.Fatalf("got %v", err)
	}
}

func TestInvalidPath(t *testing.T) {
	e := New()
	mustActivate(t, e, versionSource(t, "a"))
	if _, err := e.Decide(context.Background(), `p/"r`, nil); !errors.Is(err, ErrInvalidPath) {
		t.Fatalf("got %v", err)
	}
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
