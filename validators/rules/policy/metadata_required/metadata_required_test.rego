package validators.policy.metadata_required_test

import data.validators.policy.metadata_required

full := {
	"title": "T",
	"description": "D",
	"custom": {"component": "authz", "severity": "high", "controls": ["CC6.1"]},
	"line": 1,
}

module(pkg, md) := {"file": "p.rego", "package": pkg, "package_line": 5, "is_test": false, "metadata": md}

test_annotated_module_is_clean if {
	count(metadata_required.findings) == 0 with input as {"modules": [module("security.authz", full)]}
}

test_missing_metadata_reports_every_field if {
	bare := {"file": "p.rego", "package": "security.authz", "package_line": 5, "is_test": false}
	fs := metadata_required.findings with input as {"modules": [bare]}
	count(fs) == 4
	every f in fs {
		f.line == 5
	}
}

test_compliance_needs_controls if {
	md := json.remove(full, ["custom/controls"])
	[f] := [x | some x in metadata_required.findings] with input as {"modules": [module("compliance.soc2", md)]}
	contains(f.message, "custom.controls")
}

test_empty_value_counts_as_missing if {
	md := json.patch(full, [{"op": "replace", "path": "/title", "value": ""}])
	[f] := [x | some x in metadata_required.findings] with input as {"modules": [module("security.authz", md)]}
	contains(f.message, "title")
}

test_validator_rules_need_category if {
	md := {"title": "T", "description": "D", "custom": {"category": "style", "severity": "warning"}, "line": 1}
	count(metadata_required.findings) == 0 with input as {"modules": [module("validators.style.x", md)]}
}

test_test_modules_are_exempt if {
	m := {"file": "p_test.rego", "package": "p_test", "package_line": 1, "is_test": true}
	count(metadata_required.findings) == 0 with input as {"modules": [m]}
}

test_compliance_helpers_need_no_controls if {
	md := json.remove(full, ["custom/controls"])
	count(metadata_required.findings) == 0 with input as {"modules": [module("compliance.lib", md)]}
}

test_package_split_over_files_needs_metadata_once if {
	other := {"file": "q.rego", "package": "security.authz", "package_line": 1, "is_test": false}
	count(metadata_required.findings) == 0 with input as {"modules": [module("security.authz", full), other]}
}

test_missing_metadata_points_at_first_file if {
	a := {"file": "a.rego", "package": "x", "package_line": 3, "is_test": false}
	b := {"file": "b.rego", "package": "x", "package_line": 1, "is_test": false}
	fs := metadata_required.findings with input as {"modules": [a, b]}
	every f in fs {
		f.file == "a.rego"
		f.line == 3
	}
	count(fs) == 4
}
