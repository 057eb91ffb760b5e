package crypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
)

func TestTamperedPayloads(t *testing.T) {
	f := newFixture(t)
	k1 := f.kr.Active().ID
	plain := f.encode(t, decisionEntry(""))
	subj := f.encode(t, decisionEntry("sam"))
	other := f.encode(t, decisionEntry("tess"))
	if _, err := f.kr.Rotate(); err != nil {
		t.Fatal(err)
	}
	k2 := f.kr.Active().ID
	plain2 := f.encode(t, decisionEntry(""))

	get := func(p []byte, member string) string {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatal(err)
		}
		return string(m[member])
	}
	swap := func(p []byte, member, val string) []byte {
		return bytes.Replace(p, []byte(`"`+member+`":`+get(p, member)), []byte(`"`+member+`":`+val), 1)
	}
	flip := func(p []byte, member string) []byte {
		q := bytes.Clone(p)
		i := bytes.Index(q, []byte(`"`+member+`":"`)) + len(member) + 8
		if q[i] == 'A' {
			q[i] = 'B'
		} else {
			q[i] = 'A'
		}
		return q
	}
	cases := []struct {
		note    string
		payload []byte
		want    error
		kid     string // key the error must name, if any
	}{
		{"ct bit flip", flip(plain, "ct"), ErrAuthFailed, k1},
		{"sct bit flip", flip(subj, "sct"), ErrAuthFailed, k1}, // the master part binds sct
		{"salt changed", flip(plain, "salt"), ErrAuthFailed, k1},
		{"kid swapped to the other real key", swap(plain, "kid", `"`+k2+`"`), ErrAuthFailed, k2},
		{"kid swapped, newer entry", swap(plain2, "kid", `"`+k1+`"`), ErrAuthFailed, k1},
		{"kid unknown", swap(plain, "kid", `"k9-00000000"`), ErrUnknownKey, "k9-00000000"},
		{"meta outcome edited", bytes.Replace(plain, []byte(`"outcome":"deny"`), []byte(`"outcome":"allow"`), 1), ErrAuthFailed, k1},
		{"meta time edited", bytes.Replace(plain, []byte(`2026-03-14`), []byte(`2026-03-15`), 1), ErrAuthFailed, k1},
		{"skid swapped to another subject", swap(subj, "skid", get(other, "skid")), ErrAuthFailed, k1},
		{"sct taken from another entry", swap(subj, "sct", get(other, "sct")), ErrAuthFailed, k1},
		{"ct taken from another entry", swap(plain, "ct", get(plain2, "ct")), ErrAuthFailed, k1},
		{"subject part dropped", bytes.Replace(swap(subj, "sct", `""`), []byte(`,"skid":`+get(subj, "skid")), nil, 1), ErrMalformed, ""},
		{"whitespace added", bytes.Replace(plain, []byte(`,"ct"`), []byte(`, "ct"`), 1), ErrMalformed, ""},
		{"member added", bytes.Replace(plain, []byte(`,"ct"`), []byte(`,"x":1,"ct"`), 1), ErrMalformed, ""},
		{"version 2", bytes.Replace(plain, []byte(`{"v":1`), []byte(`{"v":2`), 1), ErrUnsupportedVersion, ""},
		{"version 01", bytes.Replace(plain, []byte(`{"v":1`), []byte(`{"v":01`), 1), ErrMalformed, ""},
		{"base64 with newline", bytes.Replace(plain, []byte(`"ct":"`), []byte("\"ct\":\"\n"), 1), ErrMalformed, ""},
		{"last byte cut", plain[:len(plain)-1], ErrAuthFailed, k1}, // meta then lacks its brace
		{"cut in the header", plain[:40], ErrMalformed, ""},
		{"plain JSON codec payload", mustJSON(t, decisionEntry("")), ErrMalformed, ""},
		{"empty", nil, ErrMalformed, ""},
		{"skid path traversal", swap(subj, "skid", `"s../../../../etc/passwd0000000000"`), ErrMalformed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.note, func(t *testing.T) {
			if bytes.Equal(tc.payload, plain) || bytes.Equal(tc.payload, subj) || bytes.Equal(tc.payload, plain2) {
				t.Fatal("test bug: payload not modified")
			}
			var e audit.Entry
			err := f.codec.Decode(tc.payload, &e)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode: %v, want %v", err, tc.want)
			}
			if tc.kid != "" {
				assertKeyError(t, err, tc.want, tc.kid)
			}
			if !isZero(e) {
				t.Errorf("failed Decode filled the entry: %+v", e)
			}
		})
	}
	// Error texts name keys, never payload or key bytes.
	err := f.codec.Decode(flip(plain, "ct"), &audit.Entry{})
	if strings.Contains(err.Error(), get(plain, "ct")[1:20]) {
		t.Errorf("error quotes ciphertext: %v", err)
	}
}

func mustJSON(tb testing.TB, e *audit.Entry) []byte {
	p, err := audit.JSONCodec{}.Encode(e)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

func isZero(e audit.Entry) bool {
	return e.Time.IsZero() && e.Kind == "" && e.Input == nil && e.Subject == "" && !e.Erased && e.DecisionID == ""
}
