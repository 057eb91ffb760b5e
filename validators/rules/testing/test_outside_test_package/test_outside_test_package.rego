# METADATA
# title: Test outside test package
# description: >-
#   Tests belong in a package ending in _test, so that they are not part of the
#   policy's own package (and not shipped in its bundle documents).
# custom:
#   category: testing
#   severity: warning
package validators.testing.test_outside_test_package

import data.validators.lib

findings contains {
	"rule": "testing/test-outside-test-package",
	"severity": "warning",
	"file": m.file,
	"line": r.line,
	"message": sprintf("test %s is in package %s: put tests in package %s_test", [r.leaf, m.package, m.package]),
} if {
	some m in input.modules
	not endswith(m.package, "_test")
	some r in m.rules
	lib.is_test_rule(r)
}
