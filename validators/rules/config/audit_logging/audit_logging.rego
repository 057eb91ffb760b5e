# METADATA
# title: Audit logging on and tamper-evident
# description: >-
#   Every decision must be recorded (audit.enabled) in a log nobody can rewrite
#   unnoticed (audit.tamper_evident).
# custom:
#   category: config
#   severity: error
package validators.config.audit_logging

import data.validators.lib

findings contains object.union(lib.config_location, {
	"rule": "config/audit-logging",
	"severity": "error",
	"message": "audit logging is off: set audit.enabled to true so that every decision is recorded",
}) if {
	not input.config.audit.enabled
	"audit" in object.keys(input.config)
}

findings contains object.union(lib.config_location, {
	"rule": "config/audit-logging",
	"severity": "error",
	"message": "the audit log is not tamper-evident: set audit.tamper_evident to true",
}) if {
	input.config.audit.enabled
	not input.config.audit.tamper_evident
}
