# METADATA
# title: ISO/IEC 27001:2022 Annex A
# description: >-
#   Evaluates Annex A controls for access control, authentication, logging,
#   segregation of duties and change management over the compliance evidence
#   document (see policies/README.md).
# custom:
#   component: compliance
#   severity: high
#   framework: iso27001
#   controls: ["A.5.3", "A.5.15", "A.5.18", "A.8.5", "A.8.15", "A.8.32"]
package compliance.iso27001

import data.compliance.lib

# METADATA
# title: A.5.3 Segregation of duties
# description: No active user holds conflicting roles and no change author approves or deploys their own change.
# custom:
#   controls: ["A.5.3"]
a5_3 := lib.control("Segregation of duties", lib.sod_failures | lib.change_sod_failures)

# METADATA
# title: A.5.15 Access control
# description: Access is granted through roles, not to individual users.
# custom:
#   controls: ["A.5.15"]
a5_15 := lib.control("Access control", lib.role_based_failures)

# METADATA
# title: A.5.18 Access rights
# description: Access rights are reviewed periodically and removed on termination.
# custom:
#   controls: ["A.5.18"]
a5_18 := lib.control("Access rights", lib.access_review_failures | lib.deprovisioning_failures)

# METADATA
# title: A.8.5 Secure authentication
# description: Interactive access needs MFA and privileged users have MFA.
# custom:
#   controls: ["A.8.5"]
a8_5 := lib.control("Secure authentication", lib.mfa_failures)

# METADATA
# title: A.8.15 Logging
# description: A tamper-evident, verified audit log is kept for the required retention.
# custom:
#   controls: ["A.8.15"]
a8_15 := lib.control("Logging", lib.logging_failures)

# METADATA
# title: A.8.32 Change management
# description: Every change is independently approved, tested and merged through a protected branch.
# custom:
#   controls: ["A.8.32"]
a8_32 := lib.control("Change management", lib.change_failures)

# METADATA
# title: Controls
# description: Result per Annex A control, an object with status (pass or fail), title and reasons.
# entrypoint: true
controls := {
	"A.5.3": a5_3,
	"A.5.15": a5_15,
	"A.5.18": a5_18,
	"A.8.5": a8_5,
	"A.8.15": a8_15,
	"A.8.32": a8_32,
}

# METADATA
# title: Compliant
# scope: document
# description: True when every control passes.
# entrypoint: true
default compliant := false

compliant if {
	every result in controls {
		result.status == "pass"
	}
}
