# METADATA
# title: Broken on purpose
# description: Compiles only without strict mode (unused variable on line 12).
# custom:
#   component: compile
#   severity: low
package compile

default allow := false

allow if {
	unused := input.user
	input.method == "GET"
}
