package crypt

import (
	"bytes"
	"context"
	"reflect"
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
)

// FuzzDecode: Decode never panics, never fills the entry on error, and
// accepts nothing but the exact payloads this run's keys sealed (the keys
// are fresh per run, so any other input that decodes is a forgery).
func FuzzDecode(f *testing.F) {
	fx := newFixture(f)
	var valid [][]byte
	for _, e := range []*audit.Entry{decisionEntry(""), decisionEntry("uma"), eventEntry(), decisionEntry("vera")} {
		valid = append(valid, fx.encode(f, e))
	}
	if _, err := fx.store.Erase(context.Background(), "vera"); err != nil {
		f.Fatal(err)
	}
	for _, p := range valid {
		f.Add(p)
	}
	f.Add([]byte(`{"v":1,"kid":"k1","salt":"AAAAAAAAAAAAAAAAAAAAAA==","ct":"","meta":{}}`))
	f.Add([]byte(`{"v":1,"kid":"k1","salt":"","skid":"s00000000000000000000000000000000","ct":"","sct":"","meta":{"time":1}}`))
	f.Add([]byte(`{"v":`))
	f.Add([]byte(`{}`))
	f.Add(mustJSON(f, decisionEntry("")))

	sentinel := *eventEntry()
	f.Fuzz(func(t *testing.T, p []byte) {
		e := sentinel
		err := fx.codec.Decode(p, &e)
		if err != nil {
			if !reflect.DeepEqual(e, sentinel) {
				t.Fatalf("failed Decode (%v) modified the entry", err)
			}
			return
		}
		for _, v := range valid {
			if bytes.Equal(p, v) {
				return
			}
		}
		t.Fatalf("Decode accepted a payload it did not seal: %q -> %+v", p, e)
	})
}

// FuzzInspect: the keyless parser never panics.
func FuzzInspect(f *testing.F) {
	fx := newFixture(f)
	f.Add(fx.encode(f, decisionEntry("wes")))
	f.Add([]byte(`{"v":1,"kid":"k","salt":"AAAAAAAAAAAAAAAAAAAAAA==","ct":"","meta":{}}`))
	f.Fuzz(func(t *testing.T, p []byte) {
		_, _ = Inspect(p)
	})
}
