package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/util"
	"github.com/spf13/cobra"

	"github.com/belladonna-dev/belladonna/engine"
)

type evalParams struct {
	data         []string
	bundles      []string
	inputFile    string
	stdinInput   bool
	format       string
	fail         bool
	failDefined  bool
	v0Compatible bool
}

var evalFormats = []string{"json", "raw", "pretty"}

func newEvalCommand(g *globalParams, stdout io.Writer) *cobra.Command {
	p := &evalParams{}
	cmd := &cobra.Command{
		Use:   "eval QUERY",
		Short: "Evaluate a Rego query ad hoc, as 'opa eval'",
		Long: `Evaluate a Rego query against policies and data, as 'opa eval' does, with
the same -d/-b/-i flags and the same JSON output. Modules are compiled in
strict mode.`,
		Example: `  belladonna eval -d policies/ -i input.json data.security.authz.allow
  belladonna eval -d policies/ -I --format raw 'data.syscall.decision' < event.json
  belladonna eval --fail -d policies/ -i input.json data.security.authz.allow   # exit 1 when undefined`,
		Args: cobra.ExactArgs(1),
		PreRunE: func(*cobra.Command, []string) error {
			return p.validate()
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return evalQuery(cmd.Context(), args[0], p, stdout)
		},
	}
	fs := cmd.Flags()
	addDataFlag(fs, &p.data)
	addBundleFlag(fs, &p.bundles)
	fs.StringVarP(&p.inputFile, "input", "i", "", "input file (JSON or YAML)")
	fs.BoolVarP(&p.stdinInput, "stdin-input", "I", false, "read the input document from stdin")
	fs.StringVarP(&p.format, "format", "f", "json", "output format: json|raw|pretty")
	fs.BoolVar(&p.fail, "fail", false, "exit 1 when the result is undefined (or empty)")
	fs.BoolVar(&p.failDefined, "fail-defined", false, "exit 1 when the result is defined")
	addV0CompatibleFlag(fs, &p.v0Compatible)
	return cmd
}

func (p *evalParams) validate() error {
	if !slices.Contains(evalFormats, p.format) {
		return usageError(fmt.Errorf("unknown --format %q: want one of %v", p.format, evalFormats))
	}
	if p.inputFile != "" && p.stdinInput {
		return usageError(errors.New("--input and --stdin-input are mutually exclusive"))
	}
	if p.fail && p.failDefined {
		return usageError(errors.New("--fail and --fail-defined are mutually exclusive"))
	}
	return nil
}

func evalQuery(ctx context.Context, query string, p *evalParams, stdout io.Writer) error {
	input, err := p.readInput()
	if err != nil {
		return usageError(err)
	}
	rv := ast.RegoV1
	if p.v0Compatible {
		rv = ast.RegoV0
	}
	src, err := loadEvalSource(p.data, p.bundles, rv)
	if err != nil {
		return usageError(err)
	}
	st, err := engine.Compile(ctx, src, engine.CompileOptions{RegoVersion: rv, Topdown: true}) // one query: planning would cost more than it saves
	if err != nil {
		return usageError(err)
	}
	rs, err := st.Query(ctx, query, input)
	if err != nil {
		return usageError(err)
	}
	if err := writeEvalResult(stdout, p.format, rs); err != nil {
		return err
	}
	defined := len(rs) > 0
	switch {
	case p.fail && !defined:
		return findingsError(nil)
	case p.failDefined && defined:
		return findingsError(nil)
	}
	return nil
}

// loadEvalSource loads -d paths as OPA's loader does and -b paths as bundles.
func loadEvalSource(data, bundles []string, rv ast.RegoVersion) (*engine.Source, error) {
	src := &engine.Source{Data: map[string]any{}}
	if len(data) > 0 {
		s, err := engine.LoadPaths(data, engine.LoadOptions{RegoVersion: rv})
		if err != nil {
			return nil, err
		}
		src = s
	}
	if len(bundles) > 0 {
		b, err := engine.LoadPaths(bundles, engine.LoadOptions{RegoVersion: rv, AsBundles: true})
		if err != nil {
			return nil, err
		}
		if err := src.Merge(b); err != nil {
			return nil, err
		}
	}
	return src, nil
}

func (p *evalParams) readInput() (any, error) {
	var bs []byte
	var err error
	switch {
	case p.inputFile != "":
		if bs, err = os.ReadFile(p.inputFile); err != nil {
			return nil, fmt.Errorf("reading input: %w", err)
		}
	case p.stdinInput:
		if bs, err = io.ReadAll(os.Stdin); err != nil {
			return nil, fmt.Errorf("reading input from stdin: %w", err)
		}
	default:
		return nil, nil
	}
	var v any
	// util.Unmarshal accepts JSON and YAML, as opa eval -i does.
	if err := util.Unmarshal(bs, &v); err != nil {
		name := p.inputFile
		if name == "" {
			name = "stdin"
		}
		return nil, fmt.Errorf("input %s is not valid JSON or YAML: %w", name, err)
	}
	return v, nil
}

// writeEvalResult prints like opa eval: json is {"result": [...]} ({} when
// undefined), raw each value (strings unquoted), pretty each value indented.
func writeEvalResult(w io.Writer, format string, rs rego.ResultSet) error {
	enc := json.NewEncoder(w)
	switch format {
	case "json":
		enc.SetIndent("", "  ")
		out := struct {
			Result rego.ResultSet `json:"result,omitempty"`
		}{rs}
		return enc.Encode(out)
	default:
		// Values are for people here; JSON output keeps OPA's escaping.
		enc.SetEscapeHTML(false)
		if format == "pretty" {
			enc.SetIndent("", "  ")
		}
		if len(rs) == 0 {
			if format == "pretty" {
				_, err := fmt.Fprintln(w, "undefined")
				return err
			}
			return nil
		}
		for _, r := range rs {
			for _, e := range r.Expressions {
				if str, ok := e.Value.(string); ok && format == "raw" {
					if _, err := fmt.Fprintln(w, str); err != nil {
						return err
					}
					continue
				}
				if err := enc.Encode(e.Value); err != nil {
					return err
				}
			}
		}
		return nil
	}
}
