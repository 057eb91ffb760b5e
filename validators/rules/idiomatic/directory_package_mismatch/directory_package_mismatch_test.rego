package validators.idiomatic.directory_package_mismatch_test

import data.validators.idiomatic.directory_package_mismatch

run(dir, pkg) := fs if {
	fs := directory_package_mismatch.findings with input as {"modules": [{
		"file": "x.rego",
		"package": concat(".", pkg),
		"package_parts": pkg,
		"package_line": 1,
		"rel_dir": dir,
	}]}
}

test_cases if {
	every tc in [
		{"dir": ["security", "authz"], "pkg": ["security", "authz"], "want": 0},
		{"dir": ["policies", "security", "authz"], "pkg": ["security", "authz"], "want": 0},
		{"dir": ["security", "authz"], "pkg": ["security", "authz_test"], "want": 0},
		{"dir": ["style", "line_length"], "pkg": ["validators", "style", "line_length"], "want": 0},
		{"dir": [], "pkg": ["syscall"], "want": 0},
		{"dir": ["security"], "pkg": ["security", "authz"], "want": 1},
		{"dir": ["authz", "security"], "pkg": ["security", "authz"], "want": 1},
		{"dir": ["compliance"], "pkg": ["compliance", "soc2"], "want": 1},
	] {
		count(run(tc.dir, tc.pkg)) == tc.want
	}
}
