# METADATA
# title: Rule shadows built-in function
# description: >-
#   A rule named like a built-in function (count, contains, startswith...) hides
#   the built-in within its package and confuses readers.
# custom:
#   category: bugs
#   severity: error
package validators.bugs.rule_shadows_builtin

builtins := {name | some name in input.builtins}

findings contains {
	"rule": "bugs/rule-shadows-builtin",
	"severity": "error",
	"file": m.file,
	"line": r.line,
	"message": sprintf("rule %s shadows the built-in function of the same name", [r.name]),
} if {
	some m in input.modules
	some r in m.rules
	r.name in builtins
}
