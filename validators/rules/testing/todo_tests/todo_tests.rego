# METADATA
# title: Skipped test
# description: todo_test_ rules are skipped by the tester; finish or remove them.
# custom:
#   category: testing
#   severity: warning
package validators.testing.todo_tests

findings contains {
	"rule": "testing/todo-tests",
	"severity": "warning",
	"file": m.file,
	"line": r.line,
	"message": sprintf("test %s is skipped (todo_test_ prefix)", [r.leaf]),
} if {
	some m in input.modules
	some r in m.rules
	startswith(r.leaf, "todo_test_")
}
