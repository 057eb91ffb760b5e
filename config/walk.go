package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// The walk below decodes the yaml.Node tree into Config by hand, rather than
// with yaml.v3's KnownFields, because it must report every problem (not the
// first), give each one a line, column and full key path, recognise removed
// keys and refuse type coercions that KnownFields would allow.

// resolve follows an alias to the node it names. yaml.v3 allows an alias to
// an enclosing node, so the tree may be cyclic; the walk stays finite because
// every step descends one level of the (finite) schema, or of the removed-key
// table in removedSection.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// describe names a node's value for "got ..." in messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "nothing (null)"
		}
		return quote(n.Value)
	}
	return "an unsupported YAML node"
}

// quote quotes a value for a message, shortened so that one huge value cannot
// swamp the error.
func quote(s string) string { return quoteMax(s, 60) }

// quoteKey quotes a key path for a message; real paths are far shorter than
// the limit, which only stops hostile files producing megabyte messages.
func quoteKey(s string) string { return quoteMax(s, 200) }

func quoteMax(s string, maxRunes int) string {
	if r := []rune(s); len(r) > maxRunes {
		s = string(r[:maxRunes]) + "..."
	}
	return strconv.Quote(s)
}

// section decodes mapping n into dst, the struct that sec describes. at is
// the section's key path as the user wrote it: sec.path, except inside list
// items, where it carries the index ("audit.sinks[1]").
func (d *decoded) section(n *yaml.Node, sec *field, at string, dst reflect.Value) {
	n = resolve(n)
	if isNull(n) {
		// "server:" with every child commented out: keep the defaults.
		return
	}
	if n.Kind != yaml.MappingNode {
		if sec == schema {
			d.add(n, "", ErrInvalidValue, "want a mapping of keys at the top level, got %s", describe(n))
		} else {
			d.badValue(n, at, "want a mapping, got %s", describe(n))
		}
		return
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.add(k, at, ErrSyntax, "%s: keys must be plain names, got %s", orTop(at), describe(k))
			continue
		}
		path := joinPath(at, k.Value)
		if k.Value == "<<" {
			d.add(k, path, ErrSyntax, "merge keys (<<) are not supported in the configuration; write the keys out")
			// The keys it would have merged are missing from this mapping,
			// so checking what remains (say, a list item's required keys)
			// would only report the same mistake again.
			d.markMistyped(at)
			continue
		}
		if first, dup := seen[k.Value]; dup {
			// yaml.v3 does not reject duplicates when decoding into nodes, and
			// letting the last one win hides the first from its author.
			d.add(k, path, ErrSyntax, "key %s is set twice (first at line %d)", quoteKey(path), first.Line)
			continue
		}
		seen[k.Value] = k
		if r, ok := removedAt(path); ok {
			d.add(k, path, ErrRemovedKey, "%s", r.message(path))
			continue
		}
		f := sec.child(k.Value)
		if f == nil {
			if removedWithin(path) && d.removedSection(v, path, maxRemovedDepth-1) {
				continue
			}
			d.unknown(k, path, sec, at)
			continue
		}
		d.value(v, f, path, dst.Field(f.index[len(f.index)-1]))
	}
}

func orTop(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func (d *decoded) unknown(k *yaml.Node, path string, sec *field, at string) {
	if s := suggest(k.Value, sec); s != "" {
		d.add(k, path, ErrUnknownKey, "unknown key %s (did you mean %q?)", quoteKey(path), s)
		// The suggested key is probably set, under the misspelt name; a
		// second problem saying that it is missing would be noise.
		if sec.isItem {
			s = joinPath(at, s)
		}
		if d.misspelt == nil {
			d.misspelt = map[string]bool{}
		}
		d.misspelt[s] = true
		return
	}
	d.add(k, path, ErrUnknownKey, "unknown key %s (known keys in %s: %s)", quoteKey(path), orTop(at), strings.Join(sec.names(), ", "))
}

// badValue records a value of the wrong type (or shape) at key. Validation
// then leaves key alone: the value it holds is not the user's, and a second
// problem about the same key would only confuse.
func (d *decoded) badValue(n *yaml.Node, key, format string, args ...any) {
	d.add(n, key, ErrInvalidValue, "%s: %s", key, fmt.Sprintf(format, args...))
	d.markMistyped(key)
}

func (d *decoded) markMistyped(key string) {
	if d.mistyped == nil {
		d.mistyped = map[string]bool{}
	}
	d.mistyped[key] = true
}

// removedSection checks the children of a section that no longer exists (see
// removedWithin). It reports whether any child was a removed key; if none was,
// the caller reports the section itself as unknown, which reads better than a
// list of unknown children.
//
// depth is how many such levels, this one included, may nest. Unlike the
// schema walk, this one has no struct to bound it, and an alias can make the
// section contain itself ("decision_log: &x {decision_log: *x}"); removed keys
// are at most maxRemovedDepth segments long, so no deeper level can match.
func (d *decoded) removedSection(n *yaml.Node, path string, depth int) bool {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		return false
	}
	var found bool
	var unknown []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			unknown = append(unknown, k)
			continue
		}
		sub := joinPath(path, k.Value)
		if r, ok := removedAt(sub); ok {
			d.add(k, sub, ErrRemovedKey, "%s", r.message(sub))
			found = true
			continue
		}
		if depth > 1 && removedWithin(sub) && d.removedSection(v, sub, depth-1) {
			found = true
			continue
		}
		unknown = append(unknown, k)
	}
	if found {
		for _, k := range unknown {
			sub := joinPath(path, k.Value)
			d.add(k, sub, ErrUnknownKey, "unknown key %s", quoteKey(sub))
		}
	}
	return found
}

