package validators.imports.avoid_importing_input_test

import data.validators.imports.avoid_importing_input

run(parts) := fs if {
	fs := avoid_importing_input.findings with input as {"modules": [{
		"file": "p.rego",
		"imports": [{"path": concat(".", parts), "parts": parts, "line": 3}],
	}]}
}

test_import_input_is_reported if count(run(["input"])) == 1

test_import_input_path_is_reported if count(run(["input", "user"])) == 1

test_import_data_is_clean if count(run(["data", "lib"])) == 0
