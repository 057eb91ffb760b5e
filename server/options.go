package server

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// Addr to listen on (default 127.0.0.1:8181).
	Addr string
	// MaxRequestBytes bounds a request body after decompression (default 1 MiB).
	MaxRequestBytes int64
	// Authenticator checks clients; nil means no authentication.
	Authenticator Authenticator
	// RateLimit bounds request rate; nil means unlimited.
	RateLimit *RateLimit
	// ReadHeaderTimeout bounds how long a client may take to send its
	// headers (default 10 s): slow-loris clients are cut off.
	ReadHeaderTimeout time.Duration
	// TLS, when set, serves HTTPS.
	TLS *tls.Config
	// BundlesReady answers /health?bundles: nil once a verified bundle is
	// active and fresh. Nil: every active policy is ready.
	BundlesReady func() error
	// Logger for the server's own logs.
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil means a private registry.
	Registerer prometheus.Registerer
	// Gatherer serves /metrics; nil means the private registry.
	Gatherer prometheus.Gatherer
}

const (
	defaultAddr            = "127.0.0.1:8181"
	defaultMaxRequestBytes = 1 << 20
)
