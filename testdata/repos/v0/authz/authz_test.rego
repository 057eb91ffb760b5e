package authz_test

import data.authz

test_admin_allowed {
	authz.allow with input as {"user": "admin"}
}
