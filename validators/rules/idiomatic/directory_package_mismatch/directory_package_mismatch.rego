# METADATA
# title: Directory structure mirrors the package
# description: >-
#   A module in package a.b belongs in a directory ending in a/b (relative to the
#   PATH argument), so that files are found by their package. Test packages may
#   add _test. When the directory is shallower than the package, the directory
#   must match the package's trailing components (a library root such as
#   validators/ need not be spelled out).
# custom:
#   category: idiomatic
#   severity: warning
package validators.idiomatic.directory_package_mismatch

expected(m) := array.concat(
	array.slice(m.package_parts, 0, count(m.package_parts) - 1),
	[trim_suffix(m.package_parts[count(m.package_parts) - 1], "_test")],
)

tail(xs, n) := array.slice(xs, count(xs) - n, count(xs))

mirrors(dir, pkg) if {
	count(dir) >= count(pkg)
	tail(dir, count(pkg)) == pkg
}

mirrors(dir, pkg) if {
	count(dir) < count(pkg)
	tail(pkg, count(dir)) == dir
}

findings contains {
	"rule": "idiomatic/directory-package-mismatch",
	"severity": "warning",
	"file": m.file,
	"line": m.package_line,
	"message": sprintf(
		"package %s is in directory %q: expected a directory ending in %q",
		[m.package, concat("/", m.rel_dir), concat("/", expected(m))],
	),
} if {
	some m in input.modules
	not mirrors(m.rel_dir, expected(m))
}
