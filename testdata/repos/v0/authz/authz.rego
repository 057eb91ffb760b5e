# METADATA
# title: Legacy authorization
# description: Written in Rego v0 syntax; loads only with --v0-compatible.
# custom:
#   component: authz
#   severity: medium
package authz

default allow = false

allow {
	input.user == "admin"
}

deny[msg] {
	input.user == "guest"
	msg := "guests are denied"
}
