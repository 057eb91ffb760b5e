// Package vm evaluates OPA's own IR plans (the "plan" target of OPA's
// compiler, the form OPA compiles to Wasm) directly in Go. The planner has
// already resolved every reference to a rule into a call and every
// unification into plain statements, so evaluation is a walk over locals
// with no unifier and no backtracking stack: several times faster than
// topdown on policies as written. Results are OPA's: values are ast
// values, built-ins are OPA's implementations, and a plan using anything
// this package does not run is refused at New, so that callers fall back
// to topdown. Differential tests against topdown guard it.
package vm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/topdown/builtins"
)

var resultKey = ast.StringTerm("result")

// ErrUnsupported: the plan uses something the VM does not run.
var ErrUnsupported = errors.New("vm: plan not supported")

// ConflictError is OPA's eval_conflict_error: a complete rule or an object
// key given two different values.
type ConflictError struct{ Message string }

func (e *ConflictError) Error() string { return "eval_conflict_error: " + e.Message }

// VM runs the plans of one policy over one base document.
type VM struct {
	strings    []*ast.Term
	funcs      []*fn
	byName     map[string]int
	plans      map[string]*ir.Plan
	planLocals map[string]int
	dataTerm   *ast.Term
	builtins   map[string]topdown.BuiltinFunc
	relations  map[string]bool // built-ins with many outputs (walk): collected into an array
	globals    globals
}

type fn struct {
	f      *ir.Func
	locals int
	// memo: a function of input and data alone is evaluated once per
	// evaluation (as topdown caches a rule's value).
	memo bool
	// global: a memo function that does not read input is evaluated once
	// per VM (materialize.go).
	global bool
}

// New prepares pol for evaluation over data (the base document). It fails
// with ErrUnsupported when the plan holds a statement or built-in the VM
// does not run.
func New(pol *ir.Policy, data ast.Value) (*VM, error) {
	v := &VM{byName: map[string]int{}, plans: map[string]*ir.Plan{}, planLocals: map[string]int{}, dataTerm: ast.NewTerm(data), builtins: map[string]topdown.BuiltinFunc{}, relations: map[string]bool{}}
	if pol.Static != nil {
		for _, s := range pol.Static.Strings {
			v.strings = append(v.strings, ast.StringTerm(s.Value))
		}
		for _, b := range pol.Static.BuiltinFuncs {
			if nondeterministic[b.Name] {
				return nil, fmt.Errorf("%w: built-in %s is not deterministic", ErrUnsupported, b.Name)
			}
			impl := topdown.GetBuiltin(b.Name)
			if impl == nil {
				return nil, fmt.Errorf("%w: built-in %s", ErrUnsupported, b.Name)
			}
			v.builtins[b.Name] = impl
			if d, ok := ast.BuiltinMap[b.Name]; ok && d.Relation {
				v.relations[b.Name] = true
			}
		}
	}
	if pol.Funcs != nil {
		for _, f := range pol.Funcs.Funcs {
			n := &fn{f: f, memo: len(f.Params) == 2}
			maxLocal := int(f.Return)
			for _, p := range f.Params {
				maxLocal = max(maxLocal, int(p))
			}
			if err := scanBlocks(f.Blocks, &maxLocal); err != nil {
				return nil, fmt.Errorf("function %s: %w", f.Name, err)
			}
			n.locals = maxLocal + 1
			v.byName[f.Name] = len(v.funcs)
			v.funcs = append(v.funcs, n)
		}
	}
	if pol.Plans != nil {
		for _, p := range pol.Plans.Plans {
			maxLocal := 1
			if err := scanBlocks(p.Blocks, &maxLocal); err != nil {
				return nil, fmt.Errorf("plan %s: %w", p.Name, err)
			}
			v.plans[p.Name] = p
			v.planLocals[p.Name] = maxLocal + 1
		}
	}
	// Calls name functions or built-ins: both must exist.
	var missing error
	check := func(name string) {
		if _, ok := v.byName[name]; !ok && v.builtins[name] == nil && missing == nil {
			missing = fmt.Errorf("%w: call to %s", ErrUnsupported, name)
		}
	}
	for _, f := range v.funcs {
		walkCalls(f.f.Blocks, check)
	}
	for _, p := range v.plans {
		walkCalls(p.Blocks, check)
	}
	if missing != nil {
		return nil, missing
	}
	for i, free := range inputFree(v.funcs, v.byName) {
		v.funcs[i].global = v.funcs[i].memo && free
	}
	return v, nil
}

