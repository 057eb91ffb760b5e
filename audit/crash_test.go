package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashChildEnv = "BELLADONNA_AUDIT_CRASH_CHILD_DIR"

// TestCrashChild is the process TestKill9LosesNothingAcknowledged kills: it
// appends from many goroutines and prints "index decision-id" for every
// acknowledged append.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9LosesNothingAcknowledged (runs only when that test starts it)")
	}
	l, err := Open(context.Background(), Options{Dir: dir, SegmentBytes: 256 << 10})
	if err != nil {
		fmt.Println("open error:", err)
		os.Exit(3)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for n := 0; ; n++ {
				e := decisionEntry(n)
				e.DecisionID = fmt.Sprintf("g%d-%d-%d", g, n, os.Getpid())
				idx, err := l.Append(context.Background(), e)
				if err != nil {
					return
				}
				mu.Lock()
				fmt.Fprintf(w, "%d %s\n", idx, e.DecisionID)
				w.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestKill9LosesNothingAcknowledged kills a writer with SIGKILL under load,
// several times at random moments, and checks that every append it had
// acknowledged is in the log, at the index it was given, and that the log
// verifies after each recovery.
func TestKill9LosesNothingAcknowledged(t *testing.T) {
	dir := t.TempDir()
	acked := map[uint64]string{}
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1<<16)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		time.Sleep(time.Duration(300+round*250) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		before := len(acked)
		for line := range lines {
			idx, id, ok := strings.Cut(line, " ")
			if !ok {
				t.Fatalf("child said %q", line)
			}
			n, err := strconv.ParseUint(idx, 10, 64)
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			if prev, dup := acked[n]; dup {
				t.Fatalf("index %d acknowledged twice: %s and %s", n, prev, id)
			}
			acked[n] = id
		}
		cmd.Wait()
		if len(acked) == before {
			t.Fatalf("round %d: the child acknowledged nothing", round)
		}

		l, err := Open(context.Background(), Options{Dir: dir})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		entries, err := l.Read(context.Background(), 0, int(l.Size()))
		if err != nil {
			t.Fatal(err)
		}
		for idx, id := range acked {
			if idx >= uint64(len(entries)) || entries[idx].DecisionID != id {
				t.Fatalf("round %d: acknowledged entry %d (%s) lost or moved", round, idx, id)
			}
		}
		t.Logf("round %d: %d acknowledged so far, log holds %d, torn tail cut: %d bytes", round, len(acked), l.Size(), l.Recovery().TornBytes)
		l.Close()
		rep, err := Verify(context.Background(), dir, VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("round %d: verify after recovery: %v %+v", round, err, rep)
		}
	}
}

// TestFullDiskFailsLoudlyAndLosesNothing fills a small tmpfs: the append
// that does not fit fails with the disk error, the entries before it stay
// readable and verifiable, and nothing half-written remains.
func TestFullDiskFailsLoudlyAndLosesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs to fill needs root (CI runs as root)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v: %s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	l, err := Open(context.Background(), Options{Dir: filepath.Join(dir, "audit"), NoCompress: true})
	if err != nil {
		t.Fatal(err)
	}
	var ok uint64
	var appendErr error
	for i := 0; i < 100000; i++ {
		if _, appendErr = l.Append(context.Background(), decisionEntry(i)); appendErr != nil {
			break
		}
		ok++
	}
	if appendErr == nil || !errors.Is(appendErr, syscall.ENOSPC) {
		t.Fatalf("after %d appends: want ENOSPC, got %v", ok, appendErr)
	}
	if l.Size() < ok {
		t.Fatalf("size %d < %d acknowledged", l.Size(), ok)
	}
	got, err := l.Read(context.Background(), 0, int(ok))
	if err != nil || uint64(len(got)) != ok {
		t.Fatalf("read back %d of %d: %v", len(got), ok, err)
	}
	l.Close()
	if rep, err := Verify(context.Background(), filepath.Join(dir, "audit"), VerifyOptions{}); err != nil || !rep.OK() {
		t.Fatalf("verify after disk full: %v %+v", err, rep)
	}
	t.Logf("disk full after %d entries: %v", ok, appendErr)
}
