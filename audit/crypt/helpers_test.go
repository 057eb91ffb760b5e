package crypt

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// fixture is a keyring, subject store and codec in a private temp dir.
type fixture struct {
	dir   string
	kr    *Keyring
	store *SubjectStore
	codec *Codec
}

func newFixture(tb testing.TB, opts ...Option) *fixture {
	tb.Helper()
	dir := tb.TempDir()
	kr, err := GenerateKeyring(filepath.Join(dir, "keys", "keyring.json"))
	if err != nil {
		tb.Fatal(err)
	}
	store, err := OpenSubjectStore(dir, kr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := NewCodec(kr, store, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{dir: dir, kr: kr, store: store, codec: c}
}

// reopen simulates a restart: keyring, store and codec loaded from disk,
// with empty caches.
func (f *fixture) reopen(tb testing.TB) *Codec {
	tb.Helper()
	kr, err := LoadKeyring(f.kr.Path())
	if err != nil {
		tb.Fatal(err)
	}
	store, err := OpenSubjectStore(f.dir, kr)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := NewCodec(kr, store)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func (f *fixture) encode(tb testing.TB, e *audit.Entry) []byte {
	tb.Helper()
	p, err := f.codec.Encode(e)
	if err != nil {
		tb.Fatalf("Encode: %v", err)
	}
	return p
}

func decode(tb testing.TB, c *Codec, p []byte) audit.Entry {
	tb.Helper()
	var e audit.Entry
	if err := c.Decode(p, &e); err != nil {
		tb.Fatalf("Decode: %v", err)
	}
	return e
}

var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.UTC)

// decisionEntry is a realistic decision: about 600 bytes as plain JSON
// (JSONCodec), 650 with a subject.
func decisionEntry(subject string) *audit.Entry {
	input := map[string]any{
		"method": "POST", "path": []string{"v1", "accounts", "8f14e45f", "transfers"},
		"user":      map[string]any{"id": "u-48213", "roles": []string{"teller", "branch-17"}, "mfa": true},
		"request":   map[string]any{"amount": 1250.75, "currency": "EUR", "destination": "DE89370400440532013000"},
		"source_ip": "10.24.3.17",
	}
	in, _ := json.Marshal(input)
	res, _ := json.Marshal(map[string]any{"allow": false, "reasons": []string{"amount exceeds teller limit"}})
	return &audit.Entry{
		Time: t0, Kind: audit.KindDecision, Type: "decision",
		DecisionID: "5f0c6a8e-3b1d-4a47-9d2e-7c1f0b8a9e31", Revision: "3e8f1c9a4b7d2e6f0a5c8b1d4e7f2a9c6b3d0e8f",
		Path: "payments/transfer/allow", Input: in, Result: res, Outcome: audit.OutcomeDeny, Defined: true,
		LatencyNS: 182_345, Caller: "spiffe://bank.example/ns/payments/sa/transfer-api", Subject: subject,
	}
}

func eventEntry() *audit.Entry {
	return &audit.Entry{
		Time: t0.Add(time.Second), Kind: audit.KindEvent, Type: audit.EventBundleActivation, Severity: "info",
		Revision: "3e8f1c9a", Message: "bundle activated",
		Attrs: map[string]string{"bundle": "payments", "etag": "W/\"abc\""},
	}
}

// grepDir lists files under dir whose name or content contains s.
func grepDir(tb testing.TB, dir, s string) []string {
	tb.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), s) {
			found = append(found, path)
		}
		if d.Type().IsRegular() {
			bs, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if bytes.Contains(bs, []byte(s)) {
				found = append(found, path)
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return found
}
