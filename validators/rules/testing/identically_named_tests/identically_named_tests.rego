# METADATA
# title: Identically named tests
# description: Two tests with one name in a module are reported as one by name; give each its own.
# custom:
#   category: testing
#   severity: warning
package validators.testing.identically_named_tests

findings contains {
	"rule": "testing/identically-named-tests",
	"severity": "warning",
	"file": m.file,
	"line": r.line,
	"message": sprintf("test %s is defined more than once in this module", [r.leaf]),
} if {
	some m in input.modules
	some i, r in m.rules
	startswith(r.leaf, "test_")
	some j, other in m.rules
	j < i
	other.leaf == r.leaf
}
