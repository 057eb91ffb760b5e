# METADATA
# title: File is not formatted with opa fmt
# description: opa fmt would change this file; formatted files keep diffs to what changed.
# custom:
#   category: style
#   severity: info
package validators.style.opa_fmt

findings contains {
	"rule": "style/opa-fmt",
	"severity": "info",
	"file": m.file,
	"line": 1,
	"message": "opa fmt would reformat this file: run opa fmt -w",
} if {
	some m in input.modules
	m.formatted == false
}
