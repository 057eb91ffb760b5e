package validators.testing.file_missing_test_suffix_test

import data.validators.testing.file_missing_test_suffix

run(file, is_test) := fs if {
	fs := file_missing_test_suffix.findings with input as {"modules": [{
		"file": file,
		"is_test": is_test,
		"package_line": 1,
		"rules": [{"leaf": "test_a", "line": 3}, {"leaf": "test_b", "line": 4}],
	}]}
}

test_tests_in_plain_file_reported_once if count(run("authz.rego", false)) == 1

test_tests_in_test_file_are_clean if count(run("authz_test.rego", true)) == 0
