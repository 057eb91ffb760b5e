package crypt

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
)

func TestRoundTrip(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		note string
		e    *audit.Entry
	}{
		{"decision without subject", decisionEntry("")},
		{"decision with subject", decisionEntry("alice@example.com")},
		{"event with attrs", eventEntry()},
		{"minimal", &audit.Entry{Time: t0, Kind: audit.KindEvent, Type: audit.EventRetention}},
		{"subject only sealed field", &audit.Entry{Time: t0, Kind: audit.KindEvent, Type: audit.EventIncident, Subject: "bob"}},
	}
	for _, tc := range cases {
		t.Run(tc.note, func(t *testing.T) {
			p := f.encode(t, tc.e)
			got := audit.Entry{Index: 42}
			if err := f.codec.Decode(p, &got); err != nil {
				t.Fatal(err)
			}
			want := *tc.e
			want.Index = 42 // Decode keeps the index the log set
			if !reflect.DeepEqual(got, want) {
				t.Errorf("round trip:\n got  %+v\n want %+v", got, want)
			}
			// And after a restart, from disk only.
			got = decode(t, f.reopen(t), p)
			want.Index = 0
			if !reflect.DeepEqual(got, want) {
				t.Errorf("after reopen:\n got  %+v\n want %+v", got, want)
			}
		})
	}
}

func TestPayloadIsCanonicalJSONWithPlainMeta(t *testing.T) {
	f := newFixture(t)
	e := decisionEntry("carol")
	p := f.encode(t, e)
	var env map[string]json.RawMessage
	if err := json.Unmarshal(p, &env); err != nil {
		t.Fatalf("payload is not JSON: %v", err)
	}
	var keys []string
	for k := range env {
		keys = append(keys, k)
	}
	if len(keys) != 7 {
		t.Errorf("members %v, want v kid salt skid ct sct meta", keys)
	}
	h, err := Inspect(p)
	if err != nil {
		t.Fatal(err)
	}
	if h.KeyID != f.kr.Active().ID || h.Meta.DecisionID != e.DecisionID || h.Meta.Outcome != audit.OutcomeDeny ||
		h.Meta.Path != e.Path || !h.Meta.Time.Equal(e.Time) || h.Meta.LatencyNS != e.LatencyNS {
		t.Errorf("Inspect = %+v", h)
	}
	skid, err := f.store.KeyID("carol")
	if err != nil || skid != h.SubjectKeyID {
		t.Errorf("KeyID(carol) = %q, %v; payload skid %q", skid, err, h.SubjectKeyID)
	}
	if h.Meta.Input != nil || h.Meta.Caller != "" || h.Meta.Subject != "" {
		t.Errorf("Inspect revealed sealed fields: %+v", h.Meta)
	}
}

func TestSensitiveFieldsNotInClear(t *testing.T) {
	f := newFixture(t)
	const subject = "dora.subject-7731@example.org"
	e := decisionEntry(subject)
	p := f.encode(t, e)
	plain := decisionEntry("")
	for _, secret := range []string{subject, "u-48213", "DE89370400440532013000", plain.Caller, "teller limit"} {
		if bytes.Contains(p, []byte(secret)) {
			t.Errorf("payload contains %q in clear", secret)
		}
	}
	// Nor does the subject store: file names and contents.
	found := grepDir(t, f.dir, subject)
	if len(found) > 0 {
		t.Errorf("subject id in clear in %v", found)
	}
	// And a payload without subject seals the same fields under the master key.
	p2 := f.encode(t, plain)
	if bytes.Contains(p2, []byte("u-48213")) || bytes.Contains(p2, []byte(plain.Caller)) {
		t.Error("sealed fields in clear in a payload without subject")
	}
}

func TestEveryEntryFieldIsClassified(t *testing.T) {
	// A field added to audit.Entry must be placed in metaFields (clear) or
	// sealedFields (encrypted) here, or it would be silently dropped.
	names := func(v any) map[string]bool {
		out := map[string]bool{}
		rt := reflect.TypeOf(v)
		for i := range rt.NumField() {
			out[strings.Split(rt.Field(i).Tag.Get("json"), ",")[0]] = true
		}
		return out
	}
	meta, sealed := names(metaFields{}), names(sealedFields{})
	notStored := map[string]bool{"index": true, "erased": true}
	for n := range names(audit.Entry{}) {
		count := 0
		for _, set := range []map[string]bool{meta, sealed, notStored} {
			if set[n] {
				count++
			}
		}
		if count != 1 {
			t.Errorf("audit.Entry field %q is in %d of meta/sealed/not-stored, want exactly 1", n, count)
		}
	}
}

func TestDecodeErrorLeavesEntryUntouched(t *testing.T) {
	f := newFixture(t)
	p := f.encode(t, decisionEntry("erin"))
	p[len(p)/2] ^= 1
	before := *eventEntry()
	got := before
	if err := f.codec.Decode(p, &got); err == nil {
		t.Fatal("Decode of a tampered payload succeeded")
	}
	if !reflect.DeepEqual(got, before) {
		t.Errorf("entry changed by failed Decode: %+v", got)
	}
}

