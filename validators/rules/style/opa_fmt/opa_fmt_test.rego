package validators.style.opa_fmt_test

import data.validators.style.opa_fmt

test_unformatted_is_reported if {
	count(opa_fmt.findings) == 1 with input as {"modules": [{"file": "p.rego", "formatted": false}]}
}

test_formatted_or_unknown_is_clean if {
	count(opa_fmt.findings) == 0 with input as {"modules": [{"file": "p.rego", "formatted": true}, {"file": "q.rego"}]}
}
