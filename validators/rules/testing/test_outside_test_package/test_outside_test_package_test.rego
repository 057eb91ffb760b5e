package validators.testing.test_outside_test_package_test

import data.validators.testing.test_outside_test_package

run(pkg) := fs if {
	fs := test_outside_test_package.findings with input as {"modules": [{
		"file": "p_test.rego",
		"package": pkg,
		"rules": [{"leaf": "test_allow", "line": 5}, {"leaf": "allow", "line": 9}],
	}]}
}

test_test_in_policy_package_is_reported if count(run("security.authz")) == 1

test_test_in_test_package_is_clean if count(run("security.authz_test")) == 0
