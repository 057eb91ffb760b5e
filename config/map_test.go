package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestMapDefault(t *testing.T) {
	t.Parallel()
	want := map[string]any{
		"data_dir": "./belladonna-data",
		"log":      map[string]any{"level": "info", "format": "text"},
		"server": map[string]any{
			"addr":              "127.0.0.1:8181",
			"max_request_bytes": float64(1 << 20),
			"result_cache":      float64(100_000),
			"ext_authz":         map[string]any{"addr": "", "path": "envoy/authz/allow"},
			"authentication":    map[string]any{"mode": "none", "tokens_file": ""},
			"rate_limit":        map[string]any{"enabled": false, "requests_per_second": float64(1000), "burst": float64(2000)},
			"tls":               map[string]any{"cert_file": "", "key_file": "", "client_ca_file": ""},
		},
		"policies": map[string]any{"paths": []any{}, "v0_compatible": false},
		"audit": map[string]any{"enabled": true, "tamper_evident": true, "mask": []any{"/input/token", "/input/api_key", "/input/password", "/input/headers/authorization"},
			"decisions": "all", "sample_rate": 0.1, "on_failure": "closed", "checkpoint_key_file": "", "checkpoint_kms_key": "",
			"retention":   map[string]any{"max_age": "", "max_bytes": float64(0), "types": []any{}, "archive_dir": "", "interval": "1h"},
			"encryption":  map[string]any{"enabled": false, "keyring_file": "", "subjects_dir": ""},
			"correlation": map[string]any{"enabled": false, "rules": []any{}},
			"sinks":       []any{},
		},
		"validate":   map[string]any{"fail_on": "error", "rules": []any{}, "disable": []any{}, "baseline": ""},
		"repository": map[string]any{"protected_branches": []any{}},
		"bundles": map[string]any{"source": "", "name": "", "token_file": "", "registry_username": "", "ca_file": "", "cert_file": "",
			"key_file": "", "verification_key": "", "key_id": "", "scope": "", "attestation_key": "", "repository": "", "branch": "",
			"min_delay": "10s", "max_delay": "60s", "long_poll": "", "timeout": "30s", "max_age": "", "status_url": "",
			"status_interval": "30s", "edge_id": ""},
	}
	if got := Default().Map(); !reflect.DeepEqual(got, want) {
		t.Errorf("Default().Map():\n got %#v\nwant %#v", got, want)
	}
}

// Map is exactly what encoding/json gives back for the Config, lists aside
// (Map never has a null list), so rules see the shape they would see from
// any JSON source.
func TestMapIsJSONShaped(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Policies.Paths = []string{"a", "b"}
	c.Validate.Rules = []string{"r"}
	c.Validate.Disable = []string{}
	c.Server.RateLimit.RequestsPerSecond = 12.5
	c.Audit.Retention.Types = []string{"decision"}
	c.Audit.Correlation.Rules = []string{}
	c.Audit.Sinks = []AuditSink{
		{Name: "siem", Type: "syslog", Address: "siem:514", Format: "cef", TLS: true, BatchSize: 10},
		{Name: "pg", Type: "postgres", DSN: "postgres://db/audit", FlushInterval: "2s"},
	}
	c.Repository.ProtectedBranches = []ProtectedBranch{{Pattern: "release/*", Approvals: 2, KeysDir: "k"}}
	raw, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if got := c.Map(); !reflect.DeepEqual(got, want) {
		t.Errorf("Map():\n got %#v\nwant %#v", got, want)
	}
}

// The json tags are what other packages marshal Config with; they must name
// keys as the YAML does.
func TestJSONTagsMatchYAML(t *testing.T) {
	t.Parallel()
	var check func(sec *field)
	check = func(sec *field) {
		for _, f := range sec.all() {
			sf := sec.typ.FieldByIndex(f.index)
			jsonName, _, _ := strings.Cut(sf.Tag.Get("json"), ",")
			if jsonName != f.name {
				t.Errorf("%s: json tag %q, yaml tag %q", f.path, jsonName, f.name)
			}
			if f.item != nil {
				check(f.item)
			}
		}
	}
	check(schema)
}

// A list of sections renders as a list of maps, keyed as in the YAML, with
// the item's numbers as float64.
func TestMapListOfSections(t *testing.T) {
	t.Parallel()
	c := Default()
	c.Audit.Sinks = []AuditSink{{Name: "s", Type: "splunk", URL: "https://h", Gzip: true, BatchSize: 3}}
	sinks, ok := c.Map()["audit"].(map[string]any)["sinks"].([]any)
	if !ok || len(sinks) != 1 {
		t.Fatalf("audit.sinks = %#v", c.Map()["audit"].(map[string]any)["sinks"])
	}
	item := sinks[0].(map[string]any)
	if item["name"] != "s" || item["url"] != "https://h" || item["gzip"] != true || item["batch_size"] != float64(3) || item["dsn"] != "" {
		t.Errorf("item = %#v", item)
	}
	if len(item) != len(schema.child("audit").child("sinks").item.children) {
		t.Errorf("item has %d keys, want one per field", len(item))
	}
}
