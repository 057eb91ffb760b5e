package validators

import (
	"io"
	"io/fs"
	"log/slog"
	"time"
)

// DefaultTimeout bounds one Rego test, as opa test's --timeout default does.
const DefaultTimeout = 5 * time.Second

// Options configure Validate and Test. Build them with NewOptions, which sets
// the defaults, then override fields.
type Options struct {
	// Paths are the files and directories to load; empty means ".".
	Paths []string
	// V0Compatible parses modules as Rego v0, like opa's --v0-compatible.
	V0Compatible bool

	// Config is the Belladonna configuration as a JSON-shaped map
	// (config.Config.Map()); rules read it as input.config.
	Config map[string]any
	// ConfigFile names the configuration file, so that findings about the
	// configuration can point at it. Empty when none was read.
	ConfigFile string

	// RulesFS holds the shipped validator rules; nil means rules.FS. Tests
	// swap it for a small set.
	RulesFS fs.FS
	// RuleDirs are extra directories of validator rules (--rules).
	RuleDirs []string
	// Disable lists rule ids ("style/line-length"), rule names
	// ("line-length") or categories ("style") not to run.
	Disable []string

	// SkipTests skips the Rego tests (Validate only).
	SkipTests bool
	// Run is a regular expression selecting tests, like opa test --run.
	Run string
	// Timeout bounds each test; zero means DefaultTimeout.
	Timeout time.Duration
	// Verbose keeps print output and traces of failed tests.
	Verbose bool
	// Coverage computes test coverage; a Threshold above zero implies it.
	Coverage  bool
	Threshold float64

	// FailOn is the lowest severity that makes Result.Failed true; zero means
	// SeverityError.
	FailOn Severity
	// Baseline is a baseline file whose findings are not reported.
	Baseline string
	// WriteBaseline, when set, receives the current findings as a baseline.
	WriteBaseline string

	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
	// Progress, when set, receives progress lines for large repositories. Set
	// it only to a terminal (see IsTerminal): the lines use \r.
	Progress io.Writer
}

// NewOptions returns the defaults: the current directory, error as fail-on,
// the default test timeout.
func NewOptions() Options {
	return Options{
		Paths:   []string{"."},
		Timeout: DefaultTimeout,
		FailOn:  SeverityError,
	}
}

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}
