package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	stockOnce sync.Once
	stockPath string
	stockErr  error
)

// stockOPA builds the opa binary from the OPA module version pinned in go.mod,
// once per test binary, so differential tests compare against exactly the
// OPA that Belladonna embeds.
func stockOPA(t *testing.T) string {
	t.Helper()
	stockOnce.Do(func() {
		dir, err := os.MkdirTemp("", "belladonna-stock-opa")
		if err != nil {
			stockErr = err
			return
		}
		stockPath = filepath.Join(dir, "opa")
		cmd := exec.Command("go", "build", "-o", stockPath, "github.com/open-policy-agent/opa")
		if out, err := cmd.CombinedOutput(); err != nil {
			stockErr = fmt.Errorf("building stock opa: %v\n%s", err, out)
		}
	})
	if stockErr != nil {
		t.Fatal(stockErr)
	}
	return stockPath
}

// freeAddr returns a loopback address with a port nobody is listening on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// startStockOPA runs `opa run --server` on paths and waits for /health.
func startStockOPA(t *testing.T, paths ...string) string {
	t.Helper()
	addr := freeAddr(t)
	args := append([]string{"run", "--server", "--addr", addr, "--log-level", "error", "--skip-version-check"}, paths...)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, stockOPA(t), args...)
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	waitHealthy(t, "http://"+addr)
	return "http://" + addr
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not become healthy", base)
}
