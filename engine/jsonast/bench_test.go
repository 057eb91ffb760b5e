package jsonast

import (
	"testing"
)

// benchLarge is a ~1 KB authorization request of the shape policies see:
// nested objects, arrays of strings, numbers, a few escapes.
const benchLarge = `{
  "input": {
    "method": "POST",
    "path": ["v1", "tenants", "acme-corp", "projects", "p-8821", "deployments"],
    "headers": {
      "content-type": "application/json",
      "user-agent": "belladonna-cli/1.4.2",
      "x-request-id": "9f1c2b7e-4d3a-4b8e-a1f0-6c2d9e8b7a65",
      "x-forwarded-for": "10.12.4.7"
    },
    "user": {
      "id": "u-20931",
      "name": "Alice O'Hara",
      "email": "alice@example.com",
      "roles": ["developer", "reviewer", "on-call"],
      "groups": ["eng", "eng/platform", "eng/platform/sre"],
      "mfa": true,
      "session_age_seconds": 5421,
      "risk_score": 0.125
    },
    "resource": {
      "kind": "deployment",
      "namespace": "prod-eu-west-1",
      "labels": {"app": "billing-api", "tier": "backend", "team": "payments"},
      "replicas": 6,
      "cpu_limit": 1.50,
      "memory_limit_bytes": 2147483648,
      "images": ["registry.example.com/billing-api:2.31.0", "sidecar:1.9.4"]
    },
    "context": {
      "time": "2024-05-17T09:31:27Z",
      "ip": "203.0.113.42",
      "note": "approved by \"change-board\" \u2014 ticket #4471",
      "dry_run": false,
      "previous": null
    }
  }
}`

// benchSmall is a ~150 byte request.
const benchSmall = `{"method":"GET","path":["v1","data","users","alice"],"user":{"name":"alice","roles":["admin","dev"]},"mfa":true,"age":5421,"ratio":0.5,"tenant":"acme"}`

var sink any

func benchmarkParse(b *testing.B, doc string) {
	in := []byte(doc)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := Parse(in)
		if err != nil {
			b.Fatal(err)
		}
		sink = v
	}
}

func benchmarkReference(b *testing.B, doc string) {
	in := []byte(doc)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		v, err := reference(in)
		if err != nil {
			b.Fatal(err)
		}
		sink = v
	}
}

func BenchmarkParse(b *testing.B) {
	b.Run("1KB", func(b *testing.B) { benchmarkParse(b, benchLarge) })
	b.Run("150B", func(b *testing.B) { benchmarkParse(b, benchSmall) })
}

func BenchmarkReference(b *testing.B) {
	b.Run("1KB", func(b *testing.B) { benchmarkReference(b, benchLarge) })
	b.Run("150B", func(b *testing.B) { benchmarkReference(b, benchSmall) })
}
