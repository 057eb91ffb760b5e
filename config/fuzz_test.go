package config

import (
	"errors"
	"os"
	"testing"
)

// FuzzParse checks Parse's contract on arbitrary input: it never panics, an
// error is always an *Error whose problems all have a message, and whatever
// parses also validates and converts to a map.
func FuzzParse(f *testing.F) {
	if data, err := os.ReadFile(examplePath); err == nil {
		f.Add(data)
	}
	for _, s := range []string{
		"",
		"---\n",
		"log:\n  level: debug\n",
		"server:\n  authentication:\n    mode: token\n    tokens_file: t\n",
		"server: {rate_limit: {enabled: true, requests_per_second: .inf, burst: 0}}",
		"a: &x {b: *x}\nlog: *x\n",
		"allow_legacy_tokens: true\ndecision_log: {console: true}\n",
		"validate:\n  rules: [a, [b], {c: d}]\n",
		"log:\n  level: [info\n",
		"a: 1\n---\nb: 2\n",
		"server:\n  max_request_bytes: 0x7fffffffffffffff\n",
		"<<: {log: {level: debug}}\n",
		"audit:\n  sinks:\n    - {name: s, type: syslog, address: \"h:514\", format: cef, tls: true, cert_file: c, key_file: k}\n    - {name: p, type: postgres, dsn: d, batch_size: 5, flush_interval: 2s}\n",
		"audit:\n  sinks: [a, ~, [b], {name: x, type: opa, url: \"http://h\", adress: y}, {<<: {}}]\n",
		"audit: {sinks: &s [{name: a, type: splunk, url: \"https://h\"}], retention: {types: [decision], max_age: 1h}}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "fuzz.yaml")
		if err != nil {
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("error is %T, not *Error: %v", err, err)
			}
			if len(e.Problems) == 0 || err.Error() == "" {
				t.Fatal("error without problems or message")
			}
			for _, p := range e.Problems {
				if p.Message == "" || p.Err == nil {
					t.Fatalf("incomplete problem %#v", p)
				}
			}
			return
		}
		if err := cfg.Check(); err != nil {
			t.Fatalf("Parse accepted a configuration that does not validate: %v", err)
		}
		_ = cfg.Map()
	})
}
