// Package report renders a validators.Result in the formats CI systems read:
// text for people, json (with a JSON Schema in schema/), sarif for code
// scanning, junit for test dashboards, github for workflow annotations. One
// Reporter per format, one file per format; New rejects unknown names so that
// a typo in --format fails at flag parsing instead of printing something else.
package report

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/belladonna-dev/belladonna/internal/version"
	"github.com/belladonna-dev/belladonna/validators"
)

// Reporter writes a result in one format.
type Reporter interface {
	Report(w io.Writer, r *validators.Result) error
}

// Format names.
const (
	FormatText   = "text"
	FormatJSON   = "json"
	FormatSARIF  = "sarif"
	FormatJUnit  = "junit"
	FormatGitHub = "github"
)

// ErrUnknownFormat is wrapped by New for names it does not know.
var ErrUnknownFormat = errors.New("unknown format")

// Formats lists every format name.
func Formats() []string {
	return []string{FormatText, FormatJSON, FormatSARIF, FormatJUnit, FormatGitHub}
}

// Color says when the text format colours severities.
type Color int

const (
	ColorAuto   Color = iota // when the writer is a terminal
	ColorAlways              // for tests and forced colour
	ColorNever               // --no-color
)

type options struct {
	color       Color
	verbose     bool
	toolVersion string
}

// Option adjusts a Reporter.
type Option func(*options)

// WithColor sets when severities are coloured (text only).
func WithColor(c Color) Option { return func(o *options) { o.color = c } }

// WithVerbose lists every test, not only failures, with print output and
// traces (text only; the machine formats always carry every test).
func WithVerbose(v bool) Option { return func(o *options) { o.verbose = v } }

// WithToolVersion overrides the version reports name (golden tests pin it).
func WithToolVersion(v string) Option { return func(o *options) { o.toolVersion = v } }

// New returns the Reporter for a format name.
func New(name string, opts ...Option) (Reporter, error) {
	o := options{toolVersion: version.Version}
	for _, opt := range opts {
		opt(&o)
	}
	switch name {
	case FormatText:
		return &textReporter{opts: o}, nil
	case FormatJSON:
		return &jsonReporter{opts: o}, nil
	case FormatSARIF:
		return &sarifReporter{opts: o}, nil
	case FormatJUnit:
		return &junitReporter{opts: o}, nil
	case FormatGitHub:
		return &githubReporter{opts: o}, nil
	}
	return nil, fmt.Errorf("%w %q: want one of %s", ErrUnknownFormat, name, strings.Join(Formats(), ", "))
}

// IsFormat reports whether name is a known format.
func IsFormat(name string) bool { return slices.Contains(Formats(), name) }

// anchor returns where a finding is reported in formats that need a location
// for every result (SARIF): its file, or for findings about the repository as
// a whole (and about the configuration when no config file was read) the first
// PATH argument. GitHub code scanning rejects a whole SARIF file if one result
// has no location.
func anchor(r *validators.Result, f validators.Finding) string {
	if f.File != "" {
		return f.File
	}
	if len(r.Paths) > 0 {
		return strings.TrimSuffix(r.Paths[0], "/")
	}
	return "."
}
