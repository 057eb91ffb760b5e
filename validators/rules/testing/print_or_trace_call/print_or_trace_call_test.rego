package validators.testing.print_or_trace_call_test

import data.validators.testing.print_or_trace_call

run(name, is_test) := fs if {
	fs := print_or_trace_call.findings with input as {"modules": [{
		"file": "p.rego",
		"is_test": is_test,
		"calls": [{"name": name, "rule": "allow", "line": 7}],
	}]}
}

test_cases if {
	every tc in [
		{"name": "print", "is_test": false, "want": 1},
		{"name": "trace", "is_test": false, "want": 1},
		{"name": "print", "is_test": true, "want": 0},
		{"name": "sprintf", "is_test": false, "want": 0},
	] {
		count(run(tc.name, tc.is_test)) == tc.want
	}
}
