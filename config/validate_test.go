package config

import (
	"errors"
	"math"
	"testing"
)

func TestValidateFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string // nil: valid
	}{
		{"log level", "log:\n  level: trace\n", []string{`f.yaml:2:10: log.level: want one of debug|info|warn|error, got "trace"`}},
		{"log level is case sensitive", "log:\n  level: INFO\n", []string{`f.yaml:2:10: log.level: want one of debug|info|warn|error, got "INFO"`}},
		{"log format", "log:\n  format: xml\n", []string{`f.yaml:2:11: log.format: want one of text|json, got "xml"`}},
		{"empty data dir", "data_dir: \"\"\n", []string{`f.yaml:1:11: data_dir: must not be empty`}},
		{"addr without port", "server:\n  addr: localhost\n", []string{`f.yaml:2:9: server.addr: want host:port or unix:///path, got "localhost": address localhost: missing port in address`}},
		{"addr with named port", "server:\n  addr: \"localhost:http\"\n", []string{`f.yaml:2:9: server.addr: want host:port or unix:///path, got "localhost:http": port "http" is not a number from 0 to 65535`}},
		{"addr port too big", "server:\n  addr: \":70000\"\n", []string{`f.yaml:2:9: server.addr: want host:port or unix:///path, got ":70000": port "70000" is not a number from 0 to 65535`}},
		{"addr any interface", "server:\n  addr: \":8181\"\n", nil},
		{"addr ipv6", "server:\n  addr: \"[::1]:8181\"\n", nil},
		{"zero request size", "server:\n  max_request_bytes: 0\n", []string{`f.yaml:2:22: server.max_request_bytes: must be greater than 0, got 0`}},
		{"negative request size", "server:\n  max_request_bytes: -1\n", []string{`f.yaml:2:22: server.max_request_bytes: must be greater than 0, got -1`}},
		{"auth mode", "server:\n  authentication:\n    mode: basic\n", []string{`f.yaml:3:11: server.authentication.mode: want one of none|token, got "basic"`}},
		{"token without tokens file", "server:\n  authentication:\n    mode: token\n", []string{`f.yaml:3:11: server.authentication.tokens_file: required when server.authentication.mode is token`}},
		{"token with empty tokens file", "server:\n  authentication:\n    mode: token\n    tokens_file: \"\"\n", []string{`f.yaml:4:18: server.authentication.tokens_file: required when server.authentication.mode is token`}},
		{"token with tokens file", "server:\n  authentication:\n    mode: token\n    tokens_file: t\n", nil},
		{"rate limit zero rate", "server:\n  rate_limit:\n    enabled: true\n    requests_per_second: 0\n", []string{`f.yaml:4:26: server.rate_limit.requests_per_second: must be greater than 0 when server.rate_limit.enabled is true, got 0`}},
		{"rate limit zero burst", "server:\n  rate_limit:\n    enabled: true\n    burst: 0\n", []string{`f.yaml:4:12: server.rate_limit.burst: must be at least 1 when server.rate_limit.enabled is true, got 0`}},
		{"rate limit disabled ignores zeroes", "server:\n  rate_limit:\n    requests_per_second: 0\n    burst: 0\n", nil},
		{"rate limit infinite", "server:\n  rate_limit:\n    requests_per_second: .inf\n", []string{`f.yaml:3:26: server.rate_limit.requests_per_second: must be a finite number, got +Inf`}},
		{"rate limit NaN", "server:\n  rate_limit:\n    requests_per_second: .nan\n", []string{`f.yaml:3:26: server.rate_limit.requests_per_second: must be a finite number, got NaN`}},
		{"tls cert without key", "server:\n  tls:\n    cert_file: c\n", []string{`f.yaml:3:16: server.tls.key_file: required when server.tls.cert_file is set`}},
		{"tls key without cert", "server:\n  tls:\n    key_file: k\n", []string{`f.yaml:3:15: server.tls.cert_file: required when server.tls.key_file is set`}},
		{"tls client ca without cert", "server:\n  tls:\n    client_ca_file: ca\n", []string{`f.yaml:3:21: server.tls.client_ca_file: requires server.tls.cert_file and server.tls.key_file`}},
		{"kms key and key file", "audit:\n  checkpoint_key_file: k.pem\n  checkpoint_kms_key: hashivault://k\n", []string{`f.yaml:3:23: audit.checkpoint_kms_key: set one of audit.checkpoint_key_file and audit.checkpoint_kms_key, not both`}},
		{"kms key not a URI", "audit:\n  checkpoint_kms_key: mykey\n", []string{`f.yaml:2:23: audit.checkpoint_kms_key: want a KMS URI such as hashivault://KEY or awskms:///ARN, got "mykey"`}},
		{"kms key", "audit:\n  checkpoint_kms_key: awskms:///arn:aws:kms:eu-west-1:1:key/abc\n", nil},
		{"fail_on", "validate:\n  fail_on: warn\n", []string{`f.yaml:2:12: validate.fail_on: want one of error|warning|info, got "warn"`}},
		{"fail_on info", "validate:\n  fail_on: info\n", nil},
		{"retention valid", "audit:\n  retention:\n    max_age: 720h\n    max_bytes: 1000\n    types: [decision, torn_tail]\n    archive_dir: a\n    interval: 10m\n", nil},
		{"retention interval may be empty", "audit:\n  retention:\n    interval: \"\"\n", nil},
		{"retention max_age not a duration", "audit:\n  retention:\n    max_age: 30d\n", []string{`f.yaml:3:14: audit.retention.max_age: want a Go duration such as "90s" or "720h", got "30d"`}},
		{"retention max_age negative", "audit:\n  retention:\n    max_age: -1h\n", []string{`f.yaml:3:14: audit.retention.max_age: must be greater than 0, got "-1h"`}},
		{"retention interval zero", "audit:\n  retention:\n    interval: 0s\n", []string{`f.yaml:3:15: audit.retention.interval: must be greater than 0, got "0s"`}},
		{"retention negative size", "audit:\n  retention:\n    max_bytes: -1\n", []string{`f.yaml:3:16: audit.retention.max_bytes: must not be negative, got -1`}},
		{"retention unknown entry type", "audit:\n  retention:\n    types: [decision, decisions, Incident]\n", []string{
			`f.yaml:3:12: audit.retention.types[1]: want an entry type (decision, bundle_activation, signature_failure, config_change, rollback, approval, ebpf_alert, retention, erasure, incident, key_rotation, torn_tail), got "decisions"`,
			`f.yaml:3:12: audit.retention.types[2]: want an entry type (decision, bundle_activation, signature_failure, config_change, rollback, approval, ebpf_alert, retention, erasure, incident, key_rotation, torn_tail), got "Incident"`,
		}},
		{"encryption and correlation only need their types", "audit:\n  encryption: {enabled: true, keyring_file: k, subjects_dir: s}\n  correlation: {enabled: true, rules: [r]}\n", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tc.yaml), "f.yaml")
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				return
			}
			wantLines(t, err, tc.want...)
			if !errors.Is(err, ErrInvalidValue) {
				t.Error("errors.Is(err, ErrInvalidValue) = false")
			}
		})
	}
}

// Check validates values set in code (after flags), without positions.
func TestCheck(t *testing.T) {
	t.Parallel()
	if err := Default().Check(); err != nil {
		t.Fatalf("Default() is invalid: %v", err)
	}
	c := Default()
	c.Log.Level = "verbose"
	c.Server.RateLimit = RateLimit{Enabled: true, RequestsPerSecond: math.Inf(1), Burst: -1}
	c.Audit.Retention = Retention{MaxAge: "1y", Types: []string{"x"}}
	wantLines(t, c.Check(),
		`log.level: want one of debug|info|warn|error, got "verbose"`,
		`server.rate_limit.requests_per_second: must be a finite number, got +Inf`,
		`server.rate_limit.burst: must be at least 1 when server.rate_limit.enabled is true, got -1`,
		`audit.retention.max_age: want a Go duration such as "90s" or "720h", got "1y"`,
		`audit.retention.types[0]: want an entry type (decision, bundle_activation, signature_failure, config_change, rollback, approval, ebpf_alert, retention, erasure, incident, key_rotation, torn_tail), got "x"`,
	)
}
