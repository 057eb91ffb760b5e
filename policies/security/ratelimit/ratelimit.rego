# METADATA
# title: Rate limits per client tier and role
# description: >-
#   Computes the request limit of a client from its tier (free, pro,
#   enterprise; unknown tiers fall back to the default tier) multiplied by the
#   largest multiplier of its roles, and allows the request while the client's
#   count in the current one-minute window is below that limit. The burst value
#   is returned for enforcers that run a token bucket. Configuration is read
#   from data.config.ratelimit.
# custom:
#   component: ratelimit
#   severity: medium
package security.ratelimit

cfg := data.config.ratelimit

# The client's tier when configured, else the default tier.
tier := name if {
	name := input.client.tier
	cfg.tiers[name]
} else := cfg.default_tier

# Largest multiplier among the client's roles; 1 when none applies.
multiplier := max({1} | {m | some role in input.client.roles; m := cfg.role_multipliers[role]})

# METADATA
# title: Limit
# description: The client's tier, requests allowed per minute and burst size.
limit := {
	"tier": tier,
	"requests_per_minute": floor(cfg.tiers[tier].requests_per_minute * multiplier),
	"burst": floor(cfg.tiers[tier].burst * multiplier),
}

# METADATA
# title: Allow
# scope: document
# description: True while input.requests_in_window is below the client's requests_per_minute.
# entrypoint: true
default allow := false

allow if {
	count_is_number
	input.requests_in_window < limit.requests_per_minute
}

# Requests left in the current window (0 once the limit is reached).
remaining := max([0, limit.requests_per_minute - input.requests_in_window]) if {
	count_is_number
} else := 0

count_is_number if is_number(input.requests_in_window)

# METADATA
# title: Denial reasons
# scope: document
# description: Human-readable reasons for a denial; empty when the request is allowed.
reasons contains "request has no numeric requests_in_window" if not count_is_number

reasons contains msg if {
	count_is_number
	not allow
	msg := sprintf("client %v made %v requests in the current window; the %v limit is %v per minute", [
		object.get(input, ["client", "id"], "<unknown>"),
		input.requests_in_window,
		tier,
		limit.requests_per_minute,
	])
}

# METADATA
# title: Decision
# description: The allow flag, the applied limit, the remaining requests and denial reasons.
# entrypoint: true
decision := {
	"allow": allow,
	"limit": limit,
	"remaining": remaining,
	"reasons": reasons,
}
