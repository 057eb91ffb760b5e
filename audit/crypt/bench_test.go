package crypt

import (
	"testing"

	"github.com/belladonna-dev/belladonna/audit"
)

// The log targets 100k appends/s on 2 cores, so Encode must stay well under
// 5 µs. decisionEntry is about 600 bytes as plain JSON.

func BenchmarkEncode(b *testing.B) {
	for _, bc := range []struct {
		name    string
		subject string
	}{{"plain", ""}, {"subject", "xena@example.com"}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b)
			e := decisionEntry(bc.subject)
			f.encode(b, e) // create the subject key outside the loop
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.codec.Encode(e); err != nil {
					b.Fatal(err)
				}
			}
			// After the loop: b.Loop's first call resets reported metrics.
			plain, _ := audit.JSONCodec{}.Encode(e)
			b.ReportMetric(float64(len(plain)), "json-bytes")
			b.ReportMetric(float64(len(f.encode(b, e))), "payload-bytes")
		})
	}
}

func BenchmarkEncodeParallel(b *testing.B) {
	f := newFixture(b)
	e := decisionEntry("")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.codec.Encode(e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name    string
		subject string
		erase   bool
	}{{"plain", "", false}, {"subject", "yara@example.com", false}, {"erased", "zed@example.com", true}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixture(b)
			p := f.encode(b, decisionEntry(bc.subject))
			if bc.erase {
				if _, err := f.store.Erase(b.Context(), bc.subject); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			var e audit.Entry
			for b.Loop() {
				if err := f.codec.Decode(p, &e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkJSONCodec is the baseline: the plain codec the log uses without
// encryption.
func BenchmarkJSONCodec(b *testing.B) {
	e := decisionEntry("")
	p, _ := audit.JSONCodec{}.Encode(e)
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_, _ = audit.JSONCodec{}.Encode(e)
		}
	})
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		var out audit.Entry
		for b.Loop() {
			_ = audit.JSONCodec{}.Decode(p, &out)
		}
	})
}
