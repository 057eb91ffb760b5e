# METADATA
# title: Line too long
# description: >-
#   Lines longer than 120 characters are hard to read and review. Lines holding a
#   URL are exempt, since URLs cannot be broken.
# custom:
#   category: style
#   severity: warning
package validators.style.line_length

max_length := 120

findings contains {
	"rule": "style/line-length",
	"severity": "warning",
	"file": m.file,
	"line": i + 1,
	"col": max_length + 1,
	"message": sprintf("line is %d characters long, over the limit of %d", [count(line), max_length]),
} if {
	some m in input.modules
	some i, line in m.lines
	count(line) > max_length
	not regex.match(`https?://`, line)
}
