package vm

import (
	"fmt"

	"github.com/open-policy-agent/opa/v1/ir"
)

// scanBlocks raises *maxLocal to the highest local the blocks use and
// refuses a statement the VM does not run.
func scanBlocks(blocks []*ir.Block, maxLocal *int) error {
	see := func(l ir.Local) { *maxLocal = max(*maxLocal, int(l)) }
	op := func(o ir.Operand) {
		switch v := o.Value.(type) {
		case ir.Local:
			see(v)
		case *ir.Local:
			see(*v)
		}
	}
	for _, b := range blocks {
		for _, s := range b.Stmts {
			switch s := s.(type) {
			case *ir.ReturnLocalStmt:
				see(s.Source)
			case *ir.BlockStmt:
				if err := scanBlocks(s.Blocks, maxLocal); err != nil {
					return err
				}
			case *ir.BreakStmt, *ir.NopStmt:
			case *ir.ResetLocalStmt:
				see(s.Target)
			case *ir.AssignVarStmt:
				op(s.Source)
				see(s.Target)
			case *ir.AssignVarOnceStmt:
				op(s.Source)
				see(s.Target)
			case *ir.AssignIntStmt:
				see(s.Target)
			case *ir.MakeNullStmt:
				see(s.Target)
			case *ir.MakeNumberIntStmt:
				see(s.Target)
			case *ir.MakeNumberRefStmt:
				see(s.Target)
			case *ir.MakeArrayStmt:
				see(s.Target)
			case *ir.MakeObjectStmt:
				see(s.Target)
			case *ir.MakeSetStmt:
				see(s.Target)
			case *ir.ArrayAppendStmt:
				op(s.Value)
				see(s.Array)
			case *ir.ObjectInsertStmt:
				op(s.Key)
				op(s.Value)
				see(s.Object)
			case *ir.ObjectInsertOnceStmt:
				op(s.Key)
				op(s.Value)
				see(s.Object)
			case *ir.SetAddStmt:
				op(s.Value)
				see(s.Set)
			case *ir.ResultSetAddStmt:
				see(s.Value)
			case *ir.DotStmt:
				op(s.Source)
				op(s.Key)
				see(s.Target)
			case *ir.LenStmt:
				op(s.Source)
				see(s.Target)
			case *ir.EqualStmt:
				op(s.A)
				op(s.B)
			case *ir.NotEqualStmt:
				op(s.A)
				op(s.B)
			case *ir.IsArrayStmt:
				op(s.Source)
			case *ir.IsObjectStmt:
				op(s.Source)
			case *ir.IsSetStmt:
				op(s.Source)
			case *ir.IsDefinedStmt:
				see(s.Source)
			case *ir.IsUndefinedStmt:
				see(s.Source)
			case *ir.NotStmt:
				if err := scanBlocks([]*ir.Block{s.Block}, maxLocal); err != nil {
					return err
				}
			case *ir.ScanStmt:
				see(s.Source)
				see(s.Key)
				see(s.Value)
				if err := scanBlocks([]*ir.Block{s.Block}, maxLocal); err != nil {
					return err
				}
			case *ir.CallStmt:
				for _, a := range s.Args {
					op(a)
				}
				see(s.Result)
			case *ir.WithStmt:
				see(s.Local)
				op(s.Value)
				if err := scanBlocks([]*ir.Block{s.Block}, maxLocal); err != nil {
					return err
				}
			default:
				// CallDynamic (dynamic rule references) and ObjectMerge
				// (base and virtual documents under one path) stay on
				// topdown.
				return fmt.Errorf("%w: statement %T", ErrUnsupported, s)
			}
		}
	}
	return nil
}

// walkCalls reports the target of every call in blocks.
func walkCalls(blocks []*ir.Block, f func(string)) {
	for _, b := range blocks {
		for _, s := range b.Stmts {
			switch s := s.(type) {
			case *ir.CallStmt:
				f(s.Func)
			case *ir.BlockStmt:
				walkCalls(s.Blocks, f)
			case *ir.NotStmt:
				walkCalls([]*ir.Block{s.Block}, f)
			case *ir.ScanStmt:
				walkCalls([]*ir.Block{s.Block}, f)
			case *ir.WithStmt:
				walkCalls([]*ir.Block{s.Block}, f)
			}
		}
	}
}
