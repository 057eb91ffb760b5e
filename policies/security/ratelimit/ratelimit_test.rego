package security.ratelimit_test

import data.security.ratelimit

request(client, count) := {"client": client, "requests_in_window": count}

test_free_tier_below_limit if {
	d := ratelimit.decision with input as request({"id": "c1", "tier": "free"}, 59)
	d == {
		"allow": true,
		"limit": {"tier": "free", "requests_per_minute": 60, "burst": 10},
		"remaining": 1,
		"reasons": set(),
	}
}

test_free_tier_at_limit if {
	d := ratelimit.decision with input as request({"id": "c1", "tier": "free"}, 60)
	d == {
		"allow": false,
		"limit": {"tier": "free", "requests_per_minute": 60, "burst": 10},
		"remaining": 0,
		"reasons": {"client c1 made 60 requests in the current window; the free limit is 60 per minute"},
	}
}

test_pro_tier if {
	ratelimit.limit == {"tier": "pro", "requests_per_minute": 600, "burst": 100} with input as request({"tier": "pro"}, 0)
	ratelimit.allow with input as request({"tier": "pro"}, 599)
	not ratelimit.allow with input as request({"tier": "pro"}, 600)
}

test_enterprise_tier if {
	r := request({"tier": "enterprise"}, 0)
	ratelimit.limit == {"tier": "enterprise", "requests_per_minute": 6000, "burst": 1000} with input as r
	ratelimit.allow with input as request({"tier": "enterprise"}, 5999)
}

test_admin_role_doubles_limit if {
	r := request({"id": "c2", "tier": "pro", "roles": ["admin"]}, 1000)
	ratelimit.limit == {"tier": "pro", "requests_per_minute": 1200, "burst": 200} with input as r
	ratelimit.allow with input as r
}

test_largest_role_multiplier_wins if {
	r := request({"tier": "free", "roles": ["admin", "service", "viewer"]}, 0)
	ratelimit.limit.requests_per_minute == 240 with input as r
}

test_unknown_role_keeps_tier_limit if {
	ratelimit.limit.requests_per_minute == 60 with input as request({"tier": "free", "roles": ["viewer"]}, 0)
}

test_unknown_tier_falls_back_to_default if {
	r := request({"id": "c3", "tier": "platinum"}, 60)
	ratelimit.limit.tier == "free" with input as r
	ratelimit.reasons == {
		"client c3 made 60 requests in the current window; the free limit is 60 per minute",
	} with input as r
}

test_missing_tier_falls_back_to_default if {
	ratelimit.limit.tier == "free" with input as request({"id": "c4"}, 1)
}

test_missing_count_is_denied if {
	d := ratelimit.decision with input as {"client": {"id": "c1", "tier": "pro"}}
	d.allow == false
	d.remaining == 0
	d.reasons == {"request has no numeric requests_in_window"}
}

test_string_count_is_denied if {
	r := request({"tier": "pro"}, "10")
	not ratelimit.allow with input as r
	ratelimit.reasons == {"request has no numeric requests_in_window"} with input as r
}

test_fractional_multiplier_rounds_down if {
	r := request({"tier": "free", "roles": ["beta"]}, 0)
	ratelimit.limit == {"tier": "free", "requests_per_minute": 90, "burst": 15} with input as r
		with data.config.ratelimit.role_multipliers as {"beta": 1.5}
}
