package validators.testing.todo_tests_test

import data.validators.testing.todo_tests

run(leaf) := fs if {
	fs := todo_tests.findings with input as {"modules": [{"file": "p_test.rego", "rules": [{"leaf": leaf, "line": 2}]}]}
}

test_todo_test_is_reported if count(run("todo_test_deny_root")) == 1

test_normal_test_is_clean if count(run("test_deny_root")) == 0
