# METADATA
# title: No rule defaults to allow
# description: >-
#   A default of true for an allow/permit/authorized rule grants access whenever
#   no other rule body matches, including on malformed input. Default to false
#   and allow explicitly.
# custom:
#   category: policy
#   severity: error
package validators.policy.default_allow

findings contains {
	"rule": "policy/default-allow",
	"severity": "error",
	"file": m.file,
	"line": r.line,
	"message": sprintf("default %s := true grants access when nothing else matches: default to false", [r.head_ref]),
} if {
	some m in input.modules
	not m.is_test
	some r in m.rules
	r.default
	r.default_value == true
	regex.match(`(?i)(allow|permit|authori[sz]e)`, r.leaf)
}
