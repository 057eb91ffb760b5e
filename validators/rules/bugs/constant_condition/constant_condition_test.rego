package validators.bugs.constant_condition_test

import data.validators.bugs.constant_condition

op(t, x) := {"type": t, "text": x, "wildcard": false}

run(e) := fs if {
	expr := object.union({"line": 3, "rule": "allow"}, e)
	fs := constant_condition.findings with input as {"modules": [{"file": "p.rego", "exprs": [expr]}]}
}

test_cases if {
	every tc in [
		{"e": {"op": "equal", "operands": [op("number", "1"), op("number", "1")]}, "want": 1},
		{"e": {"op": "neq", "operands": [op("string", "\"a\""), op("string", "\"b\"")]}, "want": 1},
		{"e": {"op": "equal", "operands": [op("ref", "input.x"), op("number", "1")]}, "want": 0},
		{"e": {"op": "assign", "operands": [op("var", "x"), op("number", "1")]}, "want": 0},
		{"e": {"op": "", "operands": [op("boolean", "true")]}, "want": 0},
	] {
		count(run(tc.e)) == tc.want
	}
}

test_message_shows_the_condition if {
	[f] := [x | some x in run({"op": "equal", "operands": [op("number", "1"), op("number", "1")]})]
	contains(f.message, "1 == 1")
	f.line == 3
}
