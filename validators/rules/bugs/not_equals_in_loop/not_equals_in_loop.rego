# METADATA
# title: Not-equals in loop
# description: >-
#   input.xs[_] != "y" is true when any element differs, not when none equals
#   "y". Use not "y" in input.xs, or a helper rule.
# custom:
#   category: bugs
#   severity: error
package validators.bugs.not_equals_in_loop

findings contains {
	"rule": "bugs/not-equals-in-loop",
	"severity": "error",
	"file": m.file,
	"line": e.line,
	"message": sprintf("%s != ... iterates: it holds when any element differs; use not ... in ...", [o.text]),
} if {
	some m in input.modules
	some e in m.exprs
	e.op == "neq"
	some o in e.operands
	o.type == "ref"
	o.wildcard
}
