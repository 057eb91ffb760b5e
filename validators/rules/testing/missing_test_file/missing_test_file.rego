# METADATA
# title: Module without tests beside it
# description: >-
#   Every policy module has a _test.rego file in its directory, so that a change
#   to it can be checked by a test.
# custom:
#   category: testing
#   severity: warning
package validators.testing.missing_test_file

import data.validators.lib

tested_dirs := {dir |
	some f in input.files
	endswith(f, "_test.rego")
	dir := dirname(f)
}

dirname(f) := concat("/", array.slice(parts, 0, count(parts) - 1)) if {
	parts := split(f, "/")
	count(parts) > 1
} else := "."

findings contains {
	"rule": "testing/missing-test-file",
	"severity": "warning",
	"file": m.file,
	"line": m.package_line,
	"message": sprintf("no _test.rego file in %s: add tests for this module", [dirname(m.file)]),
} if {
	some m in lib.policy_modules
	count(m.rules) > 0
	not dirname(m.file) in tested_dirs
}
