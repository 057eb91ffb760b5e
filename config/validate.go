package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Allowed values of the enumerated keys.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	authModes  = []string{"none", "token"}
	auditModes = []string{"all", "denials", "sample"}
	onFailures = []string{"closed", "open"}
	failOns    = []string{"error", "warning", "info"}

	sinkTypes      = []string{"syslog", "splunk", "opa", "postgres"}
	syslogFormats  = []string{"cef", "leef"}
	syslogFramings = []string{"octet-counting", "newline"} // or empty, meaning octet-counting

	// entryTypes are the audit entry types retention can select: "decision"
	// and the event types of package audit (audit.Event*), which config, a
	// lower layer's sibling, does not import.
	entryTypes = []string{
		"decision", "bundle_activation", "signature_failure", "config_change", "rollback", "approval",
		"ebpf_alert", "retention", "erasure", "incident", "key_rotation", "torn_tail",
	}
)

// sinkName keeps a sink's name usable as a file name (it names the sink's
// cursor file) and as a metric label. It is the rule of package audit/sink
// without '.', so that no name can be "." or ".." or hide a file.
var sinkName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// Check validates a configuration built or changed in code, typically after
// command-line flags were applied on top of Load's result. It returns nil or an
// *Error whose problems name the keys (without positions: there is no file).
// (It is not called Validate because Config has a field of that name.)
func (c Config) Check() error {
	d := &decoded{cfg: c, origins: map[string]origin{}}
	d.validate()
	_, err := d.result()
	return err
}

// validate checks the values that types alone cannot. Every rule reports
// rather than returns, so that all problems surface in one run.
func (d *decoded) validate() {
	c := &d.cfg

	if c.DataDir == "" {
		d.invalid("data_dir", "", "must not be empty")
	}
	d.oneOf("log.level", c.Log.Level, logLevels)
	d.oneOf("log.format", c.Log.Format, logFormats)

	s := &c.Server
	if err := checkAddr(s.Addr); err != nil {
		d.invalid("server.addr", "", "want host:port or unix:///path, got %s: %v", d.show("server.addr", s.Addr), err)
	}
	if s.MaxRequestBytes <= 0 {
		d.invalid("server.max_request_bytes", "", "must be greater than 0, got %d", s.MaxRequestBytes)
	}
	if s.ExtAuthz.Addr != "" {
		if err := checkAddr(s.ExtAuthz.Addr); err != nil {
			d.invalid("server.ext_authz.addr", "", "want host:port or unix:///path, got %s: %v", quote(s.ExtAuthz.Addr), err)
		}
		if strings.Trim(s.ExtAuthz.Path, "/") == "" {
			d.invalid("server.ext_authz.path", "server.ext_authz.addr", "required with server.ext_authz.addr: the decision to ask, e.g. envoy/authz/allow")
		}
	}

	if d.oneOf("server.authentication.mode", s.Authentication.Mode, authModes) &&
		s.Authentication.Mode == "token" && s.Authentication.TokensFile == "" {
		d.invalid("server.authentication.tokens_file", "server.authentication.mode",
			"required when server.authentication.mode is token")
	}

	// A NaN or infinite rate is meaningless even while disabled, and would
	// reach rules through Map as a number JSON cannot carry.
	rl := s.RateLimit
	if math.IsNaN(rl.RequestsPerSecond) || math.IsInf(rl.RequestsPerSecond, 0) {
		d.invalid("server.rate_limit.requests_per_second", "", "must be a finite number, got %v", rl.RequestsPerSecond)
	} else if rl.Enabled && rl.RequestsPerSecond <= 0 {
		d.invalid("server.rate_limit.requests_per_second", "server.rate_limit.enabled",
			"must be greater than 0 when server.rate_limit.enabled is true, got %v", rl.RequestsPerSecond)
	}
	if rl.Enabled && rl.Burst < 1 {
		d.invalid("server.rate_limit.burst", "server.rate_limit.enabled",
			"must be at least 1 when server.rate_limit.enabled is true, got %d", rl.Burst)
	}

	tls := s.TLS
	switch {
	case tls.CertFile != "" && tls.KeyFile == "":
		d.invalid("server.tls.key_file", "server.tls.cert_file", "required when server.tls.cert_file is set")
	case tls.CertFile == "" && tls.KeyFile != "":
		d.invalid("server.tls.cert_file", "server.tls.key_file", "required when server.tls.key_file is set")
	case tls.CertFile == "" && tls.ClientCAFile != "":
		// Client certificates can only be asked for over TLS; without this
		// check the server would start in plain HTTP and accept anyone.
		d.invalid("server.tls.client_ca_file", "", "requires server.tls.cert_file and server.tls.key_file")
	}

	d.oneOf("audit.decisions", c.Audit.Decisions, auditModes)
	d.oneOf("audit.on_failure", c.Audit.OnFailure, onFailures)
	if c.Audit.CheckpointKMSKey != "" {
		if c.Audit.CheckpointKeyFile != "" {
			d.invalid("audit.checkpoint_kms_key", "audit.checkpoint_key_file", "set one of audit.checkpoint_key_file and audit.checkpoint_kms_key, not both")
		} else if !strings.Contains(c.Audit.CheckpointKMSKey, "://") {
			d.invalid("audit.checkpoint_kms_key", "", "want a KMS URI such as hashivault://KEY or awskms:///ARN, got %q", c.Audit.CheckpointKMSKey)
		}
	}
	if math.IsNaN(c.Audit.SampleRate) || c.Audit.SampleRate < 0 || c.Audit.SampleRate > 1 {
		d.invalid("audit.sample_rate", "", "want a fraction from 0 to 1, got %v", c.Audit.SampleRate)
	}
	for _, m := range c.Audit.Mask {
		if !strings.HasPrefix(m, "/input/") || len(m) <= len("/input/") {
			d.invalid("audit.mask", "", "want JSON pointers under /input (e.g. /input/token), got %q", m)
		}
	}

	d.validateRetention(&c.Audit.Retention)
	names := make(map[string]int, len(c.Audit.Sinks))
	for i := range c.Audit.Sinks {
		d.validateSink(i, &c.Audit.Sinks[i], names)
	}

	d.oneOf("validate.fail_on", c.Validate.FailOn, failOns)

	for i := range c.Repository.ProtectedBranches {
		d.validateProtectedBranch(i, &c.Repository.ProtectedBranches[i])
	}
	d.validateBundles(&c.Bundles)
	if c.Server.ResultCache < 0 {
		d.invalid("server.result_cache", "", "must not be negative (0 turns the cache off), got %d", c.Server.ResultCache)
	}
}

