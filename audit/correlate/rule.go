package correlate

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/prometheus/client_golang/prometheus"
)

// Rule describes one loaded correlation rule, as its METADATA declares it.
type Rule struct {
	// Name is the last part of the package, correlate.<name>; it labels
	// metrics and the incident's "rule" attribute.
	Name        string
	Title       string
	Description string
	// Severity of the incidents the rule raises unless the incident says
	// otherwise: critical|high|medium|low|info (default medium).
	Severity string
	// Window is how far back, in entry time, the rule sees (custom.window).
	Window time.Duration
	// Cooldown is how long a group stays quiet after the rule fired for it
	// (custom.cooldown, default Window).
	Cooldown time.Duration
	// GroupBy lists the fields whose first non-empty value keys the window
	// (custom.group_by); empty means one global window.
	GroupBy []string
	// Match restricts the entries the rule sees: field -> accepted values
	// (custom.match); entries that fail it enter no window of this rule.
	Match map[string][]string
	// File is the module that carries the METADATA.
	File string
}

// Severities an incident may carry, most severe first.
var Severities = []string{"critical", "high", "medium", "low", "info"}

const defaultSeverity = "medium"

// Keys allowed under custom in a rule's METADATA.
const (
	customSeverity = "severity"
	customWindow   = "window"
	customCooldown = "cooldown"
	customGroupBy  = "group_by"
	customMatch    = "match"
	// component is informational: the repository's metadata lint asks every
	// Rego package for one.
	customComponent = "component"
)

var customKeys = []string{customSeverity, customWindow, customCooldown, customGroupBy, customMatch, customComponent}

var ruleName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

type fieldKindT uint8

const (
	fieldKind fieldKindT = iota + 1
	fieldType
	fieldSeverity
	fieldOutcome
	fieldPath
	fieldRevision
	fieldCaller
	fieldSubject
	fieldAttr
)

// fieldRef is a field of an entry that group_by and match may name.
type fieldRef struct {
	name string
	kind fieldKindT
	attr string // for attrs.<key>
}

var namedFields = map[string]fieldKindT{
	"kind":     fieldKind,
	"type":     fieldType,
	"severity": fieldSeverity,
	"outcome":  fieldOutcome,
	"path":     fieldPath,
	"revision": fieldRevision,
	"caller":   fieldCaller,
	"subject":  fieldSubject,
}

// fieldNames is the list for error messages.
const fieldNames = "kind, type, severity, outcome, path, revision, caller, subject, attrs.<key>"

func parseField(s string) (fieldRef, error) {
	if k, ok := namedFields[s]; ok {
		return fieldRef{name: s, kind: k}, nil
	}
	if a, ok := strings.CutPrefix(s, "attrs."); ok && a != "" {
		return fieldRef{name: s, kind: fieldAttr, attr: a}, nil
	}
	return fieldRef{}, fmt.Errorf("unknown field %q (known: %s)", s, fieldNames)
}

// matcher accepts an entry whose field has one of values. The lists are
// short, so a linear scan beats a map.
type matcher struct {
	field  fieldRef
	values []string
}

// rule is a loaded rule with its prepared query and its windows.
type rule struct {
	Rule
	groupBy []fieldRef
	match   []matcher // subject last: it may need the input parsed
	query   rego.PreparedEvalQuery

	groups     map[string]*group
	head, tail *group // most and least recently touched
	bytes      int64  // approximate memory of all windows

	mIncidents, mErrors, mEvictGroups, mEvictEntries, mEvictBytes prometheus.Counter
}

