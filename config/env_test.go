package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// env returns a getenv over a fixed map, standing in for the process environment.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestEnvOverrides(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "belladonna.yaml", "data_dir: /from/file\nlog:\n  level: warn\n  format: json\n")
	tests := []struct {
		name string
		vars map[string]string
		edit func(*Config)
	}{
		{"file only", nil, func(*Config) {}},
		{"every variable", map[string]string{
			EnvAddr:       "0.0.0.0:9000",
			EnvDataDir:    "/from/env",
			EnvLogLevel:   "debug",
			EnvLogFormat:  "text",
			EnvTokensFile: "/etc/tokens",
			EnvFailOn:     "warning",
		}, func(c *Config) {
			c.Server.Addr = "0.0.0.0:9000"
			c.DataDir = "/from/env"
			c.Log.Level = "debug"
			c.Log.Format = "text"
			c.Server.Authentication.TokensFile = "/etc/tokens"
			c.Validate.FailOn = "warning"
		}},
		{"empty value counts as unset", map[string]string{EnvLogLevel: "", EnvDataDir: ""}, func(*Config) {}},
		{"unrelated variables are ignored", map[string]string{"BELLADONNA_LOG_LEVL": "x", "HOME": "/root"}, func(*Config) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := Default()
			want.DataDir, want.Log.Level, want.Log.Format = "/from/file", "warn", "json"
			tc.edit(&want)
			got, err := loadWith(file, env(tc.vars))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// Validation runs after the environment, so a variable can override a file
// value that would not validate (as it would override a good one).
func TestEnvOverridesBadFileValue(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "b.yaml", "validate:\n  fail_on: nope\n")
	got, err := loadWith(file, env(map[string]string{EnvFailOn: "info"}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Validate.FailOn != "info" {
		t.Errorf("fail_on = %q, want info", got.Validate.FailOn)
	}
}

func TestEnvBadValues(t *testing.T) {
	t.Parallel()
	file := writeFile(t, "b.yaml", "validate:\n  fail_on: nope\n")
	tests := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{"log level", map[string]string{EnvLogLevel: "loud", EnvFailOn: "error"}, []string{
			`$BELLADONNA_LOG_LEVEL: log.level: want one of debug|info|warn|error, got "loud"`,
		}},
		{"log format", map[string]string{EnvLogFormat: "xml", EnvFailOn: "error"}, []string{
			`$BELLADONNA_LOG_FORMAT: log.format: want one of text|json, got "xml"`,
		}},
		{"addr", map[string]string{EnvAddr: "8181", EnvFailOn: "error"}, []string{
			`$BELLADONNA_ADDR: server.addr: want host:port or unix:///path, got "8181": address 8181: missing port in address`,
		}},
		// The file's problem and the variable's are reported together.
		{"file and env", map[string]string{EnvFailOn: "critical"}, []string{
			`$BELLADONNA_FAIL_ON: validate.fail_on: want one of error|warning|info, got "critical"`,
		}},
		{"file problem kept", map[string]string{EnvLogLevel: "loud"}, []string{
			`b.yaml:2:12: validate.fail_on: want one of error|warning|info, got "nope"`,
			`$BELLADONNA_LOG_LEVEL: log.level: want one of debug|info|warn|error, got "loud"`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadWith(file, env(tc.vars))
			problemsOf(t, err)
			if !errors.Is(err, ErrInvalidValue) {
				t.Error("errors.Is(err, ErrInvalidValue) = false")
			}
			// Messages name the file as given; drop the temporary directory.
			got := strings.Split(strings.ReplaceAll(err.Error(), filepath.Dir(file)+string(filepath.Separator), ""), "\n")
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("error lines:\n got: %q\nwant: %q", got, tc.want)
			}
		})
	}
}

// An environment problem is a Problem naming the variable, for callers that
// inspect rather than print.
func TestEnvProblemFields(t *testing.T) {
	t.Parallel()
	_, err := loadWith(writeFile(t, "b.yaml", ""), env(map[string]string{EnvLogLevel: "loud"}))
	ps := problemsOf(t, err)
	want := Problem{
		Env: EnvLogLevel, Key: "log.level",
		Message: `log.level: want one of debug|info|warn|error, got "loud"`, Err: ErrInvalidValue,
	}
	if len(ps) != 1 || ps[0] != want {
		t.Errorf("got %#v\nwant %#v", ps, want)
	}
}

// Variables of other types than string are converted and reported by name,
// and sensitive values never reach a message.
func TestSetString(t *testing.T) {
	t.Parallel()
	var c Config
	root := reflect.ValueOf(&c).Elem()
	tests := []struct {
		key, value string
		sensitive  bool
		want       string
	}{
		{"server.max_request_bytes", "2048", false, ""},
		{"server.max_request_bytes", "2k", false, `want an integer, got "2k"`},
		{"server.rate_limit.burst", "99999999999999999999", false, `want an integer, got "99999999999999999999"`},
		{"server.rate_limit.enabled", "true", false, ""},
		{"server.rate_limit.enabled", "on", false, `want true or false, got "on"`},
		{"server.rate_limit.requests_per_second", "2.5", false, ""},
		{"server.rate_limit.requests_per_second", "fast", true, `want a number, got (value hidden: sensitive)`},
		{"policies.paths", "a", false, `cannot be set from the environment (type []string)`},
	}
	for _, tc := range tests {
		if got := setString(root.FieldByIndex(lookup(tc.key).index), tc.value, tc.sensitive); got != tc.want {
			t.Errorf("setString(%s, %q) = %q, want %q", tc.key, tc.value, got, tc.want)
		}
	}
	if c.Server.MaxRequestBytes != 2048 || !c.Server.RateLimit.Enabled || c.Server.RateLimit.RequestsPerSecond != 2.5 {
		t.Errorf("values not set: %+v", c.Server)
	}
}

// The registry is the single, complete list: every entry is well formed and
// points at a real key that can take a string from the environment.
func TestEnvRegistry(t *testing.T) {
	t.Parallel()
	name := regexp.MustCompile(`^BELLADONNA_[A-Z0-9_]+$`)
	seen := map[string]bool{}
	for _, v := range EnvVars() {
		if !name.MatchString(v.Name) {
			t.Errorf("%q: name must be BELLADONNA_ and upper case", v.Name)
		}
		if seen[v.Name] {
			t.Errorf("%q registered twice", v.Name)
		}
		seen[v.Name] = true
		if v.Description == "" || v.Expects == "" {
			t.Errorf("%q: needs Description and Expects", v.Name)
		}
		if v.Key == "" {
			continue
		}
		f := lookup(v.Key)
		if f == nil {
			t.Errorf("%q: key %q does not exist", v.Name, v.Key)
			continue
		}
		if k := f.typ.Kind(); k == reflect.Struct || k == reflect.Slice {
			t.Errorf("%q: key %q cannot be set from a single string", v.Name, v.Key)
		}
	}
	for _, n := range []string{EnvConfig, EnvAddr, EnvDataDir, EnvLogLevel, EnvLogFormat, EnvTokensFile, EnvFailOn} {
		if !seen[n] {
			t.Errorf("%q is not registered", n)
		}
	}
	// EnvVars hands out a copy.
	EnvVars()[0].Name = "CHANGED"
	if EnvVars()[0].Name == "CHANGED" {
		t.Error("EnvVars exposes the registry itself")
	}
}
