# METADATA
# title: print or trace call in policy
# description: >-
#   print and trace are debugging aids; left in a policy they write on every
#   decision. Tests may use them.
# custom:
#   category: testing
#   severity: warning
package validators.testing.print_or_trace_call

findings contains {
	"rule": "testing/print-or-trace-call",
	"severity": "warning",
	"file": m.file,
	"line": c.line,
	"message": sprintf("call to %s in rule %s: remove debugging output from policies", [c.name, c.rule]),
} if {
	some m in input.modules
	not m.is_test
	some c in m.calls
	c.name in {"print", "trace"}
}
