# METADATA
# title: Constant condition
# description: >-
#   A comparison of two constants (1 == 1, "a" != "b") is always true or always
#   false: a leftover from debugging or a typo for a variable.
# custom:
#   category: bugs
#   severity: error
package validators.bugs.constant_condition

comparisons := {"equal", "neq", "lt", "gt", "lte", "gte"}

scalars := {"string", "number", "boolean", "null"}

findings contains {
	"rule": "bugs/constant-condition",
	"severity": "error",
	"file": m.file,
	"line": e.line,
	"message": sprintf("constant condition %s in rule %s is always true or always false", [text(e), e.rule]),
} if {
	some m in input.modules
	some e in m.exprs
	e.op in comparisons
	count(e.operands) == 2
	every o in e.operands {
		o.type in scalars
	}
}

symbols := {"equal": "==", "neq": "!=", "lt": "<", "gt": ">", "lte": "<=", "gte": ">="}

text(e) := concat(" ", [e.operands[0].text, symbols[e.op], e.operands[1].text])
