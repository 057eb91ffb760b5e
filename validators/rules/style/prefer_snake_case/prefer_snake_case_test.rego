package validators.style.prefer_snake_case_test

import data.validators.style.prefer_snake_case

run(rule_leaf, var_name) := fs if {
	fs := prefer_snake_case.findings with input as {"modules": [{
		"file": "p.rego",
		"rules": [{"leaf": rule_leaf, "line": 3}],
		"vars": [{"name": var_name, "rule": rule_leaf, "line": 4}],
	}]}
}

test_cases if {
	every tc in [
		{"rule": "is_admin", "var": "user_id", "want": 0},
		{"rule": "isAdmin", "var": "user_id", "want": 1},
		{"rule": "is_admin", "var": "userID", "want": 1},
		{"rule": "IsAdmin", "var": "UserID", "want": 2},
	] {
		count(run(tc.rule, tc.var)) == tc.want
	}
}
