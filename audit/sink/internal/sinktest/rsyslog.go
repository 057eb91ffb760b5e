package sinktest

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Rsyslog is an rsyslogd child process receiving syslog over TCP (plain or
// TLS) on 127.0.0.1 and writing each message's raw text as one line to a
// file.
type Rsyslog struct {
	t      testing.TB
	bin    string
	dir    string
	conf   string
	Port   int
	Out    string // the file of received messages
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *syncBuffer
}

// RsyslogOptions selects TLS; with PKI set the listener requires TLS with a
// client certificate signed by the PKI's CA (gtls, x509/certvalid).
type RsyslogOptions struct {
	PKI *PKI
}

// StartRsyslog writes a configuration into t.TempDir() and starts rsyslogd
// in the foreground on a free port. The process is stopped at cleanup.
func StartRsyslog(t testing.TB, opts RsyslogOptions) *Rsyslog {
	t.Helper()
	bin := RequireTool(t, "rsyslogd", "/usr/sbin/rsyslogd")
	dir := t.TempDir()
	r := &Rsyslog{t: t, bin: bin, dir: dir, Port: FreePort(t), Out: filepath.Join(dir, "received.log")}
	if err := os.Mkdir(filepath.Join(dir, "work"), 0o700); err != nil {
		t.Fatal(err)
	}
	// Control characters stay as received (LEEF separates with tabs); the
	// sink never sends raw newlines, so one message is one line.
	global := fmt.Sprintf(`workDirectory=%q maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off"`, filepath.Join(dir, "work"))
	module := `module(load="imtcp")`
	if p := opts.PKI; p != nil {
		a, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so")
		b, _ := filepath.Glob("/usr/lib/rsyslog/lmnsd_gtls.so")
		if len(a)+len(b) == 0 {
			Unavailable(t, "rsyslog's gtls driver is not installed (Debian: rsyslog-gnutls)")
		}
		global += fmt.Sprintf(` defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q`,
			p.CAFile, p.ServerCert, p.ServerKey)
		module = `module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")`
	}
	conf := fmt.Sprintf(`global(%s)
%s
input(type="imtcp" address="127.0.0.1" port="%d")
template(name="raw" type="string" string="%%rawmsg%%\n")
action(type="omfile" file=%q template="raw")
`, global, module, r.Port, r.Out)
	r.conf = filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start()
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			t.Logf("rsyslogd output:\n%s", r.stderr)
		}
	})
	return r
}

// Start starts rsyslogd (again, after Stop) and waits until it accepts
// connections.
func (r *Rsyslog) Start() {
	r.t.Helper()
	if r.stderr == nil {
		r.stderr = &syncBuffer{}
	}
	pid := filepath.Join(r.dir, "rsyslogd.pid")
	_ = os.Remove(pid)
	cmd := exec.Command(r.bin, "-n", "-f", r.conf, "-i", pid)
	cmd.Stdout, cmd.Stderr = r.stderr, r.stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("starting rsyslogd: %v", err)
	}
	r.cmd, r.exited = cmd, make(chan struct{})
	go func(done chan struct{}) {
		_ = cmd.Wait()
		close(done)
	}(r.exited)
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-r.exited:
			r.t.Fatalf("rsyslogd exited at start:\n%s", r.stderr)
		default:
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(r.Port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("rsyslogd did not listen on %d: %v\n%s", r.Port, err, r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop terminates rsyslogd with SIGTERM (it drains its queues to the
// output file) and waits for it to exit.
func (r *Rsyslog) Stop() {
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.cmd = nil
}

// Lines returns the messages received so far, one per line.
func (r *Rsyslog) Lines() []string {
	bs, err := os.ReadFile(r.Out)
	if err != nil {
		return nil
	}
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(bs))
	sc.Buffer(make([]byte, 0, 128<<10), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) > 0 {
			out = append(out, sc.Text())
		}
	}
	return out
}
