package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Which file Load reads. These tests change the working directory, so they do
// not run in parallel.
func TestLoadFileChoice(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	explicit := writeFile(t, "explicit.yaml", "log:\n  level: debug\n")
	fromEnv := writeFile(t, "env.yaml", "log:\n  level: warn\n")

	level := func(t *testing.T, path string, vars map[string]string) string {
		t.Helper()
		c, err := loadWith(path, env(vars))
		if err != nil {
			t.Fatal(err)
		}
		return c.Log.Level
	}

	// No file anywhere: defaults.
	if got := level(t, "", nil); got != "info" {
		t.Errorf("no file: level %q, want the default info", got)
	}
	if err := os.WriteFile(filepath.Join(dir, DefaultFile), []byte("log:\n  level: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := level(t, "", nil); got != "error" {
		t.Errorf("./belladonna.yaml: level %q, want error", got)
	}
	if got := level(t, "", map[string]string{EnvConfig: fromEnv}); got != "warn" {
		t.Errorf("$BELLADONNA_CONFIG: level %q, want warn (it wins over ./belladonna.yaml)", got)
	}
	if got := level(t, "", map[string]string{EnvConfig: ""}); got != "error" {
		t.Errorf("empty $BELLADONNA_CONFIG: level %q, want error from ./belladonna.yaml", got)
	}
	if got := level(t, explicit, map[string]string{EnvConfig: fromEnv}); got != "debug" {
		t.Errorf("explicit path: level %q, want debug (it wins over $BELLADONNA_CONFIG)", got)
	}

	// The public entry point reads the real environment.
	t.Setenv(EnvConfig, fromEnv)
	c, err := Load("")
	if err != nil || c.Log.Level != "warn" {
		t.Errorf("Load(\"\") with $BELLADONNA_CONFIG = %+v, %v", c.Log, err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "nope.yaml")
	for _, tc := range []struct {
		name string
		path string
		vars map[string]string
	}{
		{"explicit path", missing, nil},
		{"$BELLADONNA_CONFIG", "", map[string]string{EnvConfig: missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadWith(tc.path, env(tc.vars))
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("want fs.ErrNotExist, got %v", err)
			}
			if _, ok := errors.AsType[*Error](err); ok {
				t.Error("a missing file is not a content problem; want no *Error")
			}
		})
	}
}

// ./belladonna.yaml that exists but cannot be read is an error, not a silent
// fall back to defaults.
func TestLoadUnreadableDefaultFile(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.Symlink("does-not-exist.yaml", DefaultFile); err != nil {
		t.Fatal("creating a dangling symlink:", err)
	}
	if _, err := loadWith("", env(nil)); err == nil {
		t.Error("want an error for a dangling ./belladonna.yaml")
	}
}

func TestLoadReportsContentProblems(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "belladonna.yaml", "server:\n  authentcation: {}\n")
	c, err := loadWith(path, env(nil))
	ps := problemsOf(t, err)
	if ps[0].File != path || ps[0].Line != 2 || ps[0].Column != 3 {
		t.Errorf("problem %+v, want %s:2:3", ps[0], path)
	}
	if !reflect.DeepEqual(c, Config{}) {
		t.Errorf("on error Load returned %+v, want the zero Config", c)
	}
}

func TestFileResolution(t *testing.T) {
	env := func(v string) func(string) (string, bool) {
		return func(k string) (string, bool) {
			if k == EnvConfig && v != "" {
				return v, true
			}
			return "", false
		}
	}
	if got := resolveFile("given.yaml", env("env.yaml")); got != "given.yaml" {
		t.Errorf("explicit path: %q", got)
	}
	if got := resolveFile("", env("env.yaml")); got != "env.yaml" {
		t.Errorf("env: %q", got)
	}
	t.Chdir(t.TempDir())
	if got := resolveFile("", env("")); got != "" {
		t.Errorf("none: %q", got)
	}
}
