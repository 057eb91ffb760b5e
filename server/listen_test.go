package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The decision API over a Unix domain socket: answered, the socket is
// 0660, a stale socket from a crash is replaced, a live one or any other
// file is not.
func TestUnixSocket(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "bd.sock")
	s, err := New(newEngine(t), Options{Addr: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	c := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}}
	resp, err := c.Post("http://unix/v1/data/app/allow", "application/json", strings.NewReader(`{"input": {"user": "alice"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"result":true`) {
		t.Fatalf("over the socket: %s", b)
	}
	if st, _ := os.Stat(sock); st.Mode().Perm() != 0o660 {
		t.Fatalf("socket mode %v", st.Mode().Perm())
	}
	if _, err := Listen(context.Background(), "unix://"+sock); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("a live socket was taken over: %v", err)
	}
	stale := filepath.Join(dir, "stale.sock")
	l, _ := net.Listen("unix", stale)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	ln, err := Listen(context.Background(), "unix://"+stale)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln.Close()
	plain := filepath.Join(dir, "file")
	os.WriteFile(plain, []byte("x"), 0o600)
	if _, err := Listen(context.Background(), "unix://"+plain); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("a regular file was replaced: %v", err)
	}
}

// A client that sends its headers slowly (slow-loris) is cut off; other
// clients are answered meanwhile.
func TestSlowClientIsCutOff(t *testing.T) {
	s, err := New(newEngine(t), Options{Addr: "127.0.0.1:0", ReadHeaderTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := s.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	slow, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	slow.Write([]byte("POST /v1/data/app/allow HTTP/1.1\r\nHost: x\r\n"))
	resp, err := http.Post("http://"+addr.String()+"/v1/data/app/allow", "application/json", strings.NewReader(`{"input": {"user": "alice"}}`))
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("another client while one is slow: %v %v", resp, err)
	}
	resp.Body.Close()
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(slow)
	if err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("the slow connection was not closed by the server: %v after %v", err, time.Since(start))
	}
}
