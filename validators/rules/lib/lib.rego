# METADATA
# title: Validator rule helpers
# description: Shared helpers for validator rules. Emits no findings of its own.
# custom:
#   category: lib
#   severity: info
package validators.lib

# policy_modules are the modules that are not tests.
policy_modules contains m if {
	some m in input.modules
	not m.is_test
}

# in_namespace is true when pkg is ns or a package below it.
in_namespace(pkg, ns) if pkg == ns

in_namespace(pkg, ns) if startswith(pkg, concat("", [ns, "."]))

# is_test_rule is true for rules the tester runs or skips.
is_test_rule(r) if startswith(r.leaf, "test_")

is_test_rule(r) if startswith(r.leaf, "todo_test_")

# auth_disabled is true when the decision API accepts anonymous clients.
auth_disabled(server) if object.get(server, ["authentication", "mode"], "none") in {"none", ""}

# addr_host extracts the host of host:port, [v6]:port or :port ("" for all interfaces).
addr_host(addr) := match[1] if {
	match := regex.find_all_string_submatch_n(`^\[?([^\]]*?)\]?:[0-9]+$`, addr, 1)[0]
}

# loopback is true when addr is reachable only from this host.
loopback(addr) if startswith(addr, "unix:")

loopback(addr) if addr_host(addr) in {"localhost", "::1", "ip6-localhost"}

loopback(addr) if {
	host := addr_host(addr)
	regex.match(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`, host)
	net.cidr_contains("127.0.0.0/8", host)
}

# config_location is where findings about the configuration point.
config_location := {"file": input.config_file, "line": 0}
