package security.authn_test

import data.security.authn

# Test-only signing keys. They are trusted only inside these tests, through
# "with data.config.authn as trusted_config"; the shipped JWKS is empty.
es256_key := {
	"kty": "EC",
	"crv": "P-256",
	"kid": "test-es",
	"alg": "ES256",
	"x": "WtGn6pdVYNG9h7JgH4taGcTd-PBRT4YubSpFt2gQec0",
	"y": "u4aNngCcNCwJXMG98tyQjXFf3TaOliPxlPQhFTKxdmA",
	"d": "jvdaKyynMlk4NP9m9rMvbFt8j1AyYXCwq3WnQiVAsF4",
}

# A second P-256 key that the test JWKS does not contain.
rogue_key := {
	"kty": "EC",
	"crv": "P-256",
	"kid": "test-es",
	"alg": "ES256",
	"x": "VuHf3XkDZ-xKipFbvwve2WnlKnEGgqqxOqzAH1ucKMc",
	"y": "Mp__60XvExo3CTJnBVdLkCB_SOpEBDjim3TN-XXKVpk",
	"d": "P1SgXY3xtIu6wP2zXmyc2_nSPL2DYto6p-W6sZk6e6s",
}

rs256_key := {
	"kty": "RSA",
	"kid": "test-rsa",
	"alg": "RS256",
	"n": concat("", [
		"vik5yVpx9JI9BMHmeTpzHOgyoQVWiWUqnmTjsaklKHTAf84l6SS3iOCCXu-B4wpfGkLox1suoD0z7aJ59lK617aZ1VEsFbcgt-Z9",
		"bZiZntJ2COSlcyKv7KvNQce-n5j0TkMBrpFRgRVaFI3MJwYpTV-R9PiUHQ9233bNoiVd5-EMsGhSOvWaGeMZJBK0aiKP2UocQzJA",
		"oelThA5_gqBoeovXlkhT6Vkqk3Lfl6hDgYUu28c8AqCkAj_vXBY1TLaSHW6SA3w9FffmZNc2zyYdVAavVE0C4WGML5vC7CmxXlx7",
		"bN6_rwfly7EAIh8rTcWlffT4Eh3X6sLEEtUUm5haPw",
	]),
	"e": "AQAB",
	"d": concat("", [
		"Uf1ydfeyRJI9Du0Pk1t5QJB5K-YiTrE48_xqFDLq24ujaDeZLvHu1GyAqbA434ycPrV0qmgNLXfWCPLSBTvcZZ_MqiYKjP5ddA1E",
		"LVnreogh7mmvUHo3QiM9J8yYyzVmuMu5UOxFKRPsuAn_aSAF9N9tDiOTsQf26BjQRsY3u_8Tgkd_boTBC4RgvivFrB6ujcjOG3aK",
		"2yE9eK9FFkDxuH2dJWnjeSUsIL8owUzf0engfzWanUBBzolM3NL9LdvtYQhkl197C_yYhaYK_U1bM_A64rlIHYUHUi4MA6Mx0tMA",
		"Sd0T4_A0lANT2mN2XFkuoz_2Lz0VfryZ51iL9i_vsQ",
	]),
	"p": concat("", [
		"_p8oC5wqA6ZCQhC4Fb8vaqMFPT4P_Z-42syXQMiHIBDOVGND0XEfBpBuj_hmiyx_vUfWlSCFL3xhL3vX9uV2WWIEPsSg-3A9eyxw",
		"Av7PBkASE5gle5v8rExopSn11a06U-gbftMf_KzJ6iVrZ2bwbeX_v5hxs9kaYSHeJ9wViUc",
	]),
	"q": concat("", [
		"vzC-Fy784F4JAZjMeXg4p4NyBEMWVhdcaire4YsNK5cXEilAPcUFNh9z4G_w9fVH9M6QgLvwnH8HcSxWQH9blrxlVjEqpuBSDjYR",
		"1gr0DdD20gxeFA00V9qr0SAdEZ_JIfmswqXtZWimRiRaidufAQg6trF3_JH_Iuq1kwqUo0k",
	]),
	"dp": concat("", [
		"UNimNXGDYZ9DwIhgev82hgx3GGgBWc2CO27kw7woM4VCjkbqfLEHYeUwReRgYuZhNO9_ceBeiaJblWEkRI-9UUovAOMcHloYG2kT",
		"s8_GWjyzwKb5l9MCmo60V2UIWq1jLMsxF8bfjDIs9nylKrLjunFiECrOR4Wyu46uZEecSvc",
	]),
	"dq": concat("", [
		"NpvWf8q1AeT6D5G0PbHABOC_jUYYOCjeBZkPJj7QWTYDqfVMWxhOP8JGF8IBgk836U2i6pJDzH9gAcxXKn72CxzumOrcMuP5rAN3",
		"nrpsMRIRnbdYm8OVws47qzTP-Lu5-FFXLhW0s_VrILe7gIrRZLsUAiC4k9SjmjaN_FzWTbk",
	]),
	"qi": concat("", [
		"T1AaZdmmKeXB0JipaRxkKskTxSr4E-o-g_sZ1UA5JjRK6ZR_jVr1KcGSwEelI7eYV-qTchznEXTz68FnWYkHAzaoc7FWyUDYB4Fg",
		"3-qDk8wtrVNKe-mJsYSmv1aNvNEtpM-luG2G5h5asgWJCF4P6K6CPfiADYfIQJJ33zlDC3Q",
	]),
}