// ruleFromAnnotations reads a rule's package METADATA. Every problem is
// reported at the METADATA block's location.
func ruleFromAnnotations(name, file string, a *ast.Annotations) (*rule, []Problem) {
	var probs []Problem
	loc := a.Location
	bad := func(format string, args ...any) {
		probs = append(probs, problemAt(loc, CodeMetadata, "rule %s: "+format, append([]any{name}, args...)...))
	}
	r := &rule{Rule: Rule{
		Name:        name,
		Title:       a.Title,
		Description: strings.TrimSpace(a.Description),
		Severity:    defaultSeverity,
		File:        file,
	}, groups: map[string]*group{}}
	if r.Title == "" {
		bad("METADATA needs a title")
	}
	for k := range a.Custom {
		if !slices.Contains(customKeys, k) {
			bad("unknown key custom.%s (known: %s)", k, strings.Join(customKeys, ", "))
		}
	}
	if c, ok := a.Custom[customComponent]; ok {
		if _, isStr := c.(string); !isStr {
			bad("custom.component: want a string, got %v", c)
		}
	}
	if s, ok := a.Custom[customSeverity]; ok {
		str, _ := s.(string)
		if !slices.Contains(Severities, str) {
			bad("custom.severity: want one of %s, got %v", strings.Join(Severities, ", "), s)
		} else {
			r.Severity = str
		}
	}
	if w, ok := a.Custom[customWindow]; !ok {
		bad("METADATA needs custom.window (a duration such as 5m)")
	} else if d, err := parsePositiveDuration(w); err != nil {
		bad("custom.window: %v", err)
	} else {
		r.Window = d
	}
	r.Cooldown = r.Window
	if c, ok := a.Custom[customCooldown]; ok {
		d, err := parseDuration(c)
		if err != nil {
			bad("custom.cooldown: %v", err)
		}
		r.Cooldown = d
	}
	if g, ok := a.Custom[customGroupBy]; ok {
		fields, err := stringList(g)
		if err != nil {
			bad("custom.group_by: %v", err)
		}
		for _, f := range fields {
			if f == "" {
				continue // "" is the explicit global window
			}
			ref, err := parseField(f)
			if err != nil {
				bad("custom.group_by: %v", err)
				continue
			}
			r.groupBy = append(r.groupBy, ref)
			r.GroupBy = append(r.GroupBy, f)
		}
	}
	if m, ok := a.Custom[customMatch]; ok {
		obj, isObj := m.(map[string]any)
		if !isObj {
			bad("custom.match: want an object of field: value(s), got %T", m)
		}
		r.Match = map[string][]string{}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			ref, err := parseField(k)
			if err != nil {
				bad("custom.match: %v", err)
				continue
			}
			vals, err := stringList(obj[k])
			if err != nil || len(vals) == 0 {
				bad("custom.match.%s: want a string or a non-empty list of strings", k)
				continue
			}
			r.Match[k] = vals
			r.match = append(r.match, matcher{field: ref, values: vals})
		}
		slices.SortStableFunc(r.match, func(x, y matcher) int {
			return boolCmp(x.field.kind == fieldSubject, y.field.kind == fieldSubject)
		})
	}
	return r, probs
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	default:
		return -1
	}
}

func parseDuration(v any) (time.Duration, error) {
	s, ok := v.(string)
	if !ok {
		return 0, fmt.Errorf("want a duration such as 30s or 5m, got %v", v)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration such as 30s or 5m, got %q", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("want a duration of zero or more, got %q", s)
	}
	return d, nil
}

func parsePositiveDuration(v any) (time.Duration, error) {
	d, err := parseDuration(v)
	if err == nil && d == 0 {
		err = fmt.Errorf("want a duration greater than zero, got %v", v)
	}
	return d, err
}

// stringList accepts a string or a list of strings.
func stringList(v any) ([]string, error) {
	switch x := v.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("want strings, got %v", e)
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("want a string or a list of strings, got %v", v)
}

// matches reports whether the entry passes the rule's custom.match.
func (r *rule) matches(v *view) bool {
	for i := range r.match {
		m := &r.match[i]
		if !slices.Contains(m.values, v.field(m.field)) {
			return false
		}
	}
	return true
}

// groupOf returns the entry's group: the window key, the group value shown
// to the rule, and the field it came from. ok is false for an entry that has
// none of the group_by fields: it belongs to no group and is not correlated
// (one bucket for "no subject" would lump unrelated clients together).
func (r *rule) groupOf(v *view) (key, value, by string, ok bool) {
	if len(r.groupBy) == 0 {
		return "", "", "", true
	}
	for i, f := range r.groupBy {
		if val := v.field(f); val != "" {
			return r.keyFor(i, val), val, f.name, true
		}
	}
	return "", "", "", false
}

// keyFor keys a group. With several group_by fields the field's position
// is part of the key, so that pid 42 and cgroup "42" stay apart.
func (r *rule) keyFor(i int, value string) string {
	if len(r.groupBy) <= 1 {
		return value
	}
	return strconv.Itoa(i) + "\x00" + value
}
