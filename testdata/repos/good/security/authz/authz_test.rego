package security.authz_test

import data.security.authz

test_admin_allowed if {
	authz.allow with input as {"user": "alice", "method": "DELETE"}
}

test_owner_reads if {
	authz.allow with input as {"user": "bob", "method": "GET", "resource": {"owner": "bob"}}
}

test_other_denied if {
	not authz.allow with input as {"user": "bob", "method": "GET", "resource": {"owner": "carol"}}
}