// value decodes node n into fv, the value of field f, whose key path is path.
func (d *decoded) value(n *yaml.Node, f *field, path string, fv reflect.Value) {
	n = resolve(n)
	if f.typ.Kind() == reflect.Struct {
		d.section(n, f, path, fv)
		return
	}
	d.origins[path] = origin{line: n.Line, col: n.Column}
	switch {
	case f.item != nil:
		d.items(n, f, path, fv)
	case f.typ.Kind() == reflect.Slice:
		d.list(n, path, fv)
	default:
		if msg := setScalar(n, fv); msg != "" {
			d.badValue(n, path, "%s", msg)
		}
	}
}

// list decodes a list of strings. An empty or null list leaves the field nil,
// which is what Default() holds, so "rules: []" equals the default.
func (d *decoded) list(n *yaml.Node, path string, fv reflect.Value) {
	if isNull(n) {
		fv.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.badValue(n, path, "want a list of strings, got %s", describe(n))
		return
	}
	var items []string
	ok := true
	for i, item := range n.Content {
		item = resolve(item)
		var s string
		if msg := setScalar(item, reflect.ValueOf(&s).Elem()); msg != "" {
			d.badValue(item, fmt.Sprintf("%s[%d]", path, i), "%s", msg)
			ok = false
			continue
		}
		items = append(items, s)
	}
	if ok {
		fv.Set(reflect.ValueOf(items))
	}
}

// items decodes a list of structs ("audit.sinks"), each item a mapping
// walked as strictly as a section, its keys reported with the item's index
// ("audit.sinks[1].address"). An empty or null list leaves the field nil.
//
// An item that is not a mapping still takes its place in the list, as a zero
// value marked mistyped, so that the indexes validation reports for the
// items after it are the ones in the file.
func (d *decoded) items(n *yaml.Node, f *field, path string, fv reflect.Value) {
	if isNull(n) {
		fv.SetZero()
		return
	}
	if n.Kind != yaml.SequenceNode {
		d.badValue(n, path, "want a list of mappings, got %s", describe(n))
		return
	}
	if len(n.Content) == 0 {
		fv.SetZero()
		return
	}
	list := reflect.MakeSlice(f.typ, len(n.Content), len(n.Content))
	for i, item := range n.Content {
		item = resolve(item)
		at := fmt.Sprintf("%s[%d]", path, i)
		if item.Kind != yaml.MappingNode {
			d.badValue(item, at, "want a mapping, got %s", describe(item))
			continue
		}
		d.origins[at] = origin{line: item.Line, col: item.Column}
		d.section(item, f.item, at, list.Index(i))
	}
	fv.Set(list)
}

// setScalar stores a YAML scalar into a string, bool or number. It returns a
// message ("want an integer, got \"big\"") when the node does not fit.
//
// Types are checked on the YAML tag, not coerced: "enabled: yes" is a string in
// YAML 1.2 and an error here, rather than a true that some readers would see
// and others not.
func setScalar(n *yaml.Node, fv reflect.Value) string {
	if n.Kind != yaml.ScalarNode {
		return fmt.Sprintf("want %s, got %s", want(fv.Kind()), describe(n))
	}
	tag := n.ShortTag()
	switch fv.Kind() {
	case reflect.String:
		switch tag {
		case "!!str", "!!int", "!!float", "!!timestamp":
			// A number or date where text is expected ("data_dir: 2024") is
			// still what the user wrote; keep it verbatim.
			fv.SetString(n.Value)
		case "!!null":
			fv.SetString("")
		case "!!bool":
			return fmt.Sprintf("want a string, got boolean %s (quote it if you mean the text)", n.Value)
		default:
			return fmt.Sprintf("want a string, got a value tagged %s", quote(tag))
		}
	case reflect.Bool:
		var b bool
		if tag != "!!bool" || n.Decode(&b) != nil {
			return fmt.Sprintf("want a boolean (true or false), got %s", describe(n))
		}
		fv.SetBool(b)
	case reflect.Int, reflect.Int64:
		var i int64
		if tag != "!!int" || n.Decode(&i) != nil {
			return fmt.Sprintf("want an integer, got %s", describe(n))
		}
		if fv.OverflowInt(i) {
			return fmt.Sprintf("integer %s is out of range", n.Value)
		}
		fv.SetInt(i)
	case reflect.Float64:
		var x float64
		if (tag != "!!int" && tag != "!!float") || n.Decode(&x) != nil {
			return fmt.Sprintf("want a number, got %s", describe(n))
		}
		fv.SetFloat(x)
	default:
		// Unreachable: newSchema rejects other kinds.
		return fmt.Sprintf("unsupported field type %s", fv.Type())
	}
	return ""
}

func want(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int64:
		return "an integer"
	case reflect.Float64:
		return "a number"
	default:
		return "a string"
	}
}