// nondeterministic built-ins give another answer on every call: topdown
// records them per query, which a replay cannot reproduce, so plans using
// them stay on topdown.
var nondeterministic = map[string]bool{
	"rand.intn": true, "uuid.rfc4122": true, "io.jwt.encode_sign": true, "io.jwt.encode_sign_raw": true,
	"time.now_ns": true, "http.send": true, "opa.runtime": true, "net.lookup_ip_addr": true, "trace": true,
	"internal.print": true,
}

// Eval evaluates the plan for path ("security/authz/allow") with input
// (nil: no input). defined is false when the document is undefined.
func (v *VM) Eval(ctx context.Context, path string, input ast.Value) (ast.Value, bool, error) {
	p, ok := v.plans[strings.Trim(path, "/")]
	if !ok {
		return nil, false, fmt.Errorf("vm: no plan for %s", path)
	}
	e := statePool.Get().(*evalState)
	defer e.release()
	e.vm, e.ctx = v, ctx
	e.bctx = topdown.BuiltinContext{
		Context: ctx,
		Time:    ast.NewTerm(ast.Number(strconv.FormatInt(time.Now().UnixNano(), 10))),
		Cache:   builtins.Cache{},
	}
	locals := make([]*ast.Term, v.planLocals[p.Name])
	if input != nil {
		locals[0] = ast.NewTerm(input)
	}
	locals[1] = v.dataTerm
	fr := &frame{locals: locals}
	for _, b := range p.Blocks {
		r, err := e.block(fr, b)
		if err != nil {
			return nil, false, err
		}
		if r == brReturn {
			break
		}
	}
	if len(e.results) == 0 {
		return nil, false, nil
	}
	obj, ok := e.results[0].Value.(ast.Object)
	if !ok {
		return nil, false, fmt.Errorf("vm: plan %s produced %T", path, e.results[0].Value)
	}
	res := obj.Get(resultKey)
	if res == nil {
		return nil, false, nil
	}
	return res.Value, true, nil
}

type memoEntry struct {
	v       *ast.Term
	defined bool
}

// statePool keeps evaluation states (their stacks and memo maps) between
// evaluations: allocation, and the collections it causes, was most of the
// VM's cost.
var statePool = sync.Pool{New: func() any {
	e := &evalState{stack: make([]*ast.Term, 0, 256), args: make([]*ast.Term, 0, 32), memo: []map[int]memoEntry{{}}}
	e.collectFn = e.collect
	return e
}}

func (e *evalState) release() {
	clear(e.memo[0])
	e.memo = e.memo[:1]
	clear(e.results)
	e.results = e.results[:0]
	e.stack, e.args = e.stack[:0], e.args[:0]
	e.vm, e.ctx, e.bctx, e.steps = nil, nil, topdown.BuiltinContext{}, 0
	e.out, e.all = nil, nil
	statePool.Put(e)
}

// collect receives a built-in's outputs.
func (e *evalState) collect(t *ast.Term) error {
	if e.relation {
		e.all = append(e.all, t)
	}
	e.out = t
	return nil
}

type evalState struct {
	vm      *VM
	ctx     context.Context
	bctx    topdown.BuiltinContext
	memo    []map[int]memoEntry // one frame per active `with`
	results []*ast.Term
	steps   int
	stack   []*ast.Term // locals of the active calls
	args    []*ast.Term // arguments being passed

	// A built-in's outputs (built-ins do not nest).
	collectFn func(*ast.Term) error
	out       *ast.Term
	all       []*ast.Term
	relation  bool
}

