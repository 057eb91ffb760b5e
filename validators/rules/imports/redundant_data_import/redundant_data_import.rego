# METADATA
# title: Redundant import of data
# description: import data adds nothing; data is always in scope.
# custom:
#   category: imports
#   severity: warning
package validators.imports.redundant_data_import

findings contains {
	"rule": "imports/redundant-data-import",
	"severity": "warning",
	"file": m.file,
	"line": imp.line,
	"message": "import data is redundant: data is always in scope",
} if {
	some m in input.modules
	some imp in m.imports
	imp.path == "data"
}
