package config

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
)

// EnvVar describes one environment variable Belladonna reads. This registry is
// the only list of them: Load reads exactly these, EnvVars prints them, and no
// other package calls os.Getenv (modelled on cosign's pkg/cosign/env).
type EnvVar struct {
	// Name of the variable, always with the BELLADONNA_ prefix.
	Name string
	// Description says what the variable does.
	Description string
	// Expects describes an acceptable value.
	Expects string
	// Key is the belladonna.yaml key the variable overrides; empty when it
	// overrides none (BELLADONNA_CONFIG chooses the file itself).
	Key string
	// Sensitive variables hold secrets: their values never appear in messages
	// and must not be printed by commands that list the environment.
	Sensitive bool
}

// Names of the variables, for callers that mention one in help text.
const (
	EnvConfig     = "BELLADONNA_CONFIG"
	EnvAddr       = "BELLADONNA_ADDR"
	EnvDataDir    = "BELLADONNA_DATA_DIR"
	EnvLogLevel   = "BELLADONNA_LOG_LEVEL"
	EnvLogFormat  = "BELLADONNA_LOG_FORMAT"
	EnvTokensFile = "BELLADONNA_TOKENS_FILE"
	EnvFailOn     = "BELLADONNA_FAIL_ON"
)

// envVars is unexported so that nothing can change the registry at run time;
// EnvVars hands out a copy. None is sensitive today: BELLADONNA_TOKENS_FILE is
// a path, and the file holds digests, not tokens.
var envVars = []EnvVar{
	{
		Name:        EnvConfig,
		Description: "configuration file to read instead of ./belladonna.yaml; the --config flag wins over it",
		Expects:     "path to a YAML file, which must exist",
	},
	{
		Name:        EnvAddr,
		Description: "address the decision API listens on",
		Expects:     "host:port, e.g. 127.0.0.1:8181 or :8181",
		Key:         "server.addr",
	},
	{
		Name:        EnvDataDir,
		Description: "directory for state: the audit log and last-good bundles",
		Expects:     "directory path",
		Key:         "data_dir",
	},
	{
		Name:        EnvLogLevel,
		Description: "level of Belladonna's own logs",
		Expects:     "debug, info, warn or error",
		Key:         "log.level",
	},
	{
		Name:        EnvLogFormat,
		Description: "format of Belladonna's own logs",
		Expects:     "text or json",
		Key:         "log.format",
	},
	{
		Name:        EnvTokensFile,
		Description: "file of accepted bearer tokens, as SHA-256 hex digests one per line",
		Expects:     "file path",
		Key:         "server.authentication.tokens_file",
	},
	{
		Name:        EnvFailOn,
		Description: "lowest finding severity that makes `belladonna validate` fail",
		Expects:     "error, warning or info",
		Key:         "validate.fail_on",
	},
}

// EnvVars lists every environment variable Belladonna reads, in a stable
// order, for the README and the CLI's help.
func EnvVars() []EnvVar { return slices.Clone(envVars) }

// envByName returns the registry entry for name (the zero EnvVar if unknown).
func envByName(name string) EnvVar {
	for _, v := range envVars {
		if v.Name == name {
			return v
		}
	}
	return EnvVar{}
}

// applyEnv overrides keys from the environment. An empty value counts as
// unset, as most shells make "unset" and "set to nothing" hard to tell apart
// in CI templates. A value that does not fit the key's type is reported naming
// the variable; values of the right type are checked later by validate, which
// also names the variable through d.origins.
func (d *decoded) applyEnv(getenv func(string) (string, bool)) {
	root := reflect.ValueOf(&d.cfg).Elem()
	for _, ev := range envVars {
		if ev.Key == "" {
			continue
		}
		val, ok := getenv(ev.Name)
		if !ok || val == "" {
			continue
		}
		f := lookup(ev.Key)
		if msg := setString(root.FieldByIndex(f.index), val, ev.Sensitive); msg != "" {
			d.problems = append(d.problems, Problem{
				Env: ev.Name, Key: ev.Key, Message: ev.Key + ": " + msg, Err: ErrInvalidValue,
			})
			continue
		}
		d.origins[ev.Key] = origin{env: ev.Name}
	}
}

// setString converts an environment value to the field's type.
func setString(fv reflect.Value, s string, sensitive bool) string {
	got := strconv.Quote(s)
	if sensitive {
		got = "(value hidden: sensitive)"
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return "want true or false, got " + got
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(s, 10, fv.Type().Bits())
		if err != nil {
			return "want an integer, got " + got
		}
		fv.SetInt(i)
	case reflect.Float64:
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "want a number, got " + got
		}
		fv.SetFloat(x)
	default:
		// Lists have no environment variable; a test keeps it that way.
		return fmt.Sprintf("cannot be set from the environment (type %s)", fv.Type())
	}
	return ""
}