// validateBundles checks the edge's pull settings: a source needs a
// verification key (nothing unsigned is ever activated).
func (d *decoded) validateBundles(b *Bundles) {
	for _, kv := range [][2]string{{"min_delay", b.MinDelay}, {"max_delay", b.MaxDelay}, {"long_poll", b.LongPoll},
		{"timeout", b.Timeout}, {"max_age", b.MaxAge}, {"status_interval", b.StatusInterval}} {
		d.duration("bundles."+kv[0], kv[1])
	}
	if b.Source == "" {
		return
	}
	if !strings.HasPrefix(b.Source, "http://") && !strings.HasPrefix(b.Source, "https://") && !strings.HasPrefix(b.Source, "oci://") {
		d.invalid("bundles.source", "", "want http(s)://HOST/bundles/REF or oci://REGISTRY/REPOSITORY:TAG, got %s", quote(b.Source))
	}
	if b.VerificationKey == "" {
		d.invalid("bundles.verification_key", "bundles.source", "required with bundles.source: the PEM public key that signs the bundles (unsigned bundles are never activated)")
	}
	if (b.CertFile == "") != (b.KeyFile == "") {
		d.invalid("bundles.cert_file", "", "bundles.cert_file and bundles.key_file go together (mutual TLS)")
	}
	if (b.Repository != "" || b.Branch != "") && b.AttestationKey == "" {
		d.invalid("bundles.attestation_key", "", "bundles.repository and bundles.branch are checked in attestations: set bundles.attestation_key")
	}
}

