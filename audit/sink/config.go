package sink

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"
)

// Sink types accepted in Config.Type.
const (
	TypeSyslog   = "syslog"
	TypeSplunk   = "splunk"
	TypeOPA      = "opa"
	TypePostgres = "postgres"
)

// Syslog message formats (Config.Format) and framings (Config.Framing).
const (
	FormatCEF  = "cef"
	FormatLEEF = "leef"

	// FramingOctetCounting is RFC 5425/6587 "LEN SP MSG", which survives
	// any byte in MSG; the default.
	FramingOctetCounting = "octet-counting"
	// FramingNewline ends each message with LF, for receivers that only
	// split on lines. The formats never put a raw newline in a message.
	FramingNewline = "newline"
)

// Config is one sink as written in belladonna.yaml (audit.sinks[]). Which
// fields apply depends on Type; New rejects settings that make no sense.
//
// Secrets come from files (TokenFile, PasswordFile) or, when the config
// package resolved them from the environment, from Token and Password. They
// never appear in errors or in logs; LogValue leaves them out.
type Config struct {
	Type string `yaml:"type" json:"type"` // syslog|splunk|opa|postgres
	// Name labels the sink's metrics and names its cursor file; unique.
	Name string `yaml:"name" json:"name"`

	// Address is the syslog receiver's host:port.
	Address string `yaml:"address" json:"address"`
	// Format of syslog message bodies: cef (ArcSight) or leef (QRadar).
	Format string `yaml:"format" json:"format"`
	// Framing of syslog messages on the stream: octet-counting or newline.
	Framing string `yaml:"framing" json:"framing"`
	// Hostname reported in syslog headers and HEC events; the machine's
	// host name when empty.
	Hostname string `yaml:"hostname" json:"hostname"`
	// TLS for syslog (Enabled) and for https URLs (CA and client certificate).
	TLS TLSConfig `yaml:"tls" json:"tls"`

	// URL is the Splunk HEC base (https://splunk:8088) or the OPA decision-log
	// service base, to which /logs is appended as OPA does.
	URL string `yaml:"url" json:"url"`
	// TokenFile holds the HEC token (Authorization: Splunk) or the OPA
	// service's bearer token.
	TokenFile string `yaml:"token_file" json:"token_file"`
	Token     string `yaml:"-" json:"-"`
	// Gzip compresses HEC requests (OPA requests are always gzip).
	Gzip bool `yaml:"gzip" json:"gzip"`
	// Labels are added to OPA decision-log events (OPA's "labels").
	Labels map[string]string `yaml:"labels" json:"labels"`
	// Bundle names the bundle whose revision OPA events report; "belladonna"
	// when empty.
	Bundle string `yaml:"bundle" json:"bundle"`

	// DSN is a PostgreSQL connection string (URL or key=value). Prefer
	// PasswordFile to a password inside it.
	DSN          string `yaml:"dsn" json:"dsn"`
	PasswordFile string `yaml:"password_file" json:"password_file"`
	Password     string `yaml:"-" json:"-"`
	// Table is the PostgreSQL table, optionally schema-qualified;
	// "audit_entries" when empty. Rows are keyed by log index, so every
	// audit log (every sidecar) needs its own table; the sink refuses to
	// write entries that collide with another log's.
	Table string `yaml:"table" json:"table"`

	// BatchSize and FlushInterval: see Batching. Zero means the default.
	BatchSize     int           `yaml:"batch_size" json:"batch_size"`
	FlushInterval time.Duration `yaml:"flush_interval" json:"flush_interval"`
}

// TLSConfig holds PEM file paths for a TLS client.
type TLSConfig struct {
	// Enabled turns on TLS for syslog; HTTP sinks follow the URL scheme.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// CAFile verifies the receiver; the system roots when empty.
	CAFile string `yaml:"ca_file" json:"ca_file"`
	// CertFile and KeyFile, both or neither, are a client certificate.
	CertFile string `yaml:"cert_file" json:"cert_file"`
	KeyFile  string `yaml:"key_file" json:"key_file"`
	// ServerName overrides the name checked in the receiver's certificate.
	ServerName string `yaml:"server_name" json:"server_name"`
}

// Batching returns the batching settings, with defaults filled in.
func (c Config) Batching() Batching {
	b := DefaultBatching()
	if c.BatchSize > 0 {
		b.Size = c.BatchSize
	}
	if c.FlushInterval > 0 {
		b.MaxLatency = c.FlushInterval
	}
	return b
}

