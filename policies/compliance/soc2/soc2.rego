# METADATA
# title: SOC 2 Trust Services Criteria (Security)
# description: >-
#   Evaluates SOC 2 common criteria for logical access, monitoring and change
#   management over the compliance evidence document (see policies/README.md).
# custom:
#   component: compliance
#   severity: high
#   framework: soc2
#   controls: ["CC6.1", "CC6.2", "CC6.3", "CC7.2", "CC8.1"]
package compliance.soc2

import data.compliance.lib

# METADATA
# title: CC6.1 Logical access security
# description: Interactive access needs MFA, privileged users have MFA and access is granted through roles.
# custom:
#   controls: ["CC6.1"]
cc6_1 := lib.control("Logical access security", lib.mfa_failures | lib.role_based_failures)

# METADATA
# title: CC6.2 Access removal
# description: Terminated users hold no roles.
# custom:
#   controls: ["CC6.2"]
cc6_2 := lib.control("User registration and access removal", lib.deprovisioning_failures)

# METADATA
# title: CC6.3 Least privilege and segregation of duties
# description: Access is reviewed periodically and no active user holds conflicting roles.
# custom:
#   controls: ["CC6.3"]
cc6_3 := lib.control(
	"Role-based access, reviews and segregation of duties",
	lib.access_review_failures | lib.sod_failures,
)

# METADATA
# title: CC7.2 System monitoring
# description: A tamper-evident, verified audit log is kept and security alerting and runtime monitoring are on.
# custom:
#   controls: ["CC7.2"]
cc7_2 := lib.control("Monitoring of system components for anomalies", lib.logging_failures | lib.monitoring_failures)

# METADATA
# title: CC8.1 Change management
# description: >-
#   Every change is independently approved, tested and merged through a
#   protected branch; authors neither approve nor deploy their own changes.
# custom:
#   controls: ["CC8.1"]
cc8_1 := lib.control("Change management", lib.change_failures | lib.change_sod_failures)

# METADATA
# title: Controls
# description: Result per SOC 2 criterion, an object with status (pass or fail), title and reasons.
# entrypoint: true
controls := {
	"CC6.1": cc6_1,
	"CC6.2": cc6_2,
	"CC6.3": cc6_3,
	"CC7.2": cc7_2,
	"CC8.1": cc8_1,
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
