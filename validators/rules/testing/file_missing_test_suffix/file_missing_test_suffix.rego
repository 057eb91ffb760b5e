# METADATA
# title: Test file without _test suffix
# description: Files holding tests end in _test.rego, so that they can be told apart and left out of bundles.
# custom:
#   category: testing
#   severity: warning
package validators.testing.file_missing_test_suffix

import data.validators.lib

findings contains {
	"rule": "testing/file-missing-test-suffix",
	"severity": "warning",
	"file": m.file,
	"line": m.package_line,
	"message": "this file holds tests but its name does not end in _test.rego",
} if {
	some m in input.modules
	not m.is_test
	some r in m.rules
	lib.is_test_rule(r)
}