// validateProtectedBranch checks repository.protected_branches[i].
func (d *decoded) validateProtectedBranch(i int, p *ProtectedBranch) {
	at := fmt.Sprintf("repository.protected_branches[%d]", i)
	if d.mistyped[at] {
		return
	}
	key := func(name string) string { return at + "." + name }
	if p.Pattern == "" {
		d.invalid(key("pattern"), at, "required: a branch name or glob such as main or release/*")
	} else if _, err := path.Match(p.Pattern, "x"); err != nil {
		d.invalid(key("pattern"), at, "not a valid glob: %s", quote(p.Pattern))
	}
	if p.Approvals < 1 {
		d.invalid(key("approvals"), at, "must be at least 1, got %d", p.Approvals)
	}
	if p.KeysDir == "" {
		d.invalid(key("keys_dir"), at, "required: the directory of the approvers' public keys")
	}
}

func (d *decoded) validateRetention(r *Retention) {
	d.duration("audit.retention.max_age", r.MaxAge)
	d.duration("audit.retention.interval", r.Interval)
	if r.MaxBytes < 0 {
		d.invalid("audit.retention.max_bytes", "", "must not be negative, got %d", r.MaxBytes)
	}
	for i, t := range r.Types {
		if !slices.Contains(entryTypes, t) {
			d.invalid(fmt.Sprintf("audit.retention.types[%d]", i), "audit.retention.types",
				"want an entry type (%s), got %s", strings.Join(entryTypes, ", "), quote(t))
		}
	}
}

// validateSink checks audit.sinks[i]. names maps the names seen so far to
// their index, for the uniqueness check. An item that was not a mapping has
// already been reported and is skipped.
func (d *decoded) validateSink(i int, s *AuditSink, names map[string]int) {
	at := fmt.Sprintf("audit.sinks[%d]", i)
	if d.mistyped[at] {
		return
	}
	key := func(name string) string { return at + "." + name }

	switch {
	case s.Name == "":
		d.invalid(key("name"), at, "required: a unique name, which names the sink's cursor file")
	case !sinkName.MatchString(s.Name):
		d.invalid(key("name"), at, "want 1 to 64 letters, digits, '-' or '_', starting with a letter or digit (it names the sink's cursor file), got %s", quote(s.Name))
	default:
		if j, dup := names[s.Name]; dup {
			d.invalid(key("name"), at, "%s is already the name of audit.sinks[%d]; sink names must be unique", quote(s.Name), j)
		} else {
			names[s.Name] = i
		}
	}

	if s.BatchSize < 0 {
		d.invalid(key("batch_size"), at, "must not be negative, got %d", s.BatchSize)
	}
	d.duration(key("flush_interval"), s.FlushInterval)

	if s.Type == "" {
		d.invalid(key("type"), at, "required: one of %s", strings.Join(sinkTypes, "|"))
		return
	}
	if !d.oneOf(key("type"), s.Type, sinkTypes) {
		return
	}

	// Settings another type of sink uses are mistakes (often a block pasted
	// under the wrong type); ignoring them would hide that.
	for _, u := range []struct {
		name  string
		set   bool
		types []string
	}{
		{"address", s.Address != "", []string{"syslog"}},
		{"format", s.Format != "", []string{"syslog"}},
		{"framing", s.Framing != "", []string{"syslog"}},
		{"tls", s.TLS, []string{"syslog"}},
		{"ca_file", s.CAFile != "", []string{"syslog"}},
		{"cert_file", s.CertFile != "", []string{"syslog"}},
		{"key_file", s.KeyFile != "", []string{"syslog"}},
		{"server_name", s.ServerName != "", []string{"syslog"}},
		{"url", s.URL != "", []string{"splunk", "opa"}},
		{"token_file", s.TokenFile != "", []string{"splunk", "opa"}},
		{"gzip", s.Gzip, []string{"splunk"}},
		{"dsn", s.DSN != "", []string{"postgres"}},
		{"password_file", s.PasswordFile != "", []string{"postgres"}},
		{"table", s.Table != "", []string{"postgres"}},
	} {
		if u.set && !slices.Contains(u.types, s.Type) {
			d.invalid(key(u.name), at, "not used by %s sinks (only by %s)", s.Type, strings.Join(u.types, " and "))
		}
	}

	switch s.Type {
	case "syslog":
		if s.Address == "" {
			d.invalid(key("address"), at, "required for syslog sinks: the receiver's host:port")
		} else if err := checkDialAddr(s.Address); err != nil {
			d.invalid(key("address"), at, "want host:port, got %s: %v", quote(s.Address), err)
		}
		if s.Format == "" {
			d.invalid(key("format"), at, "required for syslog sinks: one of %s", strings.Join(syslogFormats, "|"))
		} else {
			d.oneOf(key("format"), s.Format, syslogFormats)
		}
		if s.Framing != "" {
			d.oneOf(key("framing"), s.Framing, syslogFramings)
		}
		for _, f := range []struct {
			name string
			set  bool
		}{{"ca_file", s.CAFile != ""}, {"cert_file", s.CertFile != ""}, {"key_file", s.KeyFile != ""}, {"server_name", s.ServerName != ""}} {
			if f.set && !s.TLS {
				d.invalid(key(f.name), at, "requires %s: true", key("tls"))
			}
		}
		switch {
		case s.CertFile != "" && s.KeyFile == "":
			d.invalid(key("key_file"), key("cert_file"), "required when %s is set", key("cert_file"))
		case s.CertFile == "" && s.KeyFile != "":
			d.invalid(key("cert_file"), key("key_file"), "required when %s is set", key("key_file"))
		}
	case "splunk", "opa":
		if s.URL == "" {
			d.invalid(key("url"), at, "required for %s sinks: an http or https URL", s.Type)
		} else if err := checkHTTPURL(s.URL); err != nil {
			d.invalid(key("url"), at, "want an http or https URL, got %s: %v", quote(s.URL), err)
		}
	case "postgres":
		if s.DSN == "" {
			d.invalid(key("dsn"), at, "required for postgres sinks: a PostgreSQL connection string")
		}
	}
}

