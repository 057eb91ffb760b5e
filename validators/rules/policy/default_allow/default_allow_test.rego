package validators.policy.default_allow_test

import data.validators.policy.default_allow

module(rules) := {"file": "p.rego", "is_test": false, "rules": rules}

test_cases if {
	every tc in [
		{"leaf": "allow", "value": true, "want": 1},
		{"leaf": "permit", "value": true, "want": 1},
		{"leaf": "is_authorized", "value": true, "want": 1},
		{"leaf": "allow", "value": false, "want": 0},
		{"leaf": "deny", "value": true, "want": 0},
	] {
		r := {"head_ref": tc.leaf, "leaf": tc.leaf, "default": true, "default_value": tc.value, "line": 3}
		count(default_allow.findings) == tc.want with input as {"modules": [module([r])]}
	}
}

test_non_default_allow_true_is_clean if {
	r := {"head_ref": "allow", "leaf": "allow", "default": false, "value": true, "line": 3}
	count(default_allow.findings) == 0 with input as {"modules": [module([r])]}
}

test_finding_names_file_and_line if {
	r := {"head_ref": "allow", "leaf": "allow", "default": true, "default_value": true, "line": 9}
	[f] := [x | some x in default_allow.findings] with input as {"modules": [module([r])]}
	f.file == "p.rego"
	f.line == 9
}
