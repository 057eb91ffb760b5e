package validators

import (
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
)

// ignoreDirective is the comment that silences rules on one line, like
// Regal's "# regal ignore:rule":
//
//	# belladonna:ignore style/line-length, todo-comment
//	allow if { ... }
//
// It applies to the line it is on (as a trailing comment) and to the next line.
const ignoreDirective = "belladonna:ignore"

// parseIgnoreDirective reads the rule names from one comment's text (without
// the leading #). ok is false when the comment is not a directive; a
// directive without names silences every rule on its line.
func parseIgnoreDirective(text string) (names []string, ok bool) {
	text = strings.TrimSpace(text)
	rest, found := strings.CutPrefix(text, ignoreDirective)
	if !found {
		return nil, false
	}
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != ':' {
		return nil, false // belladonna:ignored, belladonna:ignore-file: not ours
	}
	rest = strings.TrimPrefix(rest, ":")
	// Anything after " -- " is a justification, as in nolint comments.
	if i := strings.Index(rest, "--"); i >= 0 {
		rest = rest[:i]
	}
	for _, f := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		names = append(names, f)
	}
	return names, true
}

// ignores maps file -> line -> rule names silenced there ("*" for all).
type ignores map[string]map[int][]string

func collectIgnores(modules map[string]*ast.Module) ignores {
	out := ignores{}
	for file, m := range modules {
		for _, c := range m.Comments {
			names, ok := parseIgnoreDirective(string(c.Text))
			if !ok || c.Location == nil {
				continue
			}
			if len(names) == 0 {
				names = []string{"*"}
			}
			if out[file] == nil {
				out[file] = map[int][]string{}
			}
			for _, line := range []int{c.Location.Row, c.Location.Row + 1} {
				out[file][line] = append(out[file][line], names...)
			}
		}
	}
	return out
}

// ignored reports whether a directive silences f. Names match a rule id, the
// rule's name without its category, or the category.
func (ig ignores) ignored(f Finding) bool {
	if f.Line == 0 {
		return false
	}
	for _, n := range ig[f.File][f.Line] {
		if n == "*" || n == f.Rule {
			return true
		}
		if cat, name, ok := strings.Cut(f.Rule, "/"); ok && (n == name || n == cat) {
			return true
		}
	}
	return false
}
