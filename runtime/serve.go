package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/config"
	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/internal/logfields"
	"github.com/belladonna-dev/belladonna/policies"
	"github.com/belladonna-dev/belladonna/policyrepo"
	"github.com/belladonna-dev/belladonna/server"
	"github.com/belladonna-dev/belladonna/server/extauthz"
)

// ServeParams are what `belladonna serve` needs beyond the Config.
type ServeParams struct {
	Config config.Config
	// Paths override Config.Policies.Paths; both empty means the embedded library.
	Paths []string
	// AsBundles loads every path as a bundle (opa run -b).
	AsBundles bool
	// Repo and Rev serve the tree of a git revision (no checkout); every
	// decision then names its commit as the revision. Dir is the policy
	// directory inside the repository ("" for the root).
	Repo, Rev, Dir string
	Logger         *slog.Logger
}

// Serve is the sidecar: engine + decision API + decision log.
type Serve struct {
	eng       *engine.Engine
	srv       *server.Server
	log       *slog.Logger
	audit     *auditStack
	decisions *auditDecisions
	source    string
	puller    *bundles.Puller
	reporter  *statusReporter
	extAuthz  *extauthz.Server
	extCfg    config.ExtAuthz
	extBound  net.Addr
	stopEdge  context.CancelFunc
	edgeDone  chan struct{}
}

// NewServe loads and compiles the policy before anything listens, so a policy
// that does not compile stops start-up with its errors and nothing is served.
func NewServe(ctx context.Context, p ServeParams) (*Serve, error) {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := p.Config
	rv := ast.RegoV1
	if cfg.Policies.V0Compatible {
		rv = ast.RegoV0
	}
	paths := p.Paths
	if len(paths) == 0 {
		paths = cfg.Policies.Paths
	}
	lopts := engine.LoadOptions{RegoVersion: rv, AsBundles: p.AsBundles}
	pulling := cfg.Bundles.Source != ""
	var src *engine.Source
	desc := "bundles from " + cfg.Bundles.Source
	if pulling {
		if p.Repo != "" || len(p.Paths) > 0 {
			return nil, errors.New("bundles.source makes serve pull signed bundles: give no PATH and no --repo, or unset bundles.source")
		}
	} else {
		var err error
		if src, desc, err = loadServeSource(p, paths, lopts); err != nil {
			return nil, err
		}
	}
	var err error
	s := &Serve{log: log, source: desc}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	opts := []engine.Option{engine.WithLogger(log), engine.WithCompileOptions(engine.CompileOptions{RegoVersion: rv, CacheEntries: cfg.Server.ResultCache})}
	if cfg.Audit.Enabled {
		if !cfg.Audit.TamperEvident {
			log.Warn("audit.tamper_evident is false, but the decision log is always hash-chained")
		}
		s.audit, err = startAudit(ctx, cfg, log, reg)
		if err != nil {
			return nil, err
		}
		s.decisions = newAuditDecisions(s.audit.log, cfg.Audit, log)
		opts = append(opts, engine.WithDecisionLogger(s.decisions))
	}
	s.eng = engine.New(opts...)
	if pulling {
		if err := s.newEdge(cfg, lopts, reg); err != nil {
			s.closeAudit()
			return nil, err
		}
	} else if err := s.activateLocal(ctx, src, desc); err != nil {
		s.closeAudit()
		return nil, err
	}
	if s.decisions != nil {
		reg.MustRegister(s.decisions.dropped)
	}
	sopts := server.Options{
		Addr:            cfg.Server.Addr,
		MaxRequestBytes: cfg.Server.MaxRequestBytes,
		Logger:          log,
		Registerer:      reg,
		Gatherer:        reg,
	}
	if s.puller != nil {
		sopts.BundlesReady = s.puller.Ready
	}
	if err := s.newServer(cfg, sopts); err != nil {
		s.closeAudit()
		return nil, err
	}
	if cfg.Server.ExtAuthz.Addr != "" {
		s.extAuthz, s.extCfg = extauthz.New(s.eng, cfg.Server.ExtAuthz.Path, log), cfg.Server.ExtAuthz
	}
	return s, nil
}

