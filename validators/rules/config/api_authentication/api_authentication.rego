# METADATA
# title: Decision API requires authentication
# description: >-
#   The decision API must authenticate its clients (server.authentication.mode: token)
#   whenever it listens on an address other than loopback. On loopback the sidecar is
#   reachable only from the host, which is reported for information.
# custom:
#   category: config
#   severity: error
package validators.config.api_authentication

import data.validators.lib

findings contains object.union(lib.config_location, {
	"rule": "config/api-authentication",
	"severity": "error",
	"message": sprintf(
		"the decision API listens on %q without authentication: set server.authentication.mode to token",
		[server.addr],
	),
}) if {
	server := input.config.server
	lib.auth_disabled(server)
	not lib.loopback(server.addr)
}

findings contains object.union(lib.config_location, {
	"rule": "config/api-authentication",
	"severity": "info",
	"message": sprintf(
		"the decision API on %q has no authentication; acceptable only because loopback is reachable from this host alone",
		[server.addr],
	),
}) if {
	server := input.config.server
	lib.auth_disabled(server)
	lib.loopback(server.addr)
}
