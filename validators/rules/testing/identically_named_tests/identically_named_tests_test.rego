package validators.testing.identically_named_tests_test

import data.validators.testing.identically_named_tests

run(leaves) := fs if {
	fs := identically_named_tests.findings with input as {"modules": [{
		"file": "p_test.rego",
		"rules": [{"leaf": leaf, "line": i + 1} | some i, leaf in leaves],
	}]}
}

test_duplicate_reported_at_second if {
	[f] := [x | some x in run(["test_a", "test_b", "test_a"])]
	f.line == 3
}

test_unique_names_are_clean if count(run(["test_a", "test_b"])) == 0

test_non_test_duplicates_are_ignored if count(run(["deny", "deny"])) == 0
