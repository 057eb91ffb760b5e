package authz_test

import data.authz

test_manager_allowed if {
	authz.allow with input as {"user": {"role": "manager", "name": "m"}, "roles": ["admin"]}
}

test_guest_denied if {
	print("allow is", authz.allow) with input as {"user": {"role": "guest", "name": "g"}, "roles": ["guest"]}
	not authz.allow with input as {"user": {"role": "guest", "name": "g"}, "roles": ["guest"]}
}
