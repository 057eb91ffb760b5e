package audit

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func appendN(t *testing.T, dir string, n int) *FileLog {
	t.Helper()
	l, err := OpenFileLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := l.Append(context.Background(), Entry{Kind: KindDecision, Path: "a/b", Result: json.RawMessage(`true`), DecisionID: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestChainVerifiesAndResumes(t *testing.T) {
	dir := t.TempDir()
	l := appendN(t, dir, 3)
	l.Close()
	// Reopening continues the same chain.
	l = appendN(t, dir, 2)
	l.Close()
	n, err := Verify(l.Path())
	if err != nil || n != 5 {
		t.Fatalf("verify: n=%d err=%v", n, err)
	}
}

func TestTamperingIsDetected(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mutate func(lines []string) []string
		line   int
	}{
		{"edited result", func(l []string) []string {
			l[1] = strings.Replace(l[1], `"result":true`, `"result":false`, 1)
			return l
		}, 2},
		{"deleted entry", func(l []string) []string { return append(l[:1], l[2:]...) }, 2},
		{"reordered", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, 2},
		{"inserted copy", func(l []string) []string { return append(l[:2], append([]string{l[0]}, l[2:]...)...) }, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := appendN(t, dir, 4)
			l.Close()
			raw, _ := os.ReadFile(l.Path())
			lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
			os.WriteFile(l.Path(), []byte(strings.Join(tc.mutate(lines), "\n")+"\n"), 0o600)
			_, err := Verify(l.Path())
			ce, ok := errors.AsType[*ChainError](err)
			if !ok || ce.Line != tc.line {
				t.Fatalf("want chain error at line %d, got %v", tc.line, err)
			}
			if _, err := OpenFileLog(dir); err == nil {
				t.Fatal("a tampered log was reopened for appending")
			}
		})
	}
}
