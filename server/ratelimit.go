package server

import (
	"golang.org/x/time/rate"
)

// RateLimit is a token bucket over the whole server.
type RateLimit struct {
	limiter *rate.Limiter
}

// NewRateLimit allows rps requests per second with bursts up to burst.
func NewRateLimit(rps float64, burst int) *RateLimit {
	return &RateLimit{limiter: rate.NewLimiter(rate.Limit(rps), burst)}
}

func (r *RateLimit) allow() bool { return r.limiter.Allow() }
