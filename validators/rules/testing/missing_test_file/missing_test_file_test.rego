package validators.testing.missing_test_file_test

import data.validators.testing.missing_test_file

mod(file) := {"file": file, "is_test": false, "package_line": 1, "rules": [{"leaf": "allow"}]}

test_untested_module_is_reported if {
	files := ["a/authz.rego", "b/x_test.rego"]
	fs := missing_test_file.findings with input as {"files": files, "modules": [mod("a/authz.rego")]}
	count(fs) == 1
}

test_tested_module_is_clean if {
	files := ["a/authz.rego", "a/authz_test.rego"]
	fs := missing_test_file.findings with input as {"files": files, "modules": [mod("a/authz.rego")]}
	count(fs) == 0
}

test_root_level_files if {
	files := ["authz.rego", "authz_test.rego"]
	fs := missing_test_file.findings with input as {"files": files, "modules": [mod("authz.rego")]}
	count(fs) == 0
}
