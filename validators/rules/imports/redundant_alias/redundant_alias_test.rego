package validators.imports.redundant_alias_test

import data.validators.imports.redundant_alias

run(alias) := fs if {
	fs := redundant_alias.findings with input as {"modules": [{
		"file": "p.rego",
		"imports": [{"path": "data.lib.util", "parts": ["data", "lib", "util"], "alias": alias, "line": 3}],
	}]}
}

test_same_alias_is_reported if count(run("util")) == 1

test_other_alias_is_clean if count(run("u")) == 0

test_no_alias_is_clean if count(run("")) == 0
