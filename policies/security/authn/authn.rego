# METADATA
# title: Authentication
# description: >-
#   Authenticates a request by a signed JWT (signature against the JWKS in
#   data.config.authn.jwks, issuer, audience, exp and nbf against
#   input.context.time) or by an API key (sha256 digest compared with the
#   digests in data.config.authn.api_keys, scoped to actions). Privileged
#   actions need a token whose amr claim shows multi-factor authentication, and
#   an account is locked out after too many failed attempts.
# custom:
#   component: authn
#   severity: critical
package security.authn

cfg := data.config.authn

request_ns := time.parse_rfc3339_ns(input.context.time)

uses_token if is_string(input.token)

uses_api_key if is_string(input.api_key)

# --- JWT ---------------------------------------------------------------------

jwks := json.marshal(cfg.jwks)

# The authoritative check: signature, iss, aud, exp and nbf in one call.
token_verified if {
	[valid, _, _] := io.jwt.decode_verify(input.token, {
		"cert": jwks,
		"iss": cfg.issuer,
		"aud": cfg.audience,
		"time": request_ns,
	})
	valid
}

# Unverified header and claims, used only to explain a failed verification and
# to read amr once token_verified holds.
token_parts := io.jwt.decode(input.token)

header := token_parts[0]

claims := token_parts[1]

signature_valid if {
	header.alg == "ES256"
	io.jwt.verify_es256(input.token, jwks)
}

signature_valid if {
	header.alg == "RS256"
	io.jwt.verify_rs256(input.token, jwks)
}

audience_ok if claims.aud == cfg.audience

audience_ok if cfg.audience in claims.aud

request_seconds := request_ns / 1000000000

token_findings contains "token is malformed" if not token_parts

token_findings contains sprintf("token algorithm %v is not allowed", [header.alg]) if {
	not header.alg in cfg.allowed_algorithms
}

token_findings contains "token signature does not verify against the configured keys" if {
	header.alg in cfg.allowed_algorithms
	not signature_valid
}

token_findings contains "token has no iss claim" if {
	token_parts
	not claims.iss
}

token_findings contains sprintf("token issuer %v is not trusted", [claims.iss]) if {
	claims.iss != cfg.issuer
}

token_findings contains sprintf("token audience does not include %v", [cfg.audience]) if {
	token_parts
	not audience_ok
}

token_findings contains "token has no exp claim" if {
	token_parts
	not claims.exp
}

token_findings contains "request has no valid context.time" if not request_ns

token_findings contains sprintf("token expired at %v", [time.format(claims.exp * 1000000000)]) if {
	request_seconds >= claims.exp
}

token_findings contains sprintf("token is not valid before %v", [time.format(claims.nbf * 1000000000)]) if {
	request_seconds < claims.nbf
}

mfa_satisfied if {
	some method in claims.amr
	method in cfg.mfa_methods
}

token_findings contains msg if {
	input.action in cfg.privileged_actions
	not mfa_satisfied
	msg := sprintf("action %v requires multi-factor authentication (amr must include one of %v)", [
		input.action,
		concat(", ", cfg.mfa_methods),
	])
}

token_problems contains msg if some msg in token_findings

# Should decode_verify reject a token for a reason not diagnosed above.
token_problems contains "token failed verification" if {
	not token_verified
	count(token_findings) == 0
}

# --- API keys ----------------------------------------------------------------

# Id of the configured key whose sha256 digest matches the presented key. The
# key itself is never compared or stored in plain text.
api_key_id := id if {
	digest := crypto.sha256(input.api_key)
	some id, key in cfg.api_keys
	key.sha256 == digest
}

api_key_problems contains "API key is not recognised" if not api_key_id

api_key_problems contains sprintf("API key %v is not allowed to perform %v", [api_key_id, action]) if {
	action := object.get(input, "action", "<none>")
	scope := cfg.api_keys[api_key_id].actions
	not action in scope
	not "*" in scope
}

# A key's optional expiry is judged at input.context.time.
api_key_before_expiry if request_ns < time.parse_rfc3339_ns(cfg.api_keys[api_key_id].expires)

api_key_problems contains sprintf("API key %v expired at %v", [api_key_id, expires]) if {
	expires := cfg.api_keys[api_key_id].expires
	not api_key_before_expiry
}

# --- Combined ----------------------------------------------------------------

problems contains "no credentials presented: send a token or an api_key" if {
	not uses_token
	not uses_api_key
}

problems contains "present either a token or an api_key, not both" if {
	uses_token
	uses_api_key
}

problems contains msg if {
	uses_token
	some msg in token_problems
}

problems contains msg if {
	uses_api_key
	some msg in api_key_problems
}

problems contains msg if {
	input.failed_attempts >= cfg.max_failed_attempts
	msg := sprintf("account locked after %v failed attempts (limit %v)", [input.failed_attempts, cfg.max_failed_attempts])
}

authenticated if {
	uses_token
	token_verified
}

authenticated if {
	uses_api_key
	api_key_id
}

# METADATA
# title: Allow
# scope: document
# description: >-
#   True when exactly one credential is presented, it verifies, its scope and
#   MFA requirements are met and the account is not locked out.
# entrypoint: true
default allow := false

allow if {
	authenticated
	count(problems) == 0
}

# METADATA
# title: Denial reasons
# description: Human-readable reasons for a denial; empty when the request is allowed.
reasons contains msg if {
	not allow
	some msg in problems
}

# METADATA
# title: Decision
# description: The allow flag with its denial reasons.
# entrypoint: true
decision := {"allow": allow, "reasons": reasons}
