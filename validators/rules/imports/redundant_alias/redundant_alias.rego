# METADATA
# title: Redundant import alias
# description: import data.a.b as b names b twice; drop the alias.
# custom:
#   category: imports
#   severity: warning
package validators.imports.redundant_alias

findings contains {
	"rule": "imports/redundant-alias",
	"severity": "warning",
	"file": m.file,
	"line": imp.line,
	"message": sprintf("import %s as %s: the alias repeats the last path component", [imp.path, imp.alias]),
} if {
	some m in input.modules
	some imp in m.imports
	imp.alias != ""
	imp.alias == imp.parts[count(imp.parts) - 1]
}
