package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// The baseline mode flags a throughput drop or a p99 rise beyond the
// threshold for belladonna's rows, and nothing within it.
func TestCompareWithBaseline(t *testing.T) {
	base := &report{Rows: []row{
		{Policy: "rbac", Server: "belladonna", Concurrency: 8, RPS: 10000, P99us: 1000},
		{Policy: "rbac", Server: "opa", Concurrency: 8, RPS: 3000, P99us: 5000},
	}}
	file := filepath.Join(t.TempDir(), "base.json")
	if err := base.write(file); err != nil {
		t.Fatal(err)
	}
	now := &report{Rows: []row{
		{Policy: "rbac", Server: "belladonna", Concurrency: 8, RPS: 9500, P99us: 1050},
		{Policy: "rbac", Server: "opa", Concurrency: 8, RPS: 1000, P99us: 50000},
	}}
	var out bytes.Buffer
	if n, err := now.compare(file, 10, &out); err != nil || n != 0 {
		t.Fatalf("within 10%%: %d %v\n%s", n, err, out.String())
	}
	now.Rows[0].RPS, now.Rows[0].P99us = 8000, 1500
	out.Reset()
	if n, _ := now.compare(file, 10, &out); n != 2 || !strings.Contains(out.String(), "REGRESSION rbac belladonna conc 8: 8000 req/s") {
		t.Fatalf("regressions: %d\n%s", n, out.String())
	}
	if _, err := now.compare(filepath.Join(t.TempDir(), "missing.json"), 10, &out); err == nil {
		t.Fatal("a missing baseline is not an error")
	}
	// A run with the servers on another CPU split is not compared.
	now.ServerProcs = 1
	if _, err := now.compare(file, 10, &out); err == nil || !strings.Contains(err.Error(), "-serverprocs") {
		t.Fatalf("different setup compared: %v", err)
	}
}
