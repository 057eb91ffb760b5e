package validators

import (
	"slices"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// inputParams is what BuildInput needs beyond the loaded source.
type inputParams struct {
	config     map[string]any
	configFile string
	compiled   bool
	probes     map[string]any // nil when the tree did not compile
	probeErrs  map[string]any
	popts      ast.ParserOptions
}

// buildInput assembles the document validator rules receive as input:
//
//	{
//	  "config":      the Belladonna configuration (config.Config.Map()),
//	  "config_file": path of the configuration file, "" when none,
//	  "compiled":    whether every module parsed and compiled,
//	  "files":       every loaded policy/data file path (also those that failed to parse),
//	  "builtins":    names of OPA built-in functions (non-infix),
//	  "data":        the merged data documents,
//	  "probes":      {"syscall_exec_tmp": decision, "syscall_exec_dev_shm": decision}
//	                 (absent key: data.syscall.decision undefined; whole object absent
//	                 when the tree did not compile),
//	  "probe_errors": {probe name: evaluation error},
//	  "modules": [{
//	    "file", "dir",           path and directory, forward slashes
//	    "rel_dir":               directory components relative to the PATH argument
//	    "package", "package_parts", "package_line"   ("security.authz", no "data.")
//	    "is_test":               file name ends in _test.rego
//	    "rego_version":          "v0" | "v1"
//	    "formatted":             opa fmt would leave the file unchanged (absent if unknown)
//	    "lines", "line_count":   source lines
//	    "metadata":              package/subpackages METADATA: {title, description, custom, ..., line}
//	    "annotations":           every METADATA block: [{scope, title, ..., line}]
//	    "imports":   [{path, parts, alias, name, line}]
//	    "rules":     [{name, head_ref, leaf, kind: complete|partial_set|partial_object|function,
//	                   default, default_value, value, args, annotated, line, col}]
//	    "exprs":     [{rule, line, op, negated, operands: [{type, text, wildcard}]}]
//	    "calls":     [{name, rule, line}]   function calls, not infix operators
//	    "vars":      [{name, rule, line}]   declared local variables
//	    "comments":  [{line, text}]
//	  }]
//	}
func buildInput(src *source, p inputParams) map[string]any {
	cfg := p.config
	if cfg == nil {
		cfg = map[string]any{}
	}
	names := make([]string, 0, len(src.modules))
	for n := range src.modules {
		names = append(names, n)
	}
	slices.Sort(names)
	mods := make([]any, 0, len(names))
	for _, n := range names {
		mods = append(mods, summarizeModule(n, src.relDir[n], src.modules[n], src.raw[n], p.popts))
	}
	in := map[string]any{
		"config":       cfg,
		"config_file":  p.configFile,
		"compiled":     p.compiled,
		"files":        stringsToAny(src.files),
		"builtins":     builtinNames(),
		"data":         src.data,
		"modules":      mods,
		"probe_errors": p.probeErrs,
	}
	if p.probes != nil {
		in["probes"] = p.probes
	}
	if p.probeErrs == nil {
		in["probe_errors"] = map[string]any{}
	}
	return in
}

// builtinNames lists the built-in functions a rule could shadow: plain names
// only, since a rule name cannot contain a dot, and no infix operators.
func builtinNames() []any {
	var out []string
	for _, b := range ast.CapabilitiesForThisVersion().Builtins {
		if b.Infix == "" && !strings.Contains(b.Name, ".") {
			out = append(out, b.Name)
		}
	}
	slices.Sort(out)
	return stringsToAny(slices.Compact(out))
}
