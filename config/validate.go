package config

import (
	"fmt"
	"math"
	"net"
	"slices"
	"strconv"
	"strings"
)

// Allowed values of the enumerated keys.
var (
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
	authModes  = []string{"none", "token"}
	auditModes = []string{"all", "denials", "sample"}
	onFailures = []string{"closed", "open"}
	failOns    = []string{"error", "warning", "info"}
)

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
		d.invalid("server.addr", "", "want host:port, got %s: %v", d.show("server.addr", s.Addr), err)
	}
	if s.MaxRequestBytes <= 0 {
		d.invalid("server.max_request_bytes", "", "must be greater than 0, got %d", s.MaxRequestBytes)
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
	if math.IsNaN(c.Audit.SampleRate) || c.Audit.SampleRate < 0 || c.Audit.SampleRate > 1 {
		d.invalid("audit.sample_rate", "", "want a fraction from 0 to 1, got %v", c.Audit.SampleRate)
	}
	for _, m := range c.Audit.Mask {
		if !strings.HasPrefix(m, "/input/") || len(m) <= len("/input/") {
			d.invalid("audit.mask", "", "want JSON pointers under /input (e.g. /input/token), got %q", m)
		}
	}

	d.oneOf("validate.fail_on", c.Validate.FailOn, failOns)
}

// checkAddr accepts "host:port" and ":port" with a numeric port, as
// net.Listen takes them; service names are refused so the port is explicit.
func checkAddr(addr string) error {
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
func (d *decoded) invalid(key, near, format string, args ...any) {
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
