package validators

import (
	"fmt"
	"strings"
)

// Severity ranks a finding. The zero value is not a valid severity, so a
// finding whose severity was never set is caught rather than read as "info".
type Severity int

const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
)

// ErrUnknownSeverity is wrapped by ParseSeverity for names other than
// error, warning and info.
var ErrUnknownSeverity = fmt.Errorf("unknown severity")

// Severities lists the valid names, highest first, for help texts.
func Severities() []string { return []string{"error", "warning", "info"} }

// ParseSeverity reads "error", "warning" or "info".
func ParseSeverity(s string) (Severity, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "error":
		return SeverityError, nil
	case "warning":
		return SeverityWarning, nil
	case "info":
		return SeverityInfo, nil
	}
	return 0, fmt.Errorf("%w %q: want error, warning or info", ErrUnknownSeverity, s)
}

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	case SeverityInfo:
		return "info"
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// MarshalText writes the severity's name, so JSON shows "error", not 3.
func (s Severity) MarshalText() ([]byte, error) {
	if s < SeverityInfo || s > SeverityError {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