type frame struct {
	locals []*ast.Term
	ret    *ast.Term
}

// Break signals: brNone: the block ran to its end; brReturn: a function
// returned; k >= 0: leave k more enclosing blocks (0: the innermost).
const (
	brNone   = -1
	brReturn = -2
)

// call runs function i with args.
func (e *evalState) call(i int, args []*ast.Term) (*ast.Term, bool, error) {
	f := e.vm.funcs[i]
	top := e.memo[len(e.memo)-1]
	shared := f.global && len(e.memo) == 1 // not under a `with`
	if f.memo {
		if m, ok := top[i]; ok {
			return m.v, m.defined, nil
		}
		if shared {
			if m, ok := e.vm.globals.get(i); ok {
				top[i] = m
				return m.v, m.defined, nil
			}
		}
	}
	// Locals live on one stack per evaluation: calls nest, so a frame is
	// released when its call returns.
	base := len(e.stack)
	need := base + f.locals
	if need > cap(e.stack) {
		// Frames already handed out keep the old array: only their own
		// call uses it.
		grown := make([]*ast.Term, base, max(2*cap(e.stack), need))
		copy(grown, e.stack)
		e.stack = grown
	}
	e.stack = e.stack[:need] // released frames were cleared
	locals := e.stack[base:need:need]
	defer func() {
		clear(e.stack[base:])
		e.stack = e.stack[:base]
	}()
	for k, p := range f.f.Params {
		if k < len(args) {
			locals[p] = args[k]
		}
	}
	fr := &frame{locals: locals}
	returned := false
	for _, b := range f.f.Blocks {
		r, err := e.block(fr, b)
		if err != nil {
			return nil, false, err
		}
		if r == brReturn {
			returned = true
			break
		}
	}
	res := fr.ret
	if !returned {
		res = locals[f.f.Return]
	}
	if f.memo {
		top[i] = memoEntry{v: res, defined: res != nil}
		if shared {
			e.vm.globals.put(i, top[i])
		}
	}
	return res, res != nil, nil
}

// block runs one scope; a failing statement or a break leaves it.
func (e *evalState) block(fr *frame, b *ir.Block) (int, error) {
	r, err := e.stmts(fr, b.Stmts)
	if err != nil || r == brReturn {
		return r, err
	}
	if r <= 0 {
		return brNone, nil
	}
	return r - 1, nil
}

