package impact

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/policyrepo"
)

// Change is one rule or data document added, removed or changed.
type Change struct {
	Kind      string `json:"kind"`   // rule or data
	Action    string `json:"action"` // added, removed, changed
	Path      string `json:"path"`   // security/authz/allow, or a data path
	Component string `json:"component"`
	File      string `json:"file,omitempty"`
}

// ruleDefs maps each rule (package path + name, "security/authz/allow") to
// the canonical text of all its definitions, and remembers where it lives.
type ruleDef struct {
	text      string
	file      string
	component string
	test      bool
}

func rules(s *side) map[string]ruleDef {
	out := map[string]ruleDef{}
	files := make([]string, 0, len(s.src.Modules))
	for f := range s.src.Modules {
		files = append(files, f)
	}
	slices.Sort(files)
	for _, f := range files {
		m := s.src.Modules[f]
		pkg := strings.TrimPrefix(m.Package.Path.String(), "data.")
		comp := fileComponent(f, s.src.Raw[f])
		for _, r := range m.Rules {
			name := ruleName(r)
			if name == "" {
				continue
			}
			key := strings.ReplaceAll(pkg, ".", "/") + "/" + name
			d := out[key]
			// Canonical text: formatting and comments do not count as change.
			r2 := r.Copy()
			r2.Location = nil
			d.text += r2.String() + "\n"
			d.file, d.component = f, comp
			d.test = strings.HasPrefix(name, "test_") || strings.HasSuffix(f, "_test.rego")
			out[key] = d
		}
	}
	return out
}

// ruleName is the ground part of a rule's head reference (allow, deny,
// decision.reasons), the path the rule defines under its package.
func ruleName(r *ast.Rule) string {
	ref := r.Head.Ref()
	var parts []string
	for i, t := range ref {
		switch v := t.Value.(type) {
		case ast.Var:
			if i > 0 {
				return strings.Join(parts, "/")
			}
			parts = append(parts, string(v))
		case ast.String:
			parts = append(parts, string(v))
		default:
			return strings.Join(parts, "/")
		}
	}
	return strings.Join(parts, "/")
}

func diffRules(base, head *side) []Change {
	a, b := rules(base), rules(head)
	var out []Change
	for k, ra := range a {
		if ra.test {
			continue
		}
		rb, ok := b[k]
		switch {
		case !ok:
			out = append(out, Change{Kind: "rule", Action: "removed", Path: k, Component: ra.component, File: ra.file})
		case ra.text != rb.text:
			out = append(out, Change{Kind: "rule", Action: "changed", Path: k, Component: rb.component, File: rb.file})
		}
	}
	for k, rb := range b {
		if _, ok := a[k]; !ok && !rb.test {
			out = append(out, Change{Kind: "rule", Action: "added", Path: k, Component: rb.component, File: rb.file})
		}
	}
	sortChanges(out)
	return out
}

// dataDepth is how deep data documents are compared key by key; below it a
// document is compared whole.
const dataDepth = 3

func diffData(base, head *side) []Change {
	a, b := map[string]string{}, map[string]string{}
	flatten(base.src.Data, "", 0, a)
	flatten(head.src.Data, "", 0, b)
	var out []Change
	for k, va := range a {
		vb, ok := b[k]
		switch {
		case !ok:
			out = append(out, Change{Kind: "data", Action: "removed", Path: k, Component: policyrepo.ComponentData})
		case va != vb:
			out = append(out, Change{Kind: "data", Action: "changed", Path: k, Component: policyrepo.ComponentData})
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, Change{Kind: "data", Action: "added", Path: k, Component: policyrepo.ComponentData})
		}
	}
	sortChanges(out)
	return out
}

func flatten(v any, prefix string, depth int, out map[string]string) {
	if m, ok := v.(map[string]any); ok && depth < dataDepth && len(m) > 0 {
		for k, sub := range m {
			p := k
			if prefix != "" {
				p = prefix + "/" + k
			}
			flatten(sub, p, depth+1, out)
		}
		return
	}
	if prefix == "" {
		return
	}
	b, _ := json.Marshal(v) // sorted map keys: canonical
	out[prefix] = string(b)
}

func sortChanges(cs []Change) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Component != cs[j].Component {
			return cs[i].Component < cs[j].Component
		}
		return cs[i].Path < cs[j].Path
	})
}