trusted_config := object.union(data.config.authn, {
	"jwks": {"keys": [
		object.remove(es256_key, ["d"]),
		object.remove(rs256_key, ["d", "p", "q", "dp", "dq", "qi"]),
	]},
	"api_keys": {
		# sha256 of "bdk_ci_7f3a9c1e2b" and "bdk_ops_55d0e8a4f1".
		"ci": {"sha256": "ade58eeef143fd5b7df9bdc49f8e317128c0510f595a93ef20749e4f1242d63c", "actions": ["read", "deploy"]},
		"ops": {
			"sha256": "9ed22b16c4fc5b1ba29f37f3e30dcd9bc419e54e79e5541aac9c27e9a8465885",
			"actions": ["*"],
			"expires": "2026-12-31T00:00:00Z",
		},
	},
})

# 2026-11-25T10:00:00Z
now := 1795600800

claims := {
	"iss": "https://auth.belladonna.example",
	"aud": ["belladonna", "other"],
	"sub": "alice",
	"iat": now - 60,
	"nbf": now - 60,
	"exp": now + 3600,
	"amr": ["pwd"],
}

sign(key, payload) := io.jwt.encode_sign({"alg": key.alg, "kid": key.kid, "typ": "JWT"}, payload, key)

request(token) := {"token": token, "action": "read", "failed_attempts": 0, "context": {"time": "2026-11-25T10:00:00Z"}}

decision_for(req) := d if {
	d := authn.decision with input as req with data.config.authn as trusted_config
}

test_valid_es256_token if {
	d := decision_for(request(sign(es256_key, claims)))
	d == {"allow": true, "reasons": set()}
}

test_valid_rs256_token_with_string_audience if {
	token := sign(rs256_key, object.union(claims, {"aud": "belladonna"}))
	decision_for(request(token)) == {"allow": true, "reasons": set()}
}

test_expired_token if {
	token := sign(es256_key, object.union(claims, {"exp": now - 1}))
	decision_for(request(token)) == {"allow": false, "reasons": {"token expired at 2026-11-25T09:59:59Z"}}
}

test_token_expiring_exactly_now_is_expired if {
	token := sign(es256_key, object.union(claims, {"exp": now}))
	decision_for(request(token)) == {"allow": false, "reasons": {"token expired at 2026-11-25T10:00:00Z"}}
}

test_token_not_yet_valid if {
	token := sign(es256_key, object.union(claims, {"nbf": now + 300}))
	decision_for(request(token)) == {"allow": false, "reasons": {"token is not valid before 2026-11-25T10:05:00Z"}}
}

test_wrong_issuer if {
	token := sign(es256_key, object.union(claims, {"iss": "https://evil.example"}))
	decision_for(request(token)) == {"allow": false, "reasons": {"token issuer https://evil.example is not trusted"}}
}

test_missing_issuer if {
	token := sign(es256_key, object.remove(claims, ["iss"]))
	decision_for(request(token)) == {"allow": false, "reasons": {"token has no iss claim"}}
}

test_wrong_audience if {
	token := sign(es256_key, object.union(claims, {"aud": ["billing"]}))
	decision_for(request(token)) == {"allow": false, "reasons": {"token audience does not include belladonna"}}
}

test_missing_expiry if {
	token := sign(es256_key, object.remove(claims, ["exp"]))
	decision_for(request(token)) == {"allow": false, "reasons": {"token has no exp claim"}}
}

test_signature_from_unknown_key if {
	token := sign(rogue_key, claims)
	decision_for(request(token)) == {
		"allow": false,
		"reasons": {"token signature does not verify against the configured keys"},
	}
}

test_tampered_payload if {
	[header, _, signature] := split(sign(es256_key, claims), ".")
	forged := base64url.encode_no_pad(json.marshal(object.union(claims, {"sub": "root"})))
	token := concat(".", [header, forged, signature])
	decision_for(request(token)) == {
		"allow": false,
		"reasons": {"token signature does not verify against the configured keys"},
	}
}

