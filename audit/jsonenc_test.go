package audit

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func stdEncode(t testing.TB, e *Entry) []byte {
	cp := *e
	cp.Index = 0
	bs, err := json.Marshal(&cp)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func TestEncodeMatchesEncodingJSON(t *testing.T) {
	full := decisionEntry(7)
	full.Time = time.Date(2026, 11, 25, 12, 0, 0, 123456789, time.UTC)
	full.Subject, full.Message, full.Error = "ålice \"q\" <x> & \u2028", "line\nbreak\ttab\x01", "boom"
	full.Attrs = map[string]string{"b": "2", "a": "1"}
	full.Severity, full.Erased = "high", true
	for _, e := range []*Entry{full, {Kind: KindEvent, Type: EventIncident, Time: time.Unix(0, 0).UTC()},
		{Kind: KindDecision, Input: json.RawMessage("{ \"a\" : [1, 2] }"), Time: time.Now()},
		{Message: "bad utf8 \xff\xfe end"}} {
		got, err := JSONCodec{}.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if want := stdEncode(t, e); !bytes.Equal(got, want) {
			t.Errorf("encode mismatch:\n got %s\nwant %s", got, want)
		}
	}
	if _, err := (JSONCodec{}).Encode(&Entry{Input: json.RawMessage(`{"a":`)}); err == nil {
		t.Fatal("invalid input JSON accepted")
	}
}

func FuzzEncodeMatchesEncodingJSON(f *testing.F) {
	f.Add("msg", "subj", `{"a":1}`, "k", "v")
	f.Add("\x00\xff<>&\u2028", "", `[1, 2 ]`, "", "")
	f.Fuzz(func(t *testing.T, msg, subj, input, k, v string) {
		e := &Entry{Kind: KindDecision, Type: "decision", Message: msg, Subject: subj, Time: time.Unix(1, 2).UTC()}
		if json.Valid([]byte(input)) {
			e.Input = json.RawMessage(input)
		}
		if k != "" {
			e.Attrs = map[string]string{k: v}
		}
		got, err := JSONCodec{}.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		if want := stdEncode(t, e); !bytes.Equal(got, want) {
			t.Fatalf("encode mismatch:\n got %s\nwant %s", got, want)
		}
	})
}
