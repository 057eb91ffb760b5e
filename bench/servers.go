package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// binaries builds stock opa from the OPA module version go.mod pins and
// belladonna from this tree, into dir.
func binaries(ctx context.Context, root, dir string) (opa, bd string, err error) {
	opa, bd = filepath.Join(dir, "opa"), filepath.Join(dir, "belladonna")
	for _, b := range [][]string{{opa, "github.com/open-policy-agent/opa"}, {bd, "./cmd/belladonna"}} {
		cmd := exec.CommandContext(ctx, "go", "build", "-o", b[0], b[1])
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("go build %s: %w\n%s", b[1], err, out)
		}
	}
	return opa, bd, nil
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run the harness inside the belladonna module (go run ./bench)")
	}
	return filepath.Dir(mod), nil
}

// opaBuild runs `opa build` on tree; with an entrypoint, -O=1 -e.
func opaBuild(ctx context.Context, opa, tree, out, entrypoint string) error {
	args := []string{"build", "-o", out}
	if entrypoint != "" {
		args = append(args, "-O=1", "-e", entrypoint)
	}
	args = append(args, tree)
	if b, err := exec.CommandContext(ctx, opa, args...).CombinedOutput(); err != nil {
		return fmt.Errorf("opa %s: %w\n%s", strings.Join(args, " "), err, b)
	}
	return nil
}

// server is one decision server process under test.
type server struct {
	Name string
	URL  string
	cmd  *exec.Cmd
	logs bytes.Buffer
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// start runs argv (with ADDR replaced by a free address) in dir, with env
// added to the environment, and waits
// until /health answers 200.
func start(ctx context.Context, name, dir string, env []string, argv ...string) (*server, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	for i, a := range argv {
		argv[i] = strings.ReplaceAll(a, "ADDR", addr)
	}
	s := &server{Name: name, URL: "http://" + addr}
	s.cmd = exec.CommandContext(ctx, argv[0], argv[1:]...)
	s.cmd.Dir = dir
	if env != nil {
		s.cmd.Env = append(os.Environ(), env...)
	}
	s.cmd.Stdout, s.cmd.Stderr = &s.logs, &s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s, nil
			}
		}
		if time.Now().After(deadline) || s.cmd.ProcessState != nil {
			s.stop()
			return nil, fmt.Errorf("%s did not become healthy: %v\n%s", name, err, s.logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
			<-done
		}
	}
}

// rss returns the process's resident and peak resident memory (bytes).
func (s *server) rss() (cur, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	return cur, peak
}
