package config

import "reflect"

// Map returns the configuration as the value encoding/json would produce when
// decoding it into an any: nested map[string]any keyed as in belladonna.yaml,
// string, bool, float64 for every number, and []any for lists (empty, never
// nil, so that rules can count them), whose items are strings or, for lists
// of sections such as audit.sinks, map[string]any. Validator rules receive it
// as input.config.
func (c Config) Map() map[string]any {
	return sectionMap(schema, reflect.ValueOf(c))
}

// sectionMap renders sec from root, the value its children's index paths
// start at: the Config, or one list item.
func sectionMap(sec *field, root reflect.Value) map[string]any {
	m := make(map[string]any, len(sec.children))
	for _, f := range sec.children {
		v := root.FieldByIndex(f.index)
		switch f.typ.Kind() {
		case reflect.Struct:
			m[f.name] = sectionMap(f, root)
		case reflect.String:
			m[f.name] = v.String()
		case reflect.Bool:
			m[f.name] = v.Bool()
		case reflect.Int, reflect.Int64:
			m[f.name] = float64(v.Int())
		case reflect.Float64:
			m[f.name] = v.Float()
		case reflect.Slice:
			l := make([]any, v.Len())
			for i := range l {
				if f.item != nil {
					l[i] = sectionMap(f.item, v.Index(i))
				} else {
					l[i] = v.Index(i).String()
				}
			}
			m[f.name] = l
		}
	}
	return m
}
