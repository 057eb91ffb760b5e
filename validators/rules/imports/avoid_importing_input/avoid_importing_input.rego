# METADATA
# title: Avoid importing input
# description: >-
#   Importing input (or part of it) hides where a value comes from. Refer to
#   input.x where it is used.
# custom:
#   category: imports
#   severity: warning
package validators.imports.avoid_importing_input

findings contains {
	"rule": "imports/avoid-importing-input",
	"severity": "warning",
	"file": m.file,
	"line": imp.line,
	"message": sprintf("import %s: refer to input directly instead of importing it", [imp.path]),
} if {
	some m in input.modules
	some imp in m.imports
	imp.parts[0] == "input"
}