test_hs256_token_rejected if {
	hmac_key := {"kty": "oct", "k": base64url.encode_no_pad("secret")}
	token := io.jwt.encode_sign({"alg": "HS256", "typ": "JWT"}, claims, hmac_key)
	decision_for(request(token)) == {"allow": false, "reasons": {"token algorithm HS256 is not allowed"}}
}

test_malformed_token if {
	decision_for(request("not.a.jwt")) == {"allow": false, "reasons": {"token is malformed"}}
}

test_shipped_config_trusts_no_key if {
	d := authn.decision with input as request(sign(es256_key, claims))
	d == {"allow": false, "reasons": {"token signature does not verify against the configured keys"}}
}

test_request_time_is_required if {
	req := json.remove(request(sign(es256_key, claims)), ["context/time"])
	decision_for(req) == {"allow": false, "reasons": {"request has no valid context.time"}}
}

test_undiagnosed_verification_failure_still_denies if {
	token := sign(es256_key, object.union(claims, {"exp": "never"}))
	decision_for(request(token)) == {"allow": false, "reasons": {"token failed verification"}}
}

test_privileged_action_requires_mfa if {
	req := object.union(request(sign(es256_key, claims)), {"action": "deploy"})
	decision_for(req) == {
		"allow": false,
		"reasons": {"action deploy requires multi-factor authentication (amr must include one of mfa, otp)"},
	}
}

test_privileged_action_with_mfa if {
	token := sign(es256_key, object.union(claims, {"amr": ["pwd", "otp"]}))
	decision_for(object.union(request(token), {"action": "deploy"})).allow
}

test_lockout_after_max_failed_attempts if {
	token := sign(es256_key, claims)
	decision_for(object.union(request(token), {"failed_attempts": 4})).allow
	decision_for(object.union(request(token), {"failed_attempts": 5})) == {
		"allow": false,
		"reasons": {"account locked after 5 failed attempts (limit 5)"},
	}
}

api_request(key, action) := {"api_key": key, "action": action, "context": {"time": "2026-11-25T10:00:00Z"}}

test_api_key_in_scope if {
	decision_for(api_request("bdk_ci_7f3a9c1e2b", "deploy")) == {"allow": true, "reasons": set()}
	authn.api_key_id == "ci" with input as api_request("bdk_ci_7f3a9c1e2b", "deploy")
		with data.config.authn as trusted_config
}

test_api_key_out_of_scope if {
	decision_for(api_request("bdk_ci_7f3a9c1e2b", "delete")) == {
		"allow": false,
		"reasons": {"API key ci is not allowed to perform delete"},
	}
}

test_api_key_wildcard_scope if {
	decision_for(api_request("bdk_ops_55d0e8a4f1", "delete")).allow
}

test_api_key_expired if {
	req := object.union(api_request("bdk_ops_55d0e8a4f1", "read"), {"context": {"time": "2027-01-01T00:00:00Z"}})
	decision_for(req) == {"allow": false, "reasons": {"API key ops expired at 2026-12-31T00:00:00Z"}}
}

test_api_key_expiry_needs_request_time if {
	req := json.remove(api_request("bdk_ops_55d0e8a4f1", "read"), ["context"])
	decision_for(req) == {"allow": false, "reasons": {"API key ops expired at 2026-12-31T00:00:00Z"}}
	decision_for(json.remove(api_request("bdk_ci_7f3a9c1e2b", "read"), ["context"])).allow
}

test_unknown_api_key if {
	decision_for(api_request("bdk_guess", "read")) == {"allow": false, "reasons": {"API key is not recognised"}}
}

test_digest_is_not_accepted_as_key if {
	digest := "ade58eeef143fd5b7df9bdc49f8e317128c0510f595a93ef20749e4f1242d63c"
	not decision_for(api_request(digest, "read")).allow
}

test_api_key_lockout if {
	req := object.union(api_request("bdk_ci_7f3a9c1e2b", "read"), {"failed_attempts": 9})
	decision_for(req) == {"allow": false, "reasons": {"account locked after 9 failed attempts (limit 5)"}}
}

test_no_credentials if {
	decision_for({"action": "read"}) == {
		"allow": false,
		"reasons": {"no credentials presented: send a token or an api_key"},
	}
}

test_both_credentials if {
	req := object.union(request(sign(es256_key, claims)), {"api_key": "bdk_ci_7f3a9c1e2b"})
	decision_for(req) == {"allow": false, "reasons": {"present either a token or an api_key, not both"}}
}
