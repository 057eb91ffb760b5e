package runtime

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/internal/logfields"
	"github.com/belladonna-dev/belladonna/server"
)

// BundleServeParams are what `belladonna bundle serve` needs beyond the
// bundles.Server itself.
type BundleServeParams struct {
	Config config.Config
	Server *bundles.Server
	Addr   string
	// TLSCert and TLSKey serve HTTPS; ClientCA asks for client certificates
	// (mutual TLS). With tokens too, either authenticates a client.
	TLSCert, TLSKey, ClientCA string
	Logger                    *slog.Logger
}

// BundleServe is the bundle server with its listener and audit log.
type BundleServe struct {
	p     BundleServeParams
	http  *http.Server
	audit *auditStack
	tls   *tls.Config
	errc  chan error
}

// NewBundleServe opens the audit log (when audit.enabled) that records
// refused clients and bundles, and prepares TLS; nothing listens yet.
func NewBundleServe(ctx context.Context, p BundleServeParams) (*BundleServe, error) {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	b := &BundleServe{p: p}
	if p.TLSCert != "" || p.ClientCA != "" {
		if p.TLSCert == "" || p.TLSKey == "" {
			return nil, errors.New("--client-ca needs --tls-cert and --tls-key: client certificates are only asked for over TLS")
		}
		cfg, err := server.LoadTLS(p.TLSCert, p.TLSKey, p.ClientCA)
		if err != nil {
			return nil, err
		}
		if p.ClientCA != "" {
			p.Server.ClientCerts = true
			if p.Server.Tokens != nil {
				// Tokens or certificates: a client without a certificate
				// may still show a token.
				cfg.ClientAuth = tls.VerifyClientCertIfGiven
			}
		}
		b.tls = cfg
	}
	if p.Config.Audit.Enabled {
		st, err := startAudit(ctx, p.Config, p.Logger, p.Server.Registerer())
		if err != nil {
			return nil, err
		}
		b.audit = st
		log := p.Logger
		p.Server.Record = func(ctx context.Context, e *audit.Entry) {
			if _, err := st.log.Append(ctx, e); err != nil {
				log.Error("recording a bundle server event in the audit log", "type", e.Type, logfields.Error, err)
			}
		}
	}
	b.http = &http.Server{Handler: p.Server.Handler(), ReadHeaderTimeout: 10 * time.Second, TLSConfig: b.tls}
	return b, nil
}

// Start listens and serves in the background; it returns the bound
// address.
func (b *BundleServe) Start(ctx context.Context) (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", b.p.Addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", b.p.Addr, err)
	}
	b.errc = make(chan error, 1)
	go func() {
		if b.tls != nil {
			b.errc <- b.http.ServeTLS(ln, "", "")
			return
		}
		b.errc <- b.http.Serve(ln)
	}()
	return ln.Addr(), nil
}

// TLS reports whether the server speaks HTTPS.
func (b *BundleServe) TLS() bool { return b.tls != nil }

// Stop drains requests, then closes the audit log.
func (b *BundleServe) Stop(ctx context.Context) error {
	err := b.http.Shutdown(ctx)
	if b.audit != nil {
		err = errors.Join(err, b.audit.stop(ctx))
	}
	return err
}