// duration accepts an empty value (the setting is off or defaulted) or a Go
// duration greater than zero.
func (d *decoded) duration(key, value string) {
	if value == "" {
		return
	}
	v, err := time.ParseDuration(value)
	if err != nil {
		d.invalid(key, "", "want a Go duration such as \"90s\" or \"720h\", got %s", d.show(key, value))
		return
	}
	if v <= 0 {
		d.invalid(key, "", "must be greater than 0, got %s", d.show(key, value))
	}
}

// checkDialAddr is checkAddr for an address to connect to, which needs a host.
func checkDialAddr(addr string) error {
	if err := checkAddr(addr); err != nil {
		return err
	}
	if host, _, _ := net.SplitHostPort(addr); host == "" {
		return fmt.Errorf("missing host")
	}
	return nil
}

// checkHTTPURL accepts an absolute http or https URL with a host.
func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("missing host")
	}
	return nil
}

// checkAddr accepts "host:port" and ":port" with a numeric port, as
// net.Listen takes them; service names are refused so the port is explicit.
func checkAddr(addr string) error {
	if p, ok := strings.CutPrefix(addr, "unix://"); ok {
		if p == "" || !strings.HasPrefix(p, "/") {
			return fmt.Errorf("a Unix socket needs an absolute path: unix:///run/belladonna.sock")
		}
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// oneOf reports whether value is allowed, recording a problem if not.
func (d *decoded) oneOf(key, value string, allowed []string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	d.invalid(key, "", "want one of %s, got %s", strings.Join(allowed, "|"), d.show(key, value))
	return false
}

// invalid records a validation problem about key, located where key's value
// came from or, when key was left at its default, where near's did (the
// setting that made key required).
//
// A key whose value had the wrong type has been reported already; it holds
// no value of the user's to validate, so it is skipped. So is a key left
// unset that an unknown key's suggestion named: it was probably set, misspelt.
func (d *decoded) invalid(key, near, format string, args ...any) {
	if _, set := d.origins[key]; d.mistyped[key] || (d.misspelt[key] && !set) {
		return
	}
	p := Problem{Key: key, Message: key + ": " + fmt.Sprintf(format, args...), Err: ErrInvalidValue}
	o, ok := d.origins[key]
	if !ok && near != "" {
		o, ok = d.origins[near]
	}
	switch {
	case ok && o.env != "":
		p.Env = o.env
	case ok:
		p.File, p.Line, p.Column = d.file, o.line, o.col
	default:
		p.File = d.file
	}
	d.problems = append(d.problems, p)
}

// show quotes a value for a message unless it came from a sensitive
// environment variable, whose value must not reach logs.
func (d *decoded) show(key, value string) string {
	if o := d.origins[key]; o.env != "" && envByName(o.env).Sensitive {
		return "(value hidden: sensitive)"
	}
	return quote(value)
}
