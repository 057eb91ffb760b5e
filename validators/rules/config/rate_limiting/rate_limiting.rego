# METADATA
# title: Rate limiting configured
# description: >-
#   A decision API reachable from the network should bound its request rate
#   (server.rate_limit.enabled). On loopback this is reported for information only.
# custom:
#   category: config
#   severity: warning
package validators.config.rate_limiting

import data.validators.lib

findings contains object.union(lib.config_location, {
	"rule": "config/rate-limiting",
	"severity": "warning",
	"message": sprintf(
		"the decision API listens on %q without rate limiting: set server.rate_limit.enabled",
		[server.addr],
	),
}) if {
	server := input.config.server
	not server.rate_limit.enabled
	not lib.loopback(server.addr)
}

findings contains object.union(lib.config_location, {
	"rule": "config/rate-limiting",
	"severity": "info",
	"message": sprintf("rate limiting is off for the decision API on %q (loopback only)", [server.addr]),
}) if {
	server := input.config.server
	not server.rate_limit.enabled
	lib.loopback(server.addr)
}
