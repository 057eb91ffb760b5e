package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/audit/correlate"
	"github.com/belladonna-dev/belladonna/audit/crypt"
	"github.com/belladonna-dev/belladonna/audit/sink"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// AuditDir is where the audit log of a data directory lives.
func AuditDir(dataDir string) string { return filepath.Join(dataDir, "audit") }

// auditStack is the audit log with everything that reads or writes it in a
// long-running mode: the codec, sinks, correlation and retention.
type auditStack struct {
	log      *audit.Log
	sinks    *sink.Runner
	corr     *correlate.Runner
	stopRet  context.CancelFunc
	retDone  sync.WaitGroup
	logger   *slog.Logger
	subjects *crypt.SubjectStore
	control  *controlServer
}

// OpenCodec returns the codec the configuration asks for: JSON, or the
// encrypting codec with its keyring and subject key store (created on first
// use). The CLI uses it to read an encrypted log.
func OpenCodec(cfg config.Config) (audit.Codec, *crypt.SubjectStore, error) {
	enc := cfg.Audit.Encryption
	if !enc.Enabled {
		return audit.JSONCodec{}, nil, nil
	}
	dir := AuditDir(cfg.DataDir)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, fmt.Errorf("audit: %w", err)
	}
	krPath := enc.KeyringFile
	if krPath == "" {
		krPath = filepath.Join(dir, "keyring.json")
	}
	kr, err := crypt.LoadKeyring(krPath)
	if errors.Is(err, os.ErrNotExist) {
		kr, err = crypt.GenerateKeyring(krPath)
	}
	if err != nil {
		return nil, nil, err
	}
	subDir := enc.SubjectsDir
	if subDir == "" {
		subDir = filepath.Join(dir, "subjects")
	}
	subjects, err := crypt.OpenSubjectStore(subDir, kr)
	if err != nil {
		return nil, nil, err
	}
	codec, err := crypt.NewCodec(kr, subjects)
	if err != nil {
		return nil, nil, err
	}
	return codec, subjects, nil
}

func startAudit(ctx context.Context, cfg config.Config, logger *slog.Logger, reg prometheus.Registerer) (*auditStack, error) {
	codec, subjects, err := OpenCodec(cfg)
	if err != nil {
		return nil, err
	}
	dir := AuditDir(cfg.DataDir)
	opts := audit.Options{Dir: dir, Logger: logger, Codec: codec}
	if cfg.Audit.CheckpointKeyFile != "" {
		k, err := audit.LoadCheckpointKey(cfg.Audit.CheckpointKeyFile)
		if err != nil {
			return nil, err
		}
		opts.CheckpointKey = k
	}
	if uri := cfg.Audit.CheckpointKMSKey; uri != "" {
		k, err := CheckpointKMSKey(ctx, uri)
		if err != nil {
			return nil, err
		}
		opts.CheckpointKey = k
	}
	l, err := audit.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	st := &auditStack{log: l, logger: logger, subjects: subjects}
	if err := l.RegisterMetrics(reg); err != nil {
		st.stop(ctx)
		return nil, err
	}
	if err := st.startSinks(ctx, cfg, dir, reg); err != nil {
		st.stop(ctx)
		return nil, err
	}
	if err := st.startCorrelation(ctx, cfg, dir, reg); err != nil {
		st.stop(ctx)
		return nil, err
	}
	if err := st.startRetention(cfg); err != nil {
		st.stop(ctx)
		return nil, err
	}
	// Without the socket, erase and rotate-key need serve stopped; serving
	// decisions does not depend on it.
	if c, err := startControl(dir, l, subjects, logger); err != nil {
		logger.Warn("audit: no control socket; audit erase and rotate-key need serve stopped", logfields.Error, err)
	} else {
		st.control = c
	}
	return st, nil
}