// LogValue describes the sink without its secrets, so logging a Config is
// safe. The DSN is left out entirely: it may carry a password in any of
// several syntaxes.
func (c Config) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("type", c.Type), slog.String("name", c.Name)}
	add := func(k, v string) {
		if v != "" {
			attrs = append(attrs, slog.String(k, v))
		}
	}
	add("address", c.Address)
	add("format", c.Format)
	add("framing", c.Framing)
	add("url", c.URL)
	add("token_file", c.TokenFile)
	add("password_file", c.PasswordFile)
	add("table", c.Table)
	if c.DSN != "" {
		attrs = append(attrs, slog.String("dsn", "(set, not shown)"))
	}
	return slog.GroupValue(attrs...)
}

// New builds the sink that cfg describes. Unknown types, formats and
// framings are errors (*ConfigError), never a silent fallback.
func New(cfg Config) (Sink, error) {
	if !validName.MatchString(cfg.Name) {
		return nil, &ConfigError{Sink: cfg.Name, Field: "name", Reason: "must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", Err: ErrInvalidConfig}
	}
	if cfg.BatchSize < 0 {
		return nil, cfg.invalid("batch_size", "must not be negative")
	}
	if cfg.FlushInterval < 0 {
		return nil, cfg.invalid("flush_interval", "must not be negative")
	}
	switch strings.ToLower(cfg.Type) {
	case TypeSyslog:
		return newSyslog(cfg)
	case TypeSplunk:
		return newSplunk(cfg)
	case TypeOPA:
		return newOPA(cfg)
	case TypePostgres:
		return newPostgres(cfg)
	}
	return nil, &ConfigError{Sink: cfg.Name, Field: "type",
		Reason: fmt.Sprintf("unknown type %q (want %s, %s, %s or %s)", cfg.Type, TypeSyslog, TypeSplunk, TypeOPA, TypePostgres),
		Err:    ErrUnknownType}
}

func (c Config) invalid(field, reason string) *ConfigError {
	return &ConfigError{Sink: c.Name, Field: field, Reason: reason, Err: ErrInvalidConfig}
}

// token returns the token from Token or TokenFile.
func (c Config) token() (string, error) {
	return c.secret("token_file", c.Token, c.TokenFile)
}

// secret prefers the value resolved from the environment, then the file.
// Trailing whitespace is dropped: files written by editors end in a newline.
// Errors name the file, never its content.
func (c Config) secret(field, value, file string) (string, error) {
	if value != "" {
		return value, nil
	}
	if file == "" {
		return "", nil
	}
	bs, err := os.ReadFile(file)
	if err != nil {
		return "", c.invalid(field, "cannot read the file: "+err.Error())
	}
	s := strings.TrimSpace(string(bs))
	if s == "" {
		return "", c.invalid(field, "the file is empty")
	}
	return s, nil
}

// onlyFor rejects settings that the sink type typ does not use: a DSN on a
// syslog sink is a mistake (often a sink block pasted under the wrong type),
// and ignoring it would hide that.
func (c Config) onlyFor(typ string) error {
	const syslog, splunk, opa, postgres = TypeSyslog, TypeSplunk, TypeOPA, TypePostgres
	fields := []struct {
		name  string
		set   bool
		types []string
	}{
		{"address", c.Address != "", []string{syslog}},
		{"format", c.Format != "", []string{syslog}},
		{"framing", c.Framing != "", []string{syslog}},
		{"hostname", c.Hostname != "", []string{syslog, splunk}},
		{"tls", c.TLS != (TLSConfig{}), []string{syslog, splunk, opa}},
		{"url", c.URL != "", []string{splunk, opa}},
		{"token_file", c.TokenFile != "" || c.Token != "", []string{splunk, opa}},
		{"gzip", c.Gzip, []string{splunk}},
		{"labels", len(c.Labels) > 0, []string{opa}},
		{"bundle", c.Bundle != "", []string{opa}},
		{"dsn", c.DSN != "", []string{postgres}},
		{"password_file", c.PasswordFile != "" || c.Password != "", []string{postgres}},
		{"table", c.Table != "", []string{postgres}},
	}
	for _, f := range fields {
		if f.set && !slices.Contains(f.types, typ) {
			return c.invalid(f.name, "not used by "+typ+" sinks")
		}
	}
	return nil
}
