package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// DefaultFile is the file Load reads when no path is given and
// $BELLADONNA_CONFIG is unset, relative to the working directory.
const DefaultFile = "belladonna.yaml"

// Load returns the configuration: Default(), then the file, then the
// environment variables listed by EnvVars, then validation.
//
// The file is path when it is not empty, else $BELLADONNA_CONFIG when set,
// else ./belladonna.yaml when it exists; with none of these Load uses the
// defaults (plus the environment). A file that was named explicitly (by path
// or $BELLADONNA_CONFIG) must exist: the error then wraps fs.ErrNotExist.
// Problems with the content or with environment values are returned together
// as an *Error.
func Load(path string) (Config, error) {
	return loadWith(path, os.LookupEnv)
}

// File returns the configuration file Load(path) reads: path, else
// $BELLADONNA_CONFIG, else ./belladonna.yaml when it exists; "" when none.
// Tools use it to point findings about the configuration at the file.
func File(path string) string {
	return resolveFile(path, os.LookupEnv)
}

func resolveFile(path string, getenv func(string) (string, bool)) string {
	if path != "" {
		return path
	}
	if v, ok := getenv(EnvConfig); ok && v != "" {
		return v
	}
	if _, err := os.Lstat(DefaultFile); err == nil {
		return DefaultFile
	}
	return ""
}

// loadWith is Load with the environment passed in, so tests need not touch the
// process environment (and can run in parallel).
func loadWith(path string, getenv func(string) (string, bool)) (Config, error) {
	if path == "" {
		if v, ok := getenv(EnvConfig); ok && v != "" {
			path = v
		}
	}
	if path == "" {
		switch _, err := os.Lstat(DefaultFile); {
		case err == nil:
			path = DefaultFile
		case !errors.Is(err, fs.ErrNotExist):
			// Present but unreadable (permissions, a broken symlink...):
			// falling back to defaults would ignore the user's settings.
			return Config{}, fmt.Errorf("reading configuration: %w", err)
		}
	}

	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return Config{}, fmt.Errorf("reading configuration: %w", err)
		}
	}
	d := decode(data, path)
	d.applyEnv(getenv)
	d.validate()
	return d.result()
}
