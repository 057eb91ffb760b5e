package runtime

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/engine"
)

// BundleStateDir is where an edge keeps its last good bundle.
func BundleStateDir(dataDir string) string { return filepath.Join(dataDir, "bundles") }

// newPuller builds the edge's puller from bundles.* : each verified bundle
// is compiled and swapped in by eng (one atomic swap: a request sees the
// old state or the new, never a mix), and every activation and refusal
// goes to the audit log when it is on.
func newPuller(cfg config.Config, eng *engine.Engine, rv engine.LoadOptions, record func(context.Context, *audit.Entry) error,
	reg prometheus.Registerer, log *slog.Logger) (*bundles.Puller, *http.Client, string, error) {
	b := cfg.Bundles
	pub, err := os.ReadFile(b.VerificationKey)
	if err != nil {
		return nil, nil, "", fmt.Errorf("bundles.verification_key: %w", err)
	}
	opts := bundles.PullOptions{Source: b.Source, Name: b.Name, PublicKey: pub, KeyID: b.KeyID, Scope: b.Scope, RegistryUsername: b.RegistryUser,
		StateDir: BundleStateDir(cfg.DataDir), Logger: log, Registerer: reg, Record: record,
		Expect: bundles.Expect{Repository: b.Repository, Branch: b.Branch}}
	for _, d := range []struct {
		key, v string
		to     *time.Duration
	}{{"min_delay", b.MinDelay, &opts.MinDelay}, {"max_delay", b.MaxDelay, &opts.MaxDelay}, {"long_poll", b.LongPoll, &opts.LongPoll},
		{"timeout", b.Timeout, &opts.Timeout}, {"max_age", b.MaxAge, &opts.MaxAge}} {
		if d.v == "" {
			continue
		}
		if *d.to, err = time.ParseDuration(d.v); err != nil {
			return nil, nil, "", fmt.Errorf("bundles.%s: %w", d.key, err)
		}
	}
	if opts.LongPoll > 0 && b.Timeout != "" {
		opts.Timeout += opts.LongPoll
	}
	if b.TokenFile != "" {
		tok, err := os.ReadFile(b.TokenFile)
		if err != nil {
			return nil, nil, "", fmt.Errorf("bundles.token_file: %w", err)
		}
		opts.Token = strings.TrimSpace(string(tok))
	}
	if opts.HTTPClient, err = HTTPClient(b); err != nil {
		return nil, nil, "", err
	}
	if b.AttestationKey != "" {
		if opts.Attestation, err = LoadVerifier(b.AttestationKey); err != nil {
			return nil, nil, "", fmt.Errorf("bundles.attestation_key: %w", err)
		}
	}
	opts.Activate = func(ctx context.Context, p *bundles.Pulled) error {
		src, err := engine.LoadBundle(bytes.NewReader(p.Bytes), rv)
		if err != nil {
			return err
		}
		if _, err := eng.Activate(ctx, src); err != nil {
			return fmt.Errorf("compiling bundle %s: %w", p.Verification.Revision, err)
		}
		return nil
	}
	p, err := bundles.NewPuller(opts)
	if err != nil {
		return nil, nil, "", err
	}
	return p, opts.HTTPClient, opts.Token, nil
}

// HTTPClient is the HTTP client for a bundle source: its CA and, for
// mutual TLS, the edge's certificate.
func HTTPClient(b config.Bundles) (*http.Client, error) {
	if b.CAFile == "" && b.CertFile == "" {
		return &http.Client{}, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.CAFile != "" {
		pem, err := os.ReadFile(b.CAFile)
		if err != nil {
			return nil, fmt.Errorf("bundles.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bundles.ca_file %s holds no PEM certificate", b.CAFile)
		}
		cfg.RootCAs = pool
	}
	if b.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(b.CertFile, b.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("bundles.cert_file, bundles.key_file: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg, Proxy: http.ProxyFromEnvironment}}, nil
}

// LoadVerifier reads a PEM public key (or certificate) as a sigstore
// verifier.
func LoadVerifier(path string) (signature.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return signature.LoadVerifier(pub, crypto.SHA256)
}
