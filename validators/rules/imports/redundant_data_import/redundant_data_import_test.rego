package validators.imports.redundant_data_import_test

import data.validators.imports.redundant_data_import

run(p) := fs if {
	imports := [{"path": p, "line": 3}]
	fs := redundant_data_import.findings with input as {"modules": [{"file": "p.rego", "imports": imports}]}
}

test_import_data_is_reported if count(run("data")) == 1

test_import_data_path_is_clean if count(run("data.lib")) == 0
