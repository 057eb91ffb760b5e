package stockopa

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Logs collects a process's output for a test's failure message.
type Logs struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *Logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *Logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Server runs `opa run --server` with the YAML config cfg on a free
// loopback port until the test ends; it returns the address and the log
// (printed when the test failed).
func Server(t testing.TB, cfg string) (string, *Logs) {
	t.Helper()
	opa := Path(t)
	file := filepath.Join(t.TempDir(), "opa.yaml")
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &Logs{}
	cmd := exec.CommandContext(ctx, opa, "run", "--server", "--addr", addr, "--config-file", file, "--log-level", "info")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("opa log:\n%s", logs.String())
		}
	})
	return addr, logs
}
