package validators.bugs.not_equals_in_loop_test

import data.validators.bugs.not_equals_in_loop

run(ops) := fs if {
	expr := {"line": 2, "rule": "r", "op": "neq", "operands": ops}
	fs := not_equals_in_loop.findings with input as {"modules": [{"file": "p.rego", "exprs": [expr]}]}
}

y := {"type": "string", "text": "\"y\"", "wildcard": false}

test_wildcard_ref_is_reported if {
	count(run([{"type": "ref", "text": "input.xs[_]", "wildcard": true}, y])) == 1
}

test_plain_ref_is_clean if {
	count(run([{"type": "ref", "text": "input.x", "wildcard": false}, y])) == 0
}