// stmts runs statements until one fails (returns 0: leave the innermost
// scope), breaks (its index), returns, or all ran (brNone).
func (e *evalState) stmts(fr *frame, stmts []ir.Stmt) (int, error) {
	e.steps++
	if e.steps&1023 == 0 {
		if err := e.ctx.Err(); err != nil {
			return 0, err
		}
	}
	l := fr.locals
	for _, s := range stmts {
		switch s := s.(type) {
		case *ir.ReturnLocalStmt:
			fr.ret = l[s.Source]
			return brReturn, nil
		case *ir.BlockStmt:
			for _, b := range s.Blocks {
				r, err := e.block(fr, b)
				if err != nil || r != brNone {
					return r, err
				}
			}
		case *ir.BreakStmt:
			return int(s.Index), nil
		case *ir.NopStmt:
		case *ir.ResetLocalStmt:
			l[s.Target] = nil
		case *ir.AssignVarStmt:
			l[s.Target] = e.operand(l, s.Source)
		case *ir.AssignVarOnceStmt:
			src := e.operand(l, s.Source)
			if cur := l[s.Target]; cur != nil && src != nil && ast.Compare(cur.Value, src.Value) != 0 {
				return 0, &ConflictError{Message: fmt.Sprintf("complete rules must not produce multiple outputs (%s)", loc(s.Location))}
			}
			l[s.Target] = src
		case *ir.AssignIntStmt:
			l[s.Target] = ast.IntNumberTerm(int(s.Value))
		case *ir.MakeNullStmt:
			l[s.Target] = ast.NullTerm()
		case *ir.MakeNumberIntStmt:
			l[s.Target] = ast.IntNumberTerm(int(s.Value))
		case *ir.MakeNumberRefStmt:
			l[s.Target] = ast.NewTerm(ast.Number(e.vm.strings[s.Index].Value.(ast.String)))
		case *ir.MakeArrayStmt:
			l[s.Target] = ast.NewTerm(ast.NewArray(make([]*ast.Term, 0, s.Capacity)...))
		case *ir.MakeObjectStmt:
			l[s.Target] = ast.NewTerm(ast.NewObject())
		case *ir.MakeSetStmt:
			l[s.Target] = ast.NewTerm(ast.NewSet())
		case *ir.ArrayAppendStmt:
			a, ok := value(l[s.Array]).(*ast.Array)
			val := e.operand(l, s.Value)
			if !ok || val == nil {
				return 0, nil
			}
			l[s.Array] = ast.NewTerm(a.Append(val))
		case *ir.ObjectInsertStmt:
			o, ok := value(l[s.Object]).(ast.Object)
			k, val := e.operand(l, s.Key), e.operand(l, s.Value)
			if !ok || k == nil || val == nil {
				return 0, nil
			}
			o.Insert(k, val)
		case *ir.ObjectInsertOnceStmt:
			o, ok := value(l[s.Object]).(ast.Object)
			k, val := e.operand(l, s.Key), e.operand(l, s.Value)
			if !ok || k == nil || val == nil {
				return 0, nil
			}
			if cur := o.Get(k); cur != nil {
				if ast.Compare(cur.Value, val.Value) != 0 {
					return 0, &ConflictError{Message: fmt.Sprintf("object keys must be unique (%s)", loc(s.Location))}
				}
				continue
			}
			o.Insert(k, val)
		case *ir.SetAddStmt:
			st, ok := value(l[s.Set]).(ast.Set)
			val := e.operand(l, s.Value)
			if !ok || val == nil {
				return 0, nil
			}
			st.Add(val)
		case *ir.ResultSetAddStmt:
			e.results = append(e.results, l[s.Value])
		case *ir.DotStmt:
			out, err := dot(e.operand(l, s.Source), e.operand(l, s.Key))
			if err != nil {
				return 0, err
			}
			if out == nil {
				return 0, nil
			}
			l[s.Target] = out
		case *ir.LenStmt:
			n, ok := length(value(e.operand(l, s.Source)))
			if !ok {
				return 0, nil
			}
			l[s.Target] = ast.IntNumberTerm(n)
		case *ir.EqualStmt:
			a, b := e.operand(l, s.A), e.operand(l, s.B)
			if a == nil || b == nil || ast.Compare(a.Value, b.Value) != 0 {
				return 0, nil
			}
		case *ir.NotEqualStmt:
			a, b := e.operand(l, s.A), e.operand(l, s.B)
			if a == nil || b == nil || ast.Compare(a.Value, b.Value) == 0 {
				return 0, nil
			}
		case *ir.IsArrayStmt:
			if _, ok := value(e.operand(l, s.Source)).(*ast.Array); !ok {
				return 0, nil
			}
		case *ir.IsObjectStmt:
			if _, ok := value(e.operand(l, s.Source)).(ast.Object); !ok {
				return 0, nil
			}
		case *ir.IsSetStmt:
			if _, ok := value(e.operand(l, s.Source)).(ast.Set); !ok {
				return 0, nil
			}
		case *ir.IsDefinedStmt:
			if l[s.Source] == nil {
				return 0, nil
			}
		case *ir.IsUndefinedStmt:
			if l[s.Source] != nil {
				return 0, nil
			}
		case *ir.NotStmt:
			r, err := e.stmts(fr, s.Block.Stmts)
			if err != nil || r == brReturn {
				return r, err
			}
			switch {
			case r == brNone:
				return 0, nil // the negated block held: not fails
			case r >= 1:
				return r - 1, nil
			}
		case *ir.ScanStmt:
			r, err := e.scan(fr, s)
			if err != nil || r != brNone {
				return r, err
			}
		case *ir.CallStmt:
			out, ok, err := e.callStmt(l, s)
			if err != nil {
				return 0, err
			}
			if !ok {
				return 0, nil
			}
			l[s.Result] = out
		case *ir.WithStmt:
			r, err := e.with(fr, s)
			if err != nil || r != brNone {
				return r, err
			}
		default:
			return 0, fmt.Errorf("%w: statement %T", ErrUnsupported, s)
		}
	}
	return brNone, nil
}

