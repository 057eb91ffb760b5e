package sinktest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Postgres is a throwaway PostgreSQL cluster run as a child process, with
// its data directory and socket in t.TempDir(). As root it runs as the
// postgres OS user, since PostgreSQL refuses to run as root.
type Postgres struct {
	t      testing.TB
	bin    string // directory of initdb and postgres
	data   string
	sock   string
	Port   int
	cred   *syscall.Credential
	cmd    *exec.Cmd
	exited chan struct{}
	output *syncBuffer
}

// StartPostgres initialises a cluster (trust authentication, user postgres)
// and starts it on a free port of 127.0.0.1. It is stopped at cleanup.
func StartPostgres(t testing.TB) *Postgres {
	t.Helper()
	initdb := RequireTool(t, "initdb", "/usr/lib/postgresql/*/bin/initdb")
	p := &Postgres{t: t, bin: filepath.Dir(initdb), Port: FreePort(t), output: &syncBuffer{}}
	base := t.TempDir()
	p.data, p.sock = filepath.Join(base, "data"), filepath.Join(base, "sock")
	for _, d := range []string{p.data, p.sock} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			Unavailable(t, "running as root and there is no postgres user to run PostgreSQL as: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		// t.TempDir's directories are 0700 root: the postgres user must be
		// able to reach its own directories below them.
		for d := base; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		for _, d := range []string{p.data, p.sock} {
			if err := os.Chown(d, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := p.command("initdb", "-D", p.data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.Start()
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("postgres output:\n%s", p.output)
		}
	})
	return p
}

func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.sock // a directory the postgres user can enter
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// DSN connects as postgres over TCP.
func (p *Postgres) DSN() string {
	return fmt.Sprintf("host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable", p.Port)
}

// Start starts the server (again, after Stop) and waits until it accepts
// queries.
func (p *Postgres) Start() {
	p.t.Helper()
	cmd := p.command("postgres", "-D", p.data, "-k", p.sock, "-p", strconv.Itoa(p.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off")
	cmd.Stdout, cmd.Stderr = p.output, p.output
	if err := cmd.Start(); err != nil {
		p.t.Fatalf("starting postgres: %v", err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(p.exited)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			p.t.Fatalf("postgres exited at start:\n%s", p.output)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, p.DSN())
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return
		}
		cancel()
		if time.Now().After(deadline) {
			p.t.Fatalf("postgres did not accept connections: %v\n%s", err, p.output)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop shuts the server down with SIGINT ("fast": running transactions are
// rolled back, clients disconnected) and waits for it to exit.
func (p *Postgres) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	p.cmd = nil
}

// Conn opens a connection for the test's own queries, closed at cleanup.
func (p *Postgres) Conn(ctx context.Context) *pgx.Conn {
	p.t.Helper()
	conn, err := pgx.Connect(ctx, p.DSN())
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}
