# METADATA
# title: API authorization
# description: Admins may do anything; users may read what they own.
# custom:
#   component: authz
#   severity: high
package security.authz

default allow := false

allow if input.user in data.config.authz.admins

allow if {
	input.method == "GET"
	input.resource.owner == input.user
}
