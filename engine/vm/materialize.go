package vm

import (
	"reflect"
	"sync"

	"github.com/open-policy-agent/opa/v1/ir"
)

// Rules whose value depends on data alone (not on input) are computed
// once per VM, that is once per activation, and shared by every later
// evaluation: the work OPA's -O=1 partial evaluation does ahead of time,
// without changing the policy. Inside a `with`, which may replace data,
// the per-evaluation memo is used instead.

// globals holds the materialized values.
type globals struct {
	mu sync.RWMutex
	m  map[int]memoEntry
}

func (g *globals) get(i int) (memoEntry, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	e, ok := g.m[i]
	return e, ok
}

func (g *globals) put(i int, e memoEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[int]memoEntry{}
	}
	g.m[i] = e
}

// inputFree reports, per function, whether it never reads its first
// parameter (input). It errs on the side of "reads it": any mention of
// the parameter counts, except passing it as the first argument to a
// function that itself never reads it.
func inputFree(funcs []*fn, byName map[string]int) []bool {
	free := make([]bool, len(funcs))
	for i := range free {
		free[i] = len(funcs[i].f.Params) > 0
	}
	for changed := true; changed; {
		changed = false
		for i, f := range funcs {
			if free[i] && readsInput(f.f, byName, free) {
				free[i] = false
				changed = true
			}
		}
	}
	return free
}

func readsInput(f *ir.Func, byName map[string]int, free []bool) bool {
	in := f.Params[0]
	found := false
	var visit func(v reflect.Value)
	visit = func(v reflect.Value) {
		if found {
			return
		}
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() {
				visit(v.Elem())
			}
		case reflect.Slice:
			for i := range v.Len() {
				visit(v.Index(i))
			}
		case reflect.Struct:
			if !v.CanAddr() {
				// A struct held by value in an interface: copy it to look.
				c := reflect.New(v.Type()).Elem()
				c.Set(v)
				v = c
			}
			if call, ok := v.Addr().Interface().(*ir.CallStmt); ok {
				callee, isFunc := byName[call.Func]
				for k, a := range call.Args {
					if l, ok := localOf(a.Value); ok && l == in {
						if k != 0 || !isFunc || !free[callee] {
							found = true
							return
						}
					}
				}
				return
			}
			for i := range v.NumField() {
				if v.Type().Field(i).IsExported() {
					visit(v.Field(i))
				}
			}
		case reflect.Int, reflect.Int32, reflect.Int64:
			if v.Type() == reflect.TypeFor[ir.Local]() && ir.Local(v.Int()) == in {
				found = true
			}
		}
	}
	for _, b := range f.Blocks {
		visit(reflect.ValueOf(b))
	}
	return found
}

// localOf reads a local operand (decoded plans hold *ir.Local).
func localOf(v ir.Val) (ir.Local, bool) {
	switch l := v.(type) {
	case ir.Local:
		return l, true
	case *ir.Local:
		if l != nil {
			return *l, true
		}
	}
	return 0, false
}
