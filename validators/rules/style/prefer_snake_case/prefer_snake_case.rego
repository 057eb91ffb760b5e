# METADATA
# title: Prefer snake_case names
# description: Rule, function and variable names are snake_case, as in the Rego style guide.
# custom:
#   category: style
#   severity: warning
package validators.style.prefer_snake_case

camel(name) if regex.match(`[A-Z]`, name)

findings contains {
	"rule": "style/prefer-snake-case",
	"severity": "warning",
	"file": m.file,
	"line": r.line,
	"message": sprintf("rule %s: use snake_case", [r.leaf]),
} if {
	some m in input.modules
	some r in m.rules
	camel(r.leaf)
}

findings contains {
	"rule": "style/prefer-snake-case",
	"severity": "warning",
	"file": m.file,
	"line": v.line,
	"message": sprintf("variable %s in rule %s: use snake_case", [v.name, v.rule]),
} if {
	some m in input.modules
	some v in m.vars
	camel(v.name)
}
