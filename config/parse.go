package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse decodes the content of a belladonna.yaml strictly, on top of Default(),
// and validates the result. name is used in messages, normally the file's path.
//
// Empty content, or content holding only comments, gives Default(). On failure
// Parse returns the zero Config and an *Error listing every problem found:
// invalid YAML or more than one document (ErrSyntax), unknown keys
// (ErrUnknownKey), removed keys (ErrRemovedKey), values of the wrong type and
// values that fail validation (ErrInvalidValue). Parse does not read the
// environment; Load does.
func Parse(data []byte, name string) (Config, error) {
	d := decode(data, name)
	d.validate()
	return d.result()
}

// origin is where a key's final value came from, so that validation, which
// runs after the file and the environment have both been applied, can point at
// the right line or variable.
type origin struct {
	line, col int
	env       string // set when an environment variable supplied the value
}

// decoded is a configuration being assembled, with its provenance and the
// problems found so far.
type decoded struct {
	file     string
	cfg      Config
	origins  map[string]origin // by dotted key path
	problems []Problem
	// mistyped holds the keys whose value had the wrong type, and sections
	// that used a merge key; validation skips them (see badValue).
	mistyped map[string]bool
	// misspelt holds the keys suggested for unknown keys; validation does
	// not report them as missing (see unknown).
	misspelt map[string]bool
}

func decode(data []byte, name string) *decoded {
	d := &decoded{file: name, cfg: Default(), origins: map[string]origin{}}
	if top := d.document(data); top != nil {
		d.section(top, schema, "", reflect.ValueOf(&d.cfg).Elem())
	}
	return d
}

// result returns the configuration, or an *Error when anything was wrong.
func (d *decoded) result() (Config, error) {
	if len(d.problems) == 0 {
		return d.cfg, nil
	}
	ps := d.problems
	sortProblems(ps)
	if len(ps) > maxProblems {
		more := len(ps) - maxProblems
		ps = append(ps[:maxProblems:maxProblems], Problem{
			File:    d.file,
			Message: fmt.Sprintf("%d more problems not shown", more),
			Err:     ps[maxProblems].Err,
		})
	}
	return Config{}, &Error{Problems: ps}
}

// add records a problem at node n (nil for none).
func (d *decoded) add(n *yaml.Node, key string, sentinel error, format string, args ...any) {
	p := Problem{File: d.file, Key: key, Message: fmt.Sprintf(format, args...), Err: sentinel}
	if n != nil {
		p.Line, p.Column = n.Line, n.Column
	}
	d.problems = append(d.problems, p)
}

// yamlLine matches yaml.v3's error text, which carries the line only as text.
var yamlLine = regexp.MustCompile(`(?s)^yaml: line (\d+): (.*)$`)

// document returns the top node of the single document in data, or nil when
// there is nothing to decode (empty or comment-only content, a lone "---" or
// "~", or an error already recorded).
func (d *decoded) document(data []byte) (top *yaml.Node) {
	defer func() {
		// yaml.v3 has panicked on malformed input before (CVE-2022-28948); a
		// configuration file must never crash the process that reads it.
		if r := recover(); r != nil {
			top = nil
			d.add(nil, "", ErrSyntax, "invalid YAML: %v", r)
		}
	}()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntax(err)
		}
		return nil
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		// Two documents would mean two configurations; guessing which one
		// counts (first? merged?) is exactly the silent behaviour to avoid.
		d.add(&next, "", ErrSyntax, "a second YAML document starts here; the configuration must be a single document")
		return nil
	case !errors.Is(err, io.EOF):
		d.syntax(err)
		return nil
	}
	if len(doc.Content) == 0 {
		return nil
	}
	return doc.Content[0]
}

// parserProblems are yaml.v3's parser messages, as opposed to its scanner's.
// NOTE(config): for these, yaml.v3 v3.0.1 prints the 0-based line of the
// construct being parsed (decode.go, parser.fail adds 1 for scanner errors
// only), so they are shifted here to agree with every other line we report.
// TestParseProblems pins one of each kind, to notice if yaml.v3 changes.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

func (d *decoded) syntax(err error) {
	p := Problem{File: d.file, Message: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: "), Err: ErrSyntax}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		if parserProblems[m[2]] {
			p.Line++
		}
		p.Message = "invalid YAML: " + m[2]
	}
	d.problems = append(d.problems, p)
}
