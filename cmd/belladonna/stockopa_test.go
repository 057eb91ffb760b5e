package main

import (
	"context"
	"net"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/internal/stockopa"
)

// stockOPA is the opa binary of the OPA module version pinned in go.mod.
func stockOPA(t *testing.T) string { return stockopa.Path(t) }

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
