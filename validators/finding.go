package validators

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
)

// Finding is one problem: a parse or compile error, a malformed data file, or
// a validator rule's verdict.
type Finding struct {
	// Rule is the rule id: "rego-parse-error" style for check errors (OPA's
	// error code with hyphens), "<category>/<name>" for validator rules.
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// File is the path as found under the PATH arguments, with forward
	// slashes, relative to the working directory when it is below it. Empty
	// for findings about the configuration when no config file is known, or
	// about the repository as a whole.
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"` // 1-based; 0 when unknown
	Col  int    `json:"col,omitempty"`  // 1-based; 0 when unknown
	// Fingerprint identifies the finding across edits that move it: see
	// fingerprint. Baselines and SARIF partialFingerprints use it.
	Fingerprint string `json:"fingerprint"`
}

func (f Finding) String() string {
	loc := f.File
	if loc == "" {
		loc = "-"
	}
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, f.Line)
		if f.Col > 0 {
			loc = fmt.Sprintf("%s:%d", loc, f.Col)
		}
	}
	return fmt.Sprintf("%s: %s: %s (%s)", loc, f.Severity, f.Message, f.Rule)
}

// compareFindings orders by file, line, column, rule, then message, so that
// every output format lists findings in the same stable order.
func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(a.File, b.File),
		cmp.Compare(a.Line, b.Line),
		cmp.Compare(a.Col, b.Col),
		cmp.Compare(a.Rule, b.Rule),
		cmp.Compare(a.Message, b.Message),
	)
}

// SortFindings sorts in place in the order every report uses.
func SortFindings(fs []Finding) { slices.SortStableFunc(fs, compareFindings) }

// lineSource returns a file's lines for fingerprinting; nil when unknown.
type lineSource func(file string) []string

// fingerprint fills Fingerprint on sorted findings. It hashes the rule, the
// file, the trimmed text of the offending line and the occurrence index of
// that (rule, file, text) triple — never the line number, so an edit above a
// finding does not turn it into a new one, while two identical offending
// lines in one file stay distinct.
func fingerprint(fs []Finding, lines lineSource) {
	seen := map[string]int{}
	for i := range fs {
		f := &fs[i]
		text := ""
		if ls := lines(f.File); f.Line > 0 && f.Line <= len(ls) {
			text = strings.TrimSpace(ls[f.Line-1])
		}
		th := sha256.Sum256([]byte(text))
		key := f.Rule + "\x00" + f.File + "\x00" + hex.EncodeToString(th[:])
		n := seen[key]
		seen[key] = n + 1
		h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d", key, n))
		f.Fingerprint = hex.EncodeToString(h[:16])
	}
}
