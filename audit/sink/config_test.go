package sink

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	for _, tc := range []struct {
		note string
		cfg  Config
		want error
	}{
		{"unknown type", Config{Type: "kafka", Name: "k"}, ErrUnknownType},
		{"empty type", Config{Name: "k"}, ErrUnknownType},
		{"unknown format", Config{Type: TypeSyslog, Name: "s", Address: "h:514", Format: "json"}, ErrUnknownFormat},
		{"unknown framing", Config{Type: TypeSyslog, Name: "s", Address: "h:514", Framing: "nul"}, ErrUnknownFormat},
		{"bad name", Config{Type: TypeSyslog, Name: "a/b", Address: "h:514"}, ErrInvalidConfig},
		{"no port", Config{Type: TypeSyslog, Name: "s", Address: "h"}, ErrInvalidConfig},
		{"tls files without tls", Config{Type: TypeSyslog, Name: "s", Address: "h:514", TLS: TLSConfig{CAFile: "ca.pem"}}, ErrInvalidConfig},
		{"missing CA file", Config{Type: TypeSyslog, Name: "s", Address: "h:514", TLS: TLSConfig{Enabled: true, CAFile: "/nonexistent/ca.pem"}}, ErrInvalidConfig},
		{"half a client cert", Config{Type: TypeSyslog, Name: "s", Address: "h:514", TLS: TLSConfig{Enabled: true, CertFile: "c.pem"}}, ErrInvalidConfig},
		{"dsn on syslog", Config{Type: TypeSyslog, Name: "s", Address: "h:514", DSN: "host=x"}, ErrInvalidConfig},
		{"format on splunk", Config{Type: TypeSplunk, Name: "h", URL: "https://s:8088", Token: "t", Format: "cef"}, ErrInvalidConfig},
		{"splunk without token", Config{Type: TypeSplunk, Name: "h", URL: "https://s:8088"}, ErrInvalidConfig},
		{"splunk bad url", Config{Type: TypeSplunk, Name: "h", URL: "s:8088", Token: "t"}, ErrInvalidConfig},
		{"credentials in url", Config{Type: TypeOPA, Name: "o", URL: "https://u:p@s"}, ErrInvalidConfig},
		{"tls files on http url", Config{Type: TypeOPA, Name: "o", URL: "http://s", TLS: TLSConfig{CAFile: "ca.pem"}}, ErrInvalidConfig},
		{"gzip on opa", Config{Type: TypeOPA, Name: "o", URL: "http://s", Gzip: true}, ErrInvalidConfig},
		{"missing token file", Config{Type: TypeOPA, Name: "o", URL: "http://s", TokenFile: "/nonexistent/token"}, ErrInvalidConfig},
		{"postgres without dsn", Config{Type: TypePostgres, Name: "p"}, ErrInvalidConfig},
		{"bad table", Config{Type: TypePostgres, Name: "p", DSN: "host=x", Table: "a.b.c"}, ErrInvalidConfig},
		{"negative batch", Config{Type: TypePostgres, Name: "p", DSN: "host=x", BatchSize: -1}, ErrInvalidConfig},
		{"negative interval", Config{Type: TypePostgres, Name: "p", DSN: "host=x", FlushInterval: -time.Second}, ErrInvalidConfig},
	} {
		_, err := New(tc.cfg)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: New = %v, want %v", tc.note, err, tc.want)
			continue
		}
		if ce, ok := errors.AsType[*ConfigError](err); !ok || ce.Sink != tc.cfg.Name {
			t.Errorf("%s: %v is not a *ConfigError naming the sink", tc.note, err)
		}
	}
}

func TestNewBuildsEachType(t *testing.T) {
	for _, cfg := range []Config{
		{Type: TypeSyslog, Name: "s", Address: "127.0.0.1:6514"},
		{Type: "SYSLOG", Name: "s2", Address: "siem:514", Format: "LEEF", Framing: FramingNewline},
		{Type: TypeSplunk, Name: "h", URL: "https://splunk:8088", Token: "t", Gzip: true},
		{Type: TypeOPA, Name: "o", URL: "http://collector"},
		{Type: TypePostgres, Name: "p", DSN: "postgres://audit@db/belladonna", Table: "audit.entries"},
	} {
		s, err := New(cfg)
		if err != nil {
			t.Errorf("%s: %v", cfg.Type, err)
			continue
		}
		if s.Name() != cfg.Name {
			t.Errorf("Name() = %q", s.Name())
		}
		s.Close()
	}
}

func TestSecretsStayOutOfErrorsAndLogs(t *testing.T) {
	const secret = "hunter2-token"
	cfg := Config{Type: TypeSplunk, Name: "h", URL: "://bad", Token: secret}
	if _, err := New(cfg); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("error %v", err)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	log.Info("sink", "config", Config{Type: TypePostgres, Name: "p", DSN: "postgres://u:" + secret + "@db/x", Password: secret, Token: secret})
	if strings.Contains(buf.String(), secret) || !strings.Contains(buf.String(), "not shown") {
		t.Errorf("logged config: %s", buf.String())
	}
}

func TestConfigBatchingDefaults(t *testing.T) {
	if b := (Config{}).Batching(); b != DefaultBatching() {
		t.Errorf("zero config batching %+v", b)
	}
	if b := (Config{BatchSize: 7, FlushInterval: time.Minute}).Batching(); b.Size != 7 || b.MaxLatency != time.Minute {
		t.Errorf("batching %+v", b)
	}
}
