# METADATA
# title: TODO comment
# description: TODO and FIXME comments mark unfinished policy; track the work in an issue instead.
# custom:
#   category: style
#   severity: warning
package validators.style.todo_comment

findings contains {
	"rule": "style/todo-comment",
	"severity": "warning",
	"file": m.file,
	"line": c.line,
	"message": sprintf("unfinished work: %s", [trim_space(c.text)]),
} if {
	some m in input.modules
	some c in m.comments
	regex.match(`(?i)^\s*(todo|fixme)\b`, c.text)
}
