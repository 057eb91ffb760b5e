# METADATA
# title: Prefer importing packages
# description: >-
#   Import the package (import data.lib) and refer to lib.rule, rather than
#   importing a single rule: the reference then says where it comes from.
# custom:
#   category: imports
#   severity: warning
package validators.imports.prefer_package_imports

packages := {m.package | some m in input.modules}

findings contains {
	"rule": "imports/prefer-package-imports",
	"severity": "warning",
	"file": m.file,
	"line": imp.line,
	"message": sprintf("import %s imports a rule of package %s: import the package instead", [imp.path, pkg]),
} if {
	some m in input.modules
	some imp in m.imports
	imp.parts[0] == "data"
	target := concat(".", array.slice(imp.parts, 1, count(imp.parts)))
	not target in packages
	some pkg in packages
	startswith(target, concat("", [pkg, "."]))
}