// activateLocal compiles the policies loaded from disk or git and records
// the activation.
func (s *Serve) activateLocal(ctx context.Context, src *engine.Source, desc string) error {
	st, err := s.eng.Activate(ctx, src)
	if err != nil {
		return fmt.Errorf("compiling %s: %w", desc, err)
	}
	if s.audit != nil {
		// Every activation is a security event: which policy answers from now on.
		ev := &audit.Entry{Kind: audit.KindEvent, Type: audit.EventBundleActivation, Severity: "info",
			Revision: st.Revision(), Message: "policy activated: " + desc,
			Attrs: map[string]string{"source": desc}}
		if _, err := s.audit.log.Append(ctx, ev); err != nil {
			return fmt.Errorf("recording the policy activation: %w", err)
		}
	}
	return nil
}

// newEdge sets up pulling: the puller and, with bundles.status_url, the
// status reports. Nothing is fetched before Start.
func (s *Serve) newEdge(cfg config.Config, lopts engine.LoadOptions, reg prometheus.Registerer) error {
	var record func(context.Context, *audit.Entry) error
	if s.audit != nil {
		record = func(ctx context.Context, e *audit.Entry) error {
			_, err := s.audit.log.Append(ctx, e)
			return err
		}
	}
	p, client, token, err := newPuller(cfg, s.eng, lopts, record, reg, s.log)
	if err != nil {
		return err
	}
	s.puller = p
	if cfg.Bundles.StatusURL != "" {
		var every time.Duration
		if cfg.Bundles.StatusInterval != "" {
			every, _ = time.ParseDuration(cfg.Bundles.StatusInterval)
		}
		s.reporter = newStatusReporter(cfg.Bundles.StatusURL, cfg.Bundles.EdgeID, token, every, client, p, s.log)
	}
	return nil
}

// newServer builds the decision API from server.*.
func (s *Serve) newServer(cfg config.Config, sopts server.Options) error {
	if cfg.Server.Authentication.Mode == "token" {
		auth, err := server.LoadTokenFile(cfg.Server.Authentication.TokensFile)
		if err != nil {
			return err
		}
		sopts.Authenticator = auth
	}
	if cfg.Server.RateLimit.Enabled {
		sopts.RateLimit = server.NewRateLimit(cfg.Server.RateLimit.RequestsPerSecond, cfg.Server.RateLimit.Burst)
	}
	if cfg.Server.TLS.CertFile != "" {
		tlsCfg, err := server.LoadTLS(cfg.Server.TLS.CertFile, cfg.Server.TLS.KeyFile, cfg.Server.TLS.ClientCAFile)
		if err != nil {
			return err
		}
		sopts.TLS = tlsCfg
	}
	var err error
	s.srv, err = server.New(s.eng, sopts)
	return err
}

func loadServeSource(p ServeParams, paths []string, opts engine.LoadOptions) (*engine.Source, string, error) {
	if p.Repo != "" {
		return loadGitSource(p, opts)
	}
	if len(paths) == 0 {
		src, err := engine.LoadFS(policies.FS, ".", opts)
		if err != nil {
			return nil, "", fmt.Errorf("loading the embedded policy library: %w", err)
		}
		return src, "embedded policy library", nil
	}
	src, err := engine.LoadPaths(paths, opts)
	if err != nil {
		return nil, "", err
	}
	return src, fmt.Sprint(paths), nil
}

// Engine is the running engine (for tests and embedding).
func (s *Serve) Engine() *engine.Engine { return s.eng }