func (st *auditStack) startSinks(ctx context.Context, cfg config.Config, dir string, reg prometheus.Registerer) error {
	if len(cfg.Audit.Sinks) == 0 {
		return nil
	}
	r := sink.NewRunner(st.log, filepath.Join(dir, "cursors"), sink.WithLogger(st.logger))
	for _, sc := range cfg.Audit.Sinks {
		c, err := sinkConfig(sc)
		if err != nil {
			return err
		}
		s, err := sink.New(c)
		if err != nil {
			return fmt.Errorf("audit sink %s: %w", sc.Name, err)
		}
		if err := r.Add(s, c.Batching()); err != nil {
			return err
		}
	}
	if err := r.RegisterMetrics(reg); err != nil {
		return err
	}
	if err := r.Start(ctx); err != nil {
		return err
	}
	st.sinks = r
	return nil
}

// sinkConfig maps belladonna.yaml's sink to the sink package's, reading
// secrets from their files (never from the YAML itself).
func sinkConfig(sc config.AuditSink) (sink.Config, error) {
	c := sink.Config{
		Type: sc.Type, Name: sc.Name, Address: sc.Address, Format: sc.Format, Framing: sc.Framing,
		TLS: sink.TLSConfig{Enabled: sc.TLS, CAFile: sc.CAFile, CertFile: sc.CertFile, KeyFile: sc.KeyFile, ServerName: sc.ServerName},
		URL: sc.URL, TokenFile: sc.TokenFile, Gzip: sc.Gzip,
		DSN: sc.DSN, PasswordFile: sc.PasswordFile, Table: sc.Table,
		BatchSize: sc.BatchSize,
	}
	if sc.FlushInterval != "" {
		d, err := time.ParseDuration(sc.FlushInterval)
		if err != nil {
			return c, fmt.Errorf("audit sink %s: flush_interval: %w", sc.Name, err)
		}
		c.FlushInterval = d
	}
	return c, nil
}

func (st *auditStack) startCorrelation(ctx context.Context, cfg config.Config, dir string, reg prometheus.Registerer) error {
	cc := cfg.Audit.Correlation
	if !cc.Enabled {
		return nil
	}
	eng, err := correlate.New(correlate.WithRuleDirs(cc.Rules...), correlate.WithLogger(st.logger), correlate.WithRegisterer(reg))
	if err != nil {
		return err
	}
	r := correlate.NewRunner(eng, st.log, st.log, dir, correlate.WithRunnerLogger(st.logger))
	if err := r.Start(ctx); err != nil {
		return err
	}
	st.corr = r
	return nil
}

func (st *auditStack) startRetention(cfg config.Config) error {
	rc := cfg.Audit.Retention
	if rc.MaxAge == "" && rc.MaxBytes == 0 {
		return nil
	}
	p := audit.RetentionPolicy{MaxBytes: rc.MaxBytes, Types: rc.Types, ArchiveDir: rc.ArchiveDir}
	var err error
	if rc.MaxAge != "" {
		if p.MaxAge, err = time.ParseDuration(rc.MaxAge); err != nil {
			return fmt.Errorf("audit.retention.max_age: %w", err)
		}
	}
	every := time.Hour
	if rc.Interval != "" {
		if every, err = time.ParseDuration(rc.Interval); err != nil {
			return fmt.Errorf("audit.retention.interval: %w", err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	st.stopRet = cancel
	st.retDone.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if res, err := st.log.ApplyRetention(ctx, p, time.Now()); err != nil && ctx.Err() == nil {
				st.logger.Error("audit retention failed", logfields.Error, err)
			} else if len(res.Segments) > 0 {
				st.logger.Info("audit retention applied", logfields.Segments, len(res.Segments), logfields.Count, res.Entries)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	})
	return nil
}

// stop shuts the readers down before the log, so nothing reads a closed log.
func (st *auditStack) stop(ctx context.Context) error {
	var err error
	if st.control != nil {
		err = st.control.stop(ctx)
	}
	if st.stopRet != nil {
		st.stopRet()
		st.retDone.Wait()
	}
	if st.corr != nil {
		err = errors.Join(err, st.corr.Stop(ctx))
	}
	if st.sinks != nil {
		err = errors.Join(err, st.sinks.Stop(ctx))
	}
	return errors.Join(err, st.log.Close())
}