func TestEncodeRefuses(t *testing.T) {
	f := newFixture(t)
	noStore, err := NewCodec(f.kr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noStore.Encode(decisionEntry("frank")); !errors.Is(err, ErrNoSubjectStore) {
		t.Errorf("subject without store: %v, want ErrNoSubjectStore", err)
	}
	if _, err := noStore.Encode(decisionEntry("")); err != nil {
		t.Errorf("no subject, no store: %v", err)
	}
	erased := decisionEntry("")
	erased.Erased = true
	if _, err := f.codec.Encode(erased); err == nil {
		t.Error("encoding an erased entry succeeded")
	}
	bad := decisionEntry("")
	bad.Input = json.RawMessage(`{"not json`)
	if _, err := f.codec.Encode(bad); err == nil {
		t.Error("encoding invalid JSON input succeeded")
	}
	if _, err := NewCodec(nil, nil); err == nil {
		t.Error("NewCodec(nil keyring) succeeded")
	}
}

func TestDataKeyEpochs(t *testing.T) {
	f := newFixture(t, WithDataKeyLimit(3))
	salts := map[string]int{}
	var payloads [][]byte
	for i := range 10 {
		e := decisionEntry("")
		if i%2 == 0 {
			e.Subject = "gina"
		}
		p := f.encode(t, e)
		payloads = append(payloads, p)
		var env map[string]json.RawMessage
		_ = json.Unmarshal(p, &env)
		salts[string(env["salt"])]++
	}
	if len(salts) != 4 {
		t.Errorf("%d salts for 10 entries at 3 per data key, want 4: %v", len(salts), salts)
	}
	c := f.reopen(t)
	for _, p := range payloads {
		decode(t, c, p)
	}
}

func TestConcurrentEncode(t *testing.T) {
	f := newFixture(t, WithDataKeyLimit(50))
	const workers, per = 16, 100
	payloads := make([][][]byte, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range per {
				e := decisionEntry("")
				switch i % 3 {
				case 0:
					e.Subject = fmt.Sprintf("shared-%d", i%7) // first use races across workers
				case 1:
					e.Subject = fmt.Sprintf("own-%d-%d", w, i%5)
				}
				e.LatencyNS = int64(w*per + i)
				p, err := f.codec.Encode(e)
				if err != nil {
					t.Error(err)
					return
				}
				payloads[w] = append(payloads[w], p)
				// Decode concurrently too.
				var got audit.Entry
				if err := f.codec.Decode(p, &got); err != nil || got.LatencyNS != e.LatencyNS || got.Subject != e.Subject {
					t.Errorf("decode in worker: %v %+v", err, got)
					return
				}
			}
		})
	}
	// A rotation in the middle of it all.
	wg.Go(func() {
		if _, err := f.kr.Rotate(); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()

	// One key per subject, despite the racing first uses.
	skids := map[string]map[string]bool{}
	c := f.reopen(t)
	for _, ps := range payloads {
		for _, p := range ps {
			e := decode(t, c, p)
			h, _ := Inspect(p)
			if e.Subject != "" {
				if skids[e.Subject] == nil {
					skids[e.Subject] = map[string]bool{}
				}
				skids[e.Subject][h.SubjectKeyID] = true
			}
		}
	}
	for s, ids := range skids {
		if len(ids) != 1 {
			t.Errorf("subject %q got %d keys, want 1", s, len(ids))
		}
	}
	if len(skids) != 7+workers*5 {
		t.Errorf("%d subjects, want %d", len(skids), 7+workers*5)
	}
}

func TestSecretsNeverPrinted(t *testing.T) {
	f := newFixture(t)
	f.encode(t, decisionEntry("hank"))
	var kf keyringFile
	bs, _ := readPrivate(f.kr.Path())
	if err := json.Unmarshal(bs, &kf); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	for _, h := range []slog.Handler{slog.NewTextHandler(&logs, nil), slog.NewJSONHandler(&logs, nil)} {
		slog.New(h).Info("x", "keyring", f.kr, "codec", f.codec, "store", f.store)
	}
	out := fmt.Sprintf("%v %+v %#v %s %v %+v %#v %v %+v %#v", f.kr, f.kr, f.kr, f.kr, f.codec, f.codec, f.codec, f.store, f.store, f.store) + logs.String()
	for _, k := range append([][]byte{kf.SubjectIndexKey}, kf.Keys[0].Key) {
		for _, enc := range []string{string(k), b64.EncodeToString(k), fmt.Sprintf("%x", k), fmt.Sprint(k)} {
			if strings.Contains(out, enc) {
				t.Fatalf("key material printed: %s", out)
			}
		}
	}
	if !strings.Contains(out, f.kr.Active().ID) {
		t.Errorf("print should name the active key: %s", out)
	}
}
