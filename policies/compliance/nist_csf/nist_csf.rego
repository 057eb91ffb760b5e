# METADATA
# title: NIST Cybersecurity Framework 2.0
# description: >-
#   Evaluates CSF 2.0 subcategories of Identity Management, Authentication and
#   Access Control (PR.AA), Platform Security (PR.PS) and Continuous Monitoring
#   (DE.CM) over the compliance evidence document (see policies/README.md).
# custom:
#   component: compliance
#   severity: high
#   framework: nist_csf
#   controls: ["PR.AA-01", "PR.AA-03", "PR.AA-05", "PR.PS-01", "PR.PS-04", "DE.CM-09"]
package compliance.nist_csf

import data.compliance.lib

# METADATA
# title: PR.AA-01 Identities and credentials are managed
# description: Terminated users hold no roles.
# custom:
#   controls: ["PR.AA-01"]
pr_aa_01 := lib.control("Identities and credentials for authorized users are managed", lib.deprovisioning_failures)

# METADATA
# title: PR.AA-03 Users are authenticated
# description: Interactive access needs MFA and privileged users have MFA.
# custom:
#   controls: ["PR.AA-03"]
pr_aa_03 := lib.control("Users, services and hardware are authenticated", lib.mfa_failures)

# METADATA
# title: PR.AA-05 Access permissions are managed and reviewed
# description: Access is role-based, reviewed periodically and free of conflicting role combinations.
# custom:
#   controls: ["PR.AA-05"]
pr_aa_05 := lib.control(
	"Access permissions are defined, managed, enforced and reviewed",
	((lib.role_based_failures | lib.access_review_failures) | lib.sod_failures),
)

# METADATA
# title: PR.PS-01 Configuration management
# description: Every change is independently approved, tested and merged through a protected branch.
# custom:
#   controls: ["PR.PS-01"]
pr_ps_01 := lib.control("Configuration management practices are established and applied", lib.change_failures)

# METADATA
# title: PR.PS-04 Log records
# description: A tamper-evident, verified audit log is kept for the required retention.
# custom:
#   controls: ["PR.PS-04"]
pr_ps_04 := lib.control("Log records are generated and made available for continuous monitoring", lib.logging_failures)

# METADATA
# title: DE.CM-09 Runtime monitoring
# description: Security alerting and runtime (syscall) monitoring are enabled.
# custom:
#   controls: ["DE.CM-09"]
de_cm_09 := lib.control("Computing hardware, software and runtime environments are monitored", lib.monitoring_failures)

# METADATA
# title: Controls
# description: Result per CSF subcategory, an object with status (pass or fail), title and reasons.
# entrypoint: true
controls := {
	"PR.AA-01": pr_aa_01,
	"PR.AA-03": pr_aa_03,
	"PR.AA-05": pr_aa_05,
	"PR.PS-01": pr_ps_01,
	"PR.PS-04": pr_ps_04,
	"DE.CM-09": de_cm_09,
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
