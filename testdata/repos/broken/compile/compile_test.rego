package compile_test

import data.compile

test_get_allowed if {
	compile.allow with input as {"method": "GET", "user": usr}
}
