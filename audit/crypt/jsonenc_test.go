package crypt

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

// The hand-written appenders must mean what json.Marshal of metaFields and
// sealedFields means: same values after json.Unmarshal.
func TestAppendersMatchEncodingJSON(t *testing.T) {
	odd := &audit.Entry{
		Time: time.Date(1999, 12, 31, 23, 59, 59, 0, time.FixedZone("X", 5*3600+1800)), Kind: "k\"ind", Type: "t\\ype\n",
		Severity: "<b>&amp;</b>", DecisionID: "\x00\x1f\x7f", Revision: "héllo \u2028 wörld 😀", Path: "bad utf8 \xff\xfe end",
		Outcome: "tab\there", Defined: true, LatencyNS: -42,
		Input: json.RawMessage(" {\"a\" : [1, 2.5e-3, -0, true, false, null, \"x\\u00e9\\\"\"] }\n"), Result: json.RawMessage(`"s"`),
		Caller: "c", Subject: "s\u0001", Message: "m\r\n", Error: "e", Attrs: map[string]string{"k\"": "v\\", "": "", "ü": "\xff"},
	}
	for _, e := range []*audit.Entry{decisionEntry("someone"), eventEntry(), odd, {}} {
		meta, err := appendMeta(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := appendSealed(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		m, s := metaOf(e), sealedOf(e)
		wantMeta, _ := json.Marshal(&m)
		wantSealed, _ := json.Marshal(&s)
		sameJSON(t, meta, wantMeta, &metaFields{}, &metaFields{})
		sameJSON(t, sealed, wantSealed, &sealedFields{}, &sealedFields{})
	}
}

func sameJSON(tb testing.TB, got, want []byte, gotV, wantV any) {
	tb.Helper()
	if err := json.Unmarshal(got, gotV); err != nil {
		tb.Fatalf("appender output is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal(want, wantV); err != nil {
		tb.Fatal(err)
	}
	if !reflect.DeepEqual(gotV, wantV) {
		tb.Errorf("appender:\n got  %s\n want %s", got, want)
	}
}

func TestAppendMetaRejectsUnmarshalableTime(t *testing.T) {
	e := eventEntry()
	e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := appendMeta(nil, e); err == nil {
		t.Error("year 10000 accepted")
	}
}

func TestCompactJSONDepthLimit(t *testing.T) {
	for _, n := range []int{maxJSONDepth, maxJSONDepth + 1} {
		src := []byte(strings.Repeat("[", n) + strings.Repeat("]", n))
		_, err := appendCompactJSON(nil, src)
		if (err == nil) != json.Valid(src) {
			t.Errorf("depth %d: err %v, json.Valid %v", n, err, json.Valid(src))
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "\"\\\n\r\t\x00\x1f", "é😀", "\xff", "\u2028<>&", "a\xed\xa0\x80b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := appendString(nil, s)
		want, _ := json.Marshal(s)
		var g, w string
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("appendString(%q) = %s: not JSON: %v", s, got, err)
		}
		_ = json.Unmarshal(want, &w)
		if g != w {
			t.Fatalf("appendString(%q) reads back %q, json.Marshal %q", s, g, w)
		}
	})
}

func FuzzAppendCompactJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[]`, ` {"a": [1, -0.5e+10, "x\u00e9\"", true, false, null]} `, `01`, `1.`, `-`, `"\x"`,
		"\"\x01\"", `{"a":1,}`, `[1 2]`, `"\ud83d\ude00"`, "\"\xff\"", `1e5`, `{"a"}`, ``, `nul`, `[1,]`, `"a"b`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		got, err := appendCompactJSON([]byte("prefix"), src)
		if valid := json.Valid(src); (err == nil) != valid {
			t.Fatalf("appendCompactJSON(%q): err %v, json.Valid %v", src, err, valid)
		}
		if err != nil {
			return
		}
		var want bytes.Buffer
		want.WriteString("prefix")
		if err := json.Compact(&want, src); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("appendCompactJSON(%q) = %q, json.Compact %q", src, got, want.Bytes())
		}
	})
}

func metaOf(e *audit.Entry) metaFields {
	return metaFields{Time: e.Time, Kind: e.Kind, Type: e.Type, Severity: e.Severity, DecisionID: e.DecisionID,
		Revision: e.Revision, Path: e.Path, Outcome: e.Outcome, Defined: e.Defined, LatencyNS: e.LatencyNS}
}

func sealedOf(e *audit.Entry) sealedFields {
	return sealedFields{Input: e.Input, Result: e.Result, Caller: e.Caller, Subject: e.Subject,
		Message: e.Message, Error: e.Error, Attrs: e.Attrs}
}

// FuzzReaders: what the appenders write, readMeta/readSealed read back as
// json.Unmarshal would; and on arbitrary bytes they never panic and never
// accept what json.Unmarshal reads differently.
func FuzzReaders(f *testing.F) {
	f.Add("decision", "a\"b\\c\n", "é😀\xff", []byte(`{"a":[1,2]}`), int64(-5), true, []byte(`{"time":"2026-01-01T00:00:00Z","kind":"x"}`))
	f.Add("", "", "", []byte(`null`), int64(0), false, []byte(`{"input":{"a":1},"attrs":{"k":"v"}}`))
	f.Add("x", "", "", []byte(` [1 , 2] `), int64(1), false, []byte(`{"input":[1, {"b" : 2} ],"attrs":{"k":"v"},"attrs":{"l":"w"},"caller":"c"}`))
	f.Fuzz(func(t *testing.T, s1, s2, s3 string, raw []byte, n int64, b bool, arbitrary []byte) {
		e := &audit.Entry{
			Time: t0.Add(time.Duration(n)), Kind: audit.Kind(s1), Type: s2, Severity: s3, DecisionID: s1 + s2,
			Revision: s3, Path: s2, Outcome: s1, Defined: b, LatencyNS: n,
			Caller: s1, Subject: s2, Message: s3, Error: s1 + s3, Attrs: map[string]string{s1: s2, s3: s1},
		}
		if json.Valid(raw) {
			e.Input, e.Result = raw, raw
		}
		meta, err := appendMeta(nil, e)
		if err != nil {
			return // time out of range
		}
		sealed, err := appendSealed(nil, e)
		if err != nil {
			t.Fatal(err)
		}
		var gotM, gotS audit.Entry
		if err := readMeta(meta, &gotM); err != nil {
			t.Fatalf("readMeta(%s): %v", meta, err)
		}
		if err := readSealed(sealed, &gotS); err != nil {
			t.Fatalf("readSealed(%s): %v", sealed, err)
		}
		var wantM metaFields
		var wantS sealedFields
		if err := json.Unmarshal(meta, &wantM); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(sealed, &wantS); err != nil {
			t.Fatal(err)
		}
		if m := metaOf(&gotM); !reflect.DeepEqual(m, wantM) {
			t.Fatalf("readMeta(%s):\n got  %+v\n want %+v", meta, m, wantM)
		}
		if s := sealedOf(&gotS); !reflect.DeepEqual(s, wantS) {
			t.Fatalf("readSealed(%s):\n got  %+v\n want %+v", sealed, s, wantS)
		}

		// Arbitrary input: no panic; success only where encoding/json agrees.
		var am audit.Entry
		if readMeta(arbitrary, &am) == nil {
			var w metaFields
			if err := json.Unmarshal(arbitrary, &w); err != nil || !reflect.DeepEqual(metaOf(&am), w) {
				t.Fatalf("readMeta accepted %q as %+v; json.Unmarshal: %+v, %v", arbitrary, metaOf(&am), w, err)
			}
		}
		var as audit.Entry
		if readSealed(arbitrary, &as) == nil {
			var w sealedFields
			if err := json.Unmarshal(arbitrary, &w); err != nil || !reflect.DeepEqual(sealedOf(&as), w) {
				t.Fatalf("readSealed accepted %q as %+v; json.Unmarshal: %+v, %v", arbitrary, sealedOf(&as), w, err)
			}
		}
	})
}
