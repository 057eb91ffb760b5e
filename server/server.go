package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// Server is the decision API over one Engine.
type Server struct {
	eng     *engine.Engine
	opts    Options
	log     *slog.Logger
	metrics *metrics
	gather  prometheus.Gatherer
	httpSrv *http.Server
	ln      net.Listener
}

// New builds a Server; it does not listen until Start.
func New(eng *engine.Engine, opts Options) (*Server, error) {
	if eng == nil {
		return nil, errors.New("server: nil engine")
	}
	if opts.Addr == "" {
		opts.Addr = defaultAddr
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = defaultMaxRequestBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: eng, opts: opts, log: opts.Logger, metrics: newMetrics(eng)}
	reg, gather := opts.Registerer, opts.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		reg, gather = r, r
	}
	if gather == nil {
		gather = prometheus.DefaultGatherer
	}
	if err := s.metrics.register(reg); err != nil {
		return nil, fmt.Errorf("server: registering metrics: %w", err)
	}
	s.gather = gather
	s.httpSrv = &http.Server{
		Handler: s.Handler(),
		// A slow client (slow-loris) holds a connection for at most these.
		ReadHeaderTimeout: or(opts.ReadHeaderTimeout, 10*time.Second),
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		TLSConfig:         opts.TLS,
		ErrorLog:          slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Handler is the API's router, usable without a listener (tests, embedding).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /health", http.HandlerFunc(s.health))
	mux.Handle("GET /metrics", s.guard(promhttp.HandlerFor(s.gather, promhttp.HandlerOpts{})))
	data := s.guard(http.HandlerFunc(s.data))
	mux.Handle("POST /v1/data", data)
	mux.Handle("POST /v1/data/{path...}", data)
	mux.Handle("GET /v1/data", data)
	mux.Handle("GET /v1/data/{path...}", data)
	mux.Handle("POST /v1/batch/data/{path...}", s.guard(http.HandlerFunc(s.batch)))
	return s.count(mux)
}

// Start listens on the configured address and serves in the background.
// The returned address is the one actually bound (useful with port 0).
func (s *Server) Start(ctx context.Context) (net.Addr, error) {
	ln, err := Listen(ctx, s.opts.Addr)
	if err != nil {
		return nil, err
	}
	s.ln = ln
	go func() {
		var err error
		if s.opts.TLS != nil {
			err = s.httpSrv.ServeTLS(ln, "", "")
		} else {
			err = s.httpSrv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("server stopped", logfields.Error, err)
		}
	}()
	s.log.Info("decision API listening", logfields.Addr, ln.Addr().String())
	return ln.Addr(), nil
}

// Stop finishes requests in flight (bounded by ctx) and closes the listener.
func (s *Server) Stop(ctx context.Context) error {
	if err := s.httpSrv.Shutdown(ctx); err != nil {
		return fmt.Errorf("server shutdown: %w", err)
	}
	return nil
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