// scan runs the body for each element: failing or `break 0` goes on to the
// next, `break 1` leaves the scan, deeper breaks leave enclosing scopes.
func (e *evalState) scan(fr *frame, s *ir.ScanStmt) (int, error) {
	l := fr.locals
	switch src := value(l[s.Source]).(type) {
	case ast.Object:
		for _, k := range src.Keys() {
			l[s.Key], l[s.Value] = k, src.Get(k)
			if stop, out, err := e.scanStep(fr, s); stop || err != nil {
				return out, err
			}
		}
	case *ast.Array:
		for i := range src.Len() {
			l[s.Key], l[s.Value] = ast.InternedTerm(i), src.Elem(i)
			if stop, out, err := e.scanStep(fr, s); stop || err != nil {
				return out, err
			}
		}
	case ast.Set:
		for _, t := range src.Slice() {
			l[s.Key], l[s.Value] = t, t
			if stop, out, err := e.scanStep(fr, s); stop || err != nil {
				return out, err
			}
		}
	}
	return brNone, nil
}

// scanStep runs the body once; stop says whether the scan ends, out what
// it reports to the enclosing statements.
func (e *evalState) scanStep(fr *frame, s *ir.ScanStmt) (stop bool, out int, err error) {
	r, err := e.stmts(fr, s.Block.Stmts)
	switch {
	case err != nil:
		return true, 0, err
	case r == brReturn:
		return true, brReturn, nil
	case r == brNone || r == 0:
		return false, brNone, nil
	case r == 1:
		return true, brNone, nil
	}
	return true, r - 2, nil
}

// with runs the block with a local (input or data) replaced, in a fresh
// memo frame: rule values computed under the replacement stay with it.
func (e *evalState) with(fr *frame, s *ir.WithStmt) (int, error) {
	l := fr.locals
	saved := l[s.Local]
	val := e.operand(l, s.Value)
	if len(s.Path) == 0 {
		l[s.Local] = val
	} else {
		l[s.Local] = ast.NewTerm(upsert(value(saved), e.pathOf(s.Path), value(val)))
	}
	e.memo = append(e.memo, map[int]memoEntry{})
	r, err := e.stmts(fr, s.Block.Stmts)
	e.memo = e.memo[:len(e.memo)-1]
	l[s.Local] = saved
	if err != nil || r == brReturn {
		return r, err
	}
	switch {
	case r == brNone:
		return brNone, nil
	case r == 0:
		return 0, nil // the block failed: so does the with
	}
	return r - 1, nil
}

func (e *evalState) pathOf(idx []int) []*ast.Term {
	out := make([]*ast.Term, len(idx))
	for i, k := range idx {
		out[i] = e.vm.strings[k]
	}
	return out
}

// upsert returns base with path set to val, copying each object on the way
// (the original stays for when the with ends).
func upsert(base ast.Value, path []*ast.Term, val ast.Value) ast.Value {
	obj, ok := base.(ast.Object)
	if ok {
		obj = obj.Copy()
	} else {
		obj = ast.NewObject()
	}
	if len(path) == 1 {
		if cur := obj.Get(path[0]); cur != nil {
			obj = without(obj, path[0])
		}
		obj.Insert(path[0], ast.NewTerm(val))
		return obj
	}
	var child ast.Value
	if cur := obj.Get(path[0]); cur != nil {
		child = cur.Value
		obj = without(obj, path[0])
	}
	obj.Insert(path[0], ast.NewTerm(upsert(child, path[1:], val)))
	return obj
}

