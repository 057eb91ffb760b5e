package validators.imports.prefer_package_imports_test

import data.validators.imports.prefer_package_imports

lib := {"file": "lib.rego", "package": "lib.util", "imports": []}

run(parts) := fs if {
	fs := prefer_package_imports.findings with input as {"modules": [
		lib,
		{"file": "p.rego", "package": "p", "imports": [{"path": concat(".", parts), "parts": parts, "line": 3}]},
	]}
}

test_rule_import_is_reported if count(run(["data", "lib", "util", "is_admin"])) == 1

test_package_import_is_clean if count(run(["data", "lib", "util"])) == 0

test_unknown_import_is_clean if count(run(["data", "config", "authz"])) == 0
