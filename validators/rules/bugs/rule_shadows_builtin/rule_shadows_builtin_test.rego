package validators.bugs.rule_shadows_builtin_test

import data.validators.bugs.rule_shadows_builtin

test_cases if {
	every name, want in {"count": 1, "startswith": 1, "allow": 0, "counts": 0} {
		count(rule_shadows_builtin.findings) == want with input as {
			"builtins": ["count", "startswith", "sum"],
			"modules": [{"file": "p.rego", "rules": [{"name": name, "line": 4}]}],
		}
	}
}