func without(obj ast.Object, key *ast.Term) ast.Object {
	out := ast.NewObject()
	obj.Foreach(func(k, v *ast.Term) {
		if ast.Compare(k.Value, key.Value) != 0 {
			out.Insert(k, v)
		}
	})
	return out
}

func (e *evalState) callStmt(l []*ast.Term, s *ir.CallStmt) (*ast.Term, bool, error) {
	base := len(e.args)
	for _, a := range s.Args {
		e.args = append(e.args, e.operand(l, a))
	}
	args := e.args[base:len(e.args):len(e.args)]
	defer func() {
		clear(e.args[base:])
		e.args = e.args[:base]
	}()
	if i, ok := e.vm.byName[s.Func]; ok {
		return e.call(i, args)
	}
	impl := e.vm.builtins[s.Func]
	for _, a := range args {
		if a == nil {
			return nil, false, nil // an undefined operand: the call is undefined
		}
	}
	e.out, e.all, e.relation = nil, nil, e.vm.relations[s.Func]
	err := impl(e.bctx, args, e.collectFn)
	out := e.out
	if e.relation && err == nil {
		// The planner scans a relation's outputs as one array.
		return ast.ArrayTerm(e.all...), true, nil
	}
	if err != nil {
		var halt topdown.Halt
		if errors.As(err, &halt) {
			return nil, false, err
		}
		// As topdown without strict built-in errors: the call is undefined.
		return nil, false, nil
	}
	return out, out != nil, nil
}

// operand reads an operand: a local, a string constant or a boolean.
func (e *evalState) operand(l []*ast.Term, op ir.Operand) *ast.Term {
	switch v := op.Value.(type) {
	case ir.Local:
		return l[v]
	case *ir.Local:
		return l[*v]
	case ir.StringIndex:
		return e.vm.strings[v]
	case *ir.StringIndex:
		return e.vm.strings[*v]
	case ir.Bool:
		return ast.InternedTerm(bool(v))
	case *ir.Bool:
		return ast.InternedTerm(bool(*v))
	}
	return nil
}

func value(t *ast.Term) ast.Value {
	if t == nil {
		return nil
	}
	return t.Value
}

// dot is source[key] for objects, arrays (integer keys) and sets
// (membership); anything else is undefined.
func dot(src, key *ast.Term) (*ast.Term, error) {
	if src == nil || key == nil {
		return nil, nil
	}
	switch s := src.Value.(type) {
	case ast.Object:
		if t := s.Get(key); t != nil {
			return t, nil
		}
		if n, ok := key.Value.(ast.Number); ok && s.Get(ast.StringTerm(string(n))) != nil {
			// topdown reads data.x[2] from the store as data.x["2"], but
			// not once the object is bound to a variable: the plan no
			// longer tells which this is.
			return nil, fmt.Errorf("%w: integer key %s into an object with key \"%s\"", ErrUnsupported, n, n)
		}
	case *ast.Array:
		n, ok := key.Value.(ast.Number)
		if !ok {
			return nil, nil
		}
		i, ok := n.Int()
		if !ok || i < 0 || i >= s.Len() {
			return nil, nil
		}
		return s.Elem(i), nil
	case ast.Set:
		if s.Contains(key) {
			return key, nil
		}
	}
	return nil, nil
}

func length(v ast.Value) (int, bool) {
	switch x := v.(type) {
	case *ast.Array:
		return x.Len(), true
	case ast.Object:
		return x.Len(), true
	case ast.Set:
		return x.Len(), true
	case ast.String:
		return len([]rune(string(x))), true
	}
	return 0, false
}

func loc(l ir.Location) string { return fmt.Sprintf("row %d", l.Row) }
