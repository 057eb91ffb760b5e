package config

import (
	"fmt"
	"reflect"
	"strings"
)

// field is one key of belladonna.yaml, derived from Config's `yaml` tags so
// that the parser, Map, the environment registry and the tests share a single
// description of the file and cannot drift apart.
type field struct {
	name     string       // key as written in YAML ("max_request_bytes")
	path     string       // dotted path from the top ("server.max_request_bytes")
	index    []int        // reflect index path from Config, or from the item type inside a list item
	typ      reflect.Type // Go type of the field
	children []*field     // sub-keys, in declaration order, when typ is a struct
	// item describes one element when typ is a list of structs
	// ("audit.sinks"). Its path is the list's with "[]" appended, its
	// children's paths are templates ("audit.sinks[].name"), and their index
	// paths start from the item type, since each item is a value of its own.
	item *field
	// isItem marks the schema of one list item (the item field above).
	isItem bool
}

// schema is the root of the key tree (the Config struct itself, with no name).
var schema = newSchema()

func newSchema() *field {
	root := &field{typ: reflect.TypeFor[Config]()}
	root.children = structFields(root.typ, "", nil)
	return root
}

// structFields panics on a field it cannot represent: that is a programming
// error in Config, caught by any test in this package, not a runtime condition.
func structFields(t reflect.Type, prefix string, index []int) []*field {
	fields := make([]*field, 0, t.NumField())
	for i := range t.NumField() {
		sf := t.Field(i)
		name, _, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if !sf.IsExported() || name == "" || name == "-" {
			panic(fmt.Sprintf("config: field %s.%s needs a yaml tag", t.Name(), sf.Name))
		}
		f := &field{
			name:  name,
			path:  joinPath(prefix, name),
			index: append(append([]int(nil), index...), i),
			typ:   sf.Type,
		}
		switch sf.Type.Kind() {
		case reflect.Struct:
			f.children = structFields(sf.Type, f.path, f.index)
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
		case reflect.Slice:
			switch elem := sf.Type.Elem(); elem.Kind() {
			case reflect.String:
			case reflect.Struct:
				item := &field{name: "[]", path: f.path + "[]", typ: elem, isItem: true}
				item.children = structFields(elem, item.path, nil)
				f.item = item
			default:
				panic(fmt.Sprintf("config: %s: only lists of strings or of structs are supported", f.path))
			}
		default:
			panic(fmt.Sprintf("config: %s: unsupported type %s", f.path, sf.Type))
		}
		fields = append(fields, f)
	}
	return fields
}

func joinPath(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// child returns the sub-key called name, or nil.
func (f *field) child(name string) *field {
	for _, c := range f.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// lookup returns the field at a dotted path, or nil.
func lookup(path string) *field {
	f := schema
	for name := range strings.SplitSeq(path, ".") {
		if f = f.child(name); f == nil {
			return nil
		}
	}
	return f
}

// all returns every key below f, sections included, depth first in
// declaration order. The keys inside list items are not included (see
// withItems): they have no value of their own in a Config.
func (f *field) all() []*field {
	var out []*field
	for _, c := range f.children {
		out = append(out, c)
		out = append(out, c.all()...)
	}
	return out
}

// withItems is all plus, after each list of structs, the keys of its items
// (with template paths such as "audit.sinks[].name").
func (f *field) withItems() []*field {
	var out []*field
	for _, c := range f.children {
		out = append(out, c)
		if c.item != nil {
			out = append(out, c.item.withItems()...)
		}
		out = append(out, c.withItems()...)
	}
	return out
}

// leaves returns every key below f that holds a value rather than a section.
func (f *field) leaves() []*field {
	var out []*field
	for _, c := range f.all() {
		if c.typ.Kind() != reflect.Struct {
			out = append(out, c)
		}
	}
	return out
}

// names lists the sub-keys of f, for "known keys here" hints.
func (f *field) names() []string {
	out := make([]string, len(f.children))
	for i, c := range f.children {
		out[i] = c.name
	}
	return out
}
