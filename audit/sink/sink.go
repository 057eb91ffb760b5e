package sink

import (
	"context"
	"errors"
	"fmt"

	"github.com/belladonna-dev/belladonna/audit"
)

// Sink delivers batches of audit entries to one external system.
//
// Send must either deliver the whole batch or return an error; after an error
// the Runner sends the same batch again, so Send must be safe to repeat
// (receivers see duplicates, never gaps). Send is never called concurrently
// with itself. Close releases connections; the Runner calls it from Stop.
type Sink interface {
	// Name is the configured sink name: the metrics label and the cursor
	// file's name.
	Name() string
	Send(ctx context.Context, entries []audit.Entry) error
	Close() error
}

// Sentinels, for errors.Is.
var (
	// ErrUnknownType: the configuration names a sink type that does not exist.
	ErrUnknownType = errors.New("unknown sink type")
	// ErrUnknownFormat: an unknown syslog message format or framing.
	ErrUnknownFormat = errors.New("unknown format")
	// ErrInvalidConfig: a missing or malformed setting.
	ErrInvalidConfig = errors.New("invalid sink configuration")
	// ErrRejected: the receiver refused a batch for a reason that retrying
	// will not fix without a configuration change (bad token, malformed
	// request). The Runner still retries with backoff, so fixing the
	// receiver's side restores delivery, but it logs these at error level.
	ErrRejected = errors.New("receiver rejected the batch")
	// ErrCursor: a cursor file exists but does not hold an index. The Runner
	// refuses to guess (0 would resend everything, the log size would skip
	// entries); delete the file to resend from the start.
	ErrCursor = errors.New("unreadable sink cursor")
	// ErrRunning: Add or Start was called on a Runner that already started
	// (or stopped: a Runner runs once).
	ErrRunning = errors.New("sink runner already started")
)

// ConfigError reports a bad setting of one sink. It unwraps to ErrUnknownType,
// ErrUnknownFormat or ErrInvalidConfig. Secret values are never part of it.
type ConfigError struct {
	Sink   string // the sink's name, when known
	Field  string // the setting, as named in the configuration ("format")
	Reason string
	Err    error
}

func (e *ConfigError) Error() string {
	name := e.Sink
	if name == "" {
		name = "(unnamed)"
	}
	if e.Field == "" {
		return fmt.Sprintf("audit sink %s: %s", name, e.Reason)
	}
	return fmt.Sprintf("audit sink %s: %s: %s", name, e.Field, e.Reason)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// HTTPError is a non-2xx (or a 2xx with a failure code) answer from an HTTP
// receiver. Status 400, 401 and 403 unwrap to ErrRejected.
type HTTPError struct {
	Sink   string
	Status int
	// Code and Text are Splunk HEC's {"text": ..., "code": ...} when the
	// receiver sent them; Code is -1 otherwise.
	Code int
	Text string
}

func (e *HTTPError) Error() string {
	if e.Code >= 0 {
		return fmt.Sprintf("audit sink %s: receiver answered %d (code %d: %s)", e.Sink, e.Status, e.Code, e.Text)
	}
	return fmt.Sprintf("audit sink %s: receiver answered %d", e.Sink, e.Status)
}

func (e *HTTPError) Unwrap() error {
	switch e.Status {
	case 400, 401, 403:
		return ErrRejected
	}
	return nil
}
