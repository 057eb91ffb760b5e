package validators.style.line_length_test

import data.validators.style.line_length

long := sprintf("x := %0120d", [0])

run(lines) := fs if {
	fs := line_length.findings with input as {"modules": [{"file": "p.rego", "lines": lines}]}
}

test_long_line_is_reported if {
	[f] := [x | some x in run(["package p", "", long])]
	f.line == 3
	f.col == 121
}

test_line_at_limit_is_clean if count(run([sprintf("%0120d", [0])])) == 0

test_url_line_is_exempt if count(run([concat("", ["# see https://example.com/", long])])) == 0
