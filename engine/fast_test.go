package engine

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/belladonna-dev/belladonna/policies"
)

// The shipped library's entrypoints stay on the VM through the shadow
// checks (a set in a result is compared as the array the API returns).
func TestLibraryStaysOnTheVM(t *testing.T) {
	src, err := LoadFS(policies.FS, ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := New(WithCompileOptions(CompileOptions{CacheEntries: 1000}))
	st := mustActivate(t, e, src)
	st.FastPathsReady(context.Background())
	in := []byte(`{"syscall": "openat", "pid": 1234, "ppid": 1, "uid": 0, "comm": "bash", "exe": "/usr/bin/bash", "path": "/etc/shadow", "flags": 0, "dst_ip": "10.0.0.1", "dst_port": 0, "cgroup": "/x"}`)
	for range shadowChecks + 2 {
		if _, err := e.DecideJSON(context.Background(), "syscall/decision", in); err != nil {
			t.Fatal(err)
		}
	}
	fp := st.fast.get("syscall/decision")
	if fp == nil || fp.disabled.Load() {
		t.Fatalf("syscall/decision left the VM: %+v", fp)
	}
	if d, _ := e.DecideJSON(context.Background(), "syscall/decision", in); !d.Cached {
		t.Fatal("a repeated event was not answered from the cache")
	}
}

// A path whose VM answer differs from topdown goes back to topdown, and
// topdown's answer is what the caller gets.
func TestShadowCheckFallsBack(t *testing.T) {
	src, _ := LoadFS(fstest.MapFS{"a/p.rego": {Data: []byte("package a\n\nx := input.v\n")}}, ".", LoadOptions{})
	e := New(WithCompileOptions(CompileOptions{Entrypoints: []string{"a/x"}}))
	st := mustActivate(t, e, src)
	st.FastPathsReady(context.Background())
	fp := st.fast.get("a/x")
	if fp == nil {
		t.Fatal("no VM for a/x")
	}
	// Swap in the VM of another policy, which answers something else.
	other, _ := LoadFS(fstest.MapFS{"a/p.rego": {Data: []byte("package a\n\nx := 42\n")}}, ".", LoadOptions{})
	st2 := mustActivate(t, New(WithCompileOptions(CompileOptions{Entrypoints: []string{"a/x"}})), other)
	st2.FastPathsReady(context.Background())
	fp.vm = st2.fast.get("a/x").vm
	d, err := e.DecideJSON(context.Background(), "a/x", []byte(`{"v": "topdown"}`))
	if err != nil || d.Result != "topdown" || !fp.disabled.Load() {
		t.Fatalf("result %v (%v), disabled %v", d.Result, err, fp.disabled.Load())
	}
}
