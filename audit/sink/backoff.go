package sink

import (
	"context"
	"math/rand/v2"
	"time"
)

// Defaults for retrying a failed batch.
const (
	DefaultMinBackoff = 100 * time.Millisecond
	DefaultMaxBackoff = 30 * time.Second
)

// backoff doubles the delay per failed attempt up to max. Half of each delay
// is random so that many sidecars whose receiver came back do not all retry
// in the same instant; the other half keeps the delay from collapsing to zero.
type backoff struct {
	min, max time.Duration
}

func (b backoff) delay(attempt int) time.Duration {
	d := b.max
	if attempt < 32 {
		if x := b.min << attempt; x > 0 && x < b.max {
			d = x
		}
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits d or until ctx is done, and reports whether the full d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
