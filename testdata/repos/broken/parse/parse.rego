# METADATA
# title: Broken on purpose
# description: Has a parse error on line 13 (an operator without its right operand).
# custom:
#   component: parse
#   severity: low
package parse

default allow := false

allow if {
	input.method ==
}
