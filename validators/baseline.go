package validators

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// BaselineVersion is the version of the baseline file format.
const BaselineVersion = 1

// Baseline is a recorded set of accepted findings. Its file is JSON:
//
//	{"version": 1, "findings": [{"fingerprint": "...", "rule": "...", "file": "...", "message": "..."}]}
//
// Only the fingerprint matters for matching; rule, file and message are there
// for the humans reviewing the file.
type Baseline struct {
	Version  int             `json:"version"`
	Findings []BaselineEntry `json:"findings"`
}

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	File        string `json:"file,omitempty"`
	Message     string `json:"message,omitempty"`
}

// NewBaseline records findings.
func NewBaseline(fs []Finding) *Baseline {
	b := &Baseline{Version: BaselineVersion, Findings: make([]BaselineEntry, 0, len(fs))}
	for _, f := range fs {
		b.Findings = append(b.Findings, BaselineEntry{Fingerprint: f.Fingerprint, Rule: f.Rule, File: f.File, Message: f.Message})
	}
	return b
}

// Encode writes the baseline as indented JSON.
func (b *Baseline) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// DecodeBaseline reads a baseline strictly: unknown fields, a wrong version,
// missing or malformed fingerprints and trailing data are errors, because a
// baseline that silently matches nothing would hide that it is broken.
func DecodeBaseline(r io.Reader) (*Baseline, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var b Baseline
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("decoding: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decoding: trailing data after the baseline object")
	}
	if b.Version != BaselineVersion {
		return nil, fmt.Errorf("unsupported version %d (want %d)", b.Version, BaselineVersion)
	}
	for i, e := range b.Findings {
		if len(e.Fingerprint) != 32 {
			return nil, fmt.Errorf("findings[%d]: fingerprint %q is not 32 hex digits", i, e.Fingerprint)
		}
		if _, err := hex.DecodeString(e.Fingerprint); err != nil {
			return nil, fmt.Errorf("findings[%d]: fingerprint %q: %w", i, e.Fingerprint, err)
		}
	}
	return &b, nil
}

// ReadBaseline reads a baseline file; errors are *BaselineError.
func ReadBaseline(file string) (*Baseline, error) {
	bs, err := os.ReadFile(file)
	if err != nil {
		return nil, &BaselineError{File: file, Err: err}
	}
	b, err := DecodeBaseline(bytes.NewReader(bs))
	if err != nil {
		return nil, &BaselineError{File: file, Err: err}
	}
	return b, nil
}

// WriteBaselineFile records findings in file.
func WriteBaselineFile(file string, fs []Finding) error {
	var buf bytes.Buffer
	if err := NewBaseline(fs).Encode(&buf); err != nil {
		return &BaselineError{File: file, Err: err}
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		return &BaselineError{File: file, Err: err}
	}
	return nil
}

// Filter splits findings into those the baseline does not know (kept) and
// those it does (suppressed), and returns the entries nothing matched (stale).
// Matching counts: an entry recorded once suppresses one finding.
func (b *Baseline) Filter(fs []Finding) (kept, suppressed []Finding, stale []BaselineEntry) {
	left := map[string]int{}
	for _, e := range b.Findings {
		left[e.Fingerprint]++
	}
	kept = []Finding{}
	for _, f := range fs {
		if left[f.Fingerprint] > 0 {
			left[f.Fingerprint]--
			suppressed = append(suppressed, f)
			continue
		}
		kept = append(kept, f)
	}
	for _, e := range b.Findings {
		if left[e.Fingerprint] > 0 {
			left[e.Fingerprint]--
			stale = append(stale, e)
		}
	}
	return kept, suppressed, stale
}