// Start listens; it returns the bound address. An edge first activates
// its persisted last good bundle (verified again), then listens, then
// polls its source in the background.
func (s *Serve) Start(ctx context.Context) (net.Addr, error) {
	if s.puller != nil {
		if _, err := s.puller.Restore(ctx); err != nil {
			return nil, err
		}
	}
	addr, err := s.srv.Start(ctx)
	if err != nil {
		return nil, err
	}
	if s.extAuthz != nil {
		ln, err := server.Listen(ctx, s.extCfg.Addr)
		if err != nil {
			s.srv.Stop(context.Background())
			return nil, fmt.Errorf("server.ext_authz.addr: %w", err)
		}
		s.extBound = ln.Addr()
		go s.extAuthz.Serve(ln)
		s.log.Info("ext_authz gRPC listening", logfields.Addr, ln.Addr().String(), logfields.Path, s.extCfg.Path)
	}
	revision := "none yet"
	if st := s.eng.Current(); st != nil {
		revision = st.Revision()
	}
	if s.puller != nil {
		ectx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		s.stopEdge, s.edgeDone = cancel, make(chan struct{})
		go func() {
			defer close(s.edgeDone)
			done := make(chan struct{})
			if s.reporter != nil {
				go func() { defer close(done); s.reporter.run(ectx) }()
			} else {
				close(done)
			}
			s.puller.Run(ectx)
			<-done
		}()
	}
	attrs := []any{logfields.Addr, addr.String(), "policy", s.source, logfields.Revision, revision}
	if s.audit != nil {
		attrs = append(attrs, "audit_log", s.audit.log.Dir())
	}
	s.log.Info("serving decisions", attrs...)
	return addr, nil
}

// Stop ends polling, drains requests in flight, then closes the decision
// log.
func (s *Serve) Stop(ctx context.Context) error {
	if s.stopEdge != nil {
		s.stopEdge()
		<-s.edgeDone
	}
	if s.extAuthz != nil {
		s.extAuthz.Stop()
	}
	return errors.Join(s.srv.Stop(ctx), s.closeAuditCtx(ctx))
}

// ExtAuthzAddr is where the ext_authz gRPC server listens (nil when off).
func (s *Serve) ExtAuthzAddr() net.Addr { return s.extBound }

// Puller is the edge's bundle puller (nil unless bundles.source is set).
func (s *Serve) Puller() *bundles.Puller { return s.puller }

func (s *Serve) closeAudit() error { return s.closeAuditCtx(context.Background()) }

func (s *Serve) closeAuditCtx(ctx context.Context) error {
	if s.audit == nil {
		return nil
	}
	return s.audit.stop(ctx)
}

// loadGitSource loads the policy tree of a git revision; the source's
// revision is the commit id, which every decision and audit entry names.
func loadGitSource(p ServeParams, opts engine.LoadOptions) (*engine.Source, string, error) {
	repo, err := policyrepo.Open(p.Repo)
	if err != nil {
		return nil, "", err
	}
	rules, err := Protections(p.Config.Repository)
	if err != nil {
		return nil, "", err
	}
	if err := repo.CheckProtected(p.Rev, rules, time.Now()); err != nil {
		return nil, "", fmt.Errorf("refusing to serve %s at %s: %w", p.Repo, p.Rev, err)
	}
	fsys, c, err := repo.FS(p.Rev)
	if err != nil {
		return nil, "", err
	}
	root := "."
	if p.Dir != "" {
		root = strings.Trim(p.Dir, "/")
	}
	src, err := engine.LoadFS(fsys, root, opts)
	if err != nil {
		return nil, "", fmt.Errorf("commit %s: %w", c.Hash, err)
	}
	src.Revision = c.Hash.String()
	return src, fmt.Sprintf("%s at %s (%s)", p.Repo, p.Rev, c.Hash.String()[:12]), nil
}

// Protections loads the configured protected-branch rules with their
// approvers' keys; a rule whose keys cannot be read is an error, never a
// rule that is skipped.
func Protections(cfg config.Repository) ([]policyrepo.Protection, error) {
	out := make([]policyrepo.Protection, 0, len(cfg.ProtectedBranches))
	for i, pb := range cfg.ProtectedBranches {
		keys, err := policyrepo.LoadApprovalKeys(pb.KeysDir)
		if err != nil {
			return nil, fmt.Errorf("repository.protected_branches[%d] (%s): %w", i, pb.Pattern, err)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("repository.protected_branches[%d] (%s): no approver keys (.pem, .pub, .crt) in %s", i, pb.Pattern, pb.KeysDir)
		}
		out = append(out, policyrepo.Protection{Pattern: pb.Pattern, Approvals: pb.Approvals, Keys: keys, KeysDir: pb.KeysDir})
	}
	return out, nil
}
