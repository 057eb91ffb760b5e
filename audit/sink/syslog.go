package sink

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/belladonna-dev/belladonna/audit"
)

const (
	// facilityLogAudit is RFC 5424 facility 13, "log audit".
	facilityLogAudit = 13
	syslogAppName    = "belladonna"
	syslogTimeFormat = "2006-01-02T15:04:05.000000Z07:00"
	dialTimeout      = 10 * time.Second
	writeTimeout     = 30 * time.Second
	// defaultConfirmWait is how long the sink watches the connection after
	// a batch for the receiver closing it. RFC 5425/6587 have no
	// acknowledgement; a receiver that exits with our bytes unread resets
	// the connection within a round trip, and catching that here turns a
	// silent loss into a resend. It bounds one sink's rate to one batch per
	// wait, so keep batches large.
	defaultConfirmWait = 20 * time.Millisecond
	// probeWait is the shortest read that still asks the kernel whether
	// the receiver closed the connection since the last batch.
	probeWait = time.Millisecond
)

// syslogSink writes RFC 5424 messages with CEF or LEEF bodies over TCP or
// TLS. It holds one connection and redials after any error.
type syslogSink struct {
	name        string
	addr        string
	tls         *tls.Config
	format      func(*audit.Entry) string
	octet       bool
	hostname    string
	procID      string
	confirmWait time.Duration

	conn net.Conn
	w    *bufio.Writer
}

func newSyslog(cfg Config) (*syslogSink, error) {
	if err := cfg.onlyFor(TypeSyslog); err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(cfg.Address)
	if err != nil || host == "" || port == "" {
		return nil, cfg.invalid("address", fmt.Sprintf("want host:port, got %q", cfg.Address))
	}
	s := &syslogSink{
		name:        cfg.Name,
		addr:        cfg.Address,
		hostname:    syslogToken(cfg.Hostname, 255),
		procID:      strconv.Itoa(os.Getpid()),
		confirmWait: defaultConfirmWait,
	}
	if cfg.Hostname == "" {
		h, _ := os.Hostname()
		s.hostname = syslogToken(h, 255)
	}
	switch strings.ToLower(cfg.Format) {
	case FormatCEF, "":
		s.format = formatCEF
	case FormatLEEF:
		s.format = formatLEEF
	default:
		return nil, &ConfigError{Sink: cfg.Name, Field: "format",
			Reason: fmt.Sprintf("unknown format %q (want %s or %s)", cfg.Format, FormatCEF, FormatLEEF), Err: ErrUnknownFormat}
	}
	switch strings.ToLower(cfg.Framing) {
	case FramingOctetCounting, "":
		s.octet = true
	case FramingNewline:
	default:
		return nil, &ConfigError{Sink: cfg.Name, Field: "framing",
			Reason: fmt.Sprintf("unknown framing %q (want %s or %s)", cfg.Framing, FramingOctetCounting, FramingNewline), Err: ErrUnknownFormat}
	}
	if cfg.TLS.Enabled {
		if s.tls, err = cfg.clientTLS(host); err != nil {
			return nil, err
		}
	} else if cfg.TLS != (TLSConfig{}) {
		return nil, cfg.invalid("tls", "TLS files are set but tls.enabled is false")
	}
	return s, nil
}

func (s *syslogSink) Name() string { return s.name }

// Send writes the batch on the current connection, dialling first if there
// is none or the receiver closed it since the last batch.
func (s *syslogSink) Send(ctx context.Context, entries []audit.Entry) error {
	if s.conn != nil && !s.alive(probeWait) {
		s.drop()
	}
	if s.conn == nil {
		if err := s.dial(ctx); err != nil {
			return err
		}
	}
	conn := s.conn
	deadline := time.Now().Add(writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetWriteDeadline(deadline)
	// A write blocked on a stalled receiver must not outlive ctx.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for i := range entries {
		msg := s.message(&entries[i])
		if s.octet {
			s.w.WriteString(strconv.Itoa(len(msg)))
			s.w.WriteByte(' ')
			s.w.WriteString(msg)
		} else {
			s.w.WriteString(msg)
			s.w.WriteByte('\n')
		}
	}
	if err := s.w.Flush(); err != nil {
		s.drop()
		return fmt.Errorf("audit sink %s: writing to %s: %w", s.name, s.addr, err)
	}
	if s.confirmWait > 0 && !s.alive(s.confirmWait) {
		s.drop()
		return fmt.Errorf("audit sink %s: %s closed the connection right after a batch; resending it", s.name, s.addr)
	}
	return nil
}

func (s *syslogSink) dial(ctx context.Context) error {
	d := &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}
	var (
		conn net.Conn
		err  error
	)
	if s.tls != nil {
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", s.addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", s.addr)
	}
	if err != nil {
		return fmt.Errorf("audit sink %s: connecting to %s: %w", s.name, s.addr, err)
	}
	s.conn, s.w = conn, bufio.NewWriterSize(conn, 64<<10)
	return nil
}

// alive reads for up to wait. A syslog receiver never sends anything, so a
// timeout means the connection is open; EOF or a reset means the receiver
// closed it (and may not have read what was written last).
func (s *syslogSink) alive(wait time.Duration) bool {
	_ = s.conn.SetReadDeadline(time.Now().Add(wait))
	var buf [512]byte
	_, err := s.conn.Read(buf[:])
	_ = s.conn.SetReadDeadline(time.Time{})
	if err == nil {
		return true // unexpected data (a TLS alert is an error): ignore it
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return true
	}
	return false
}

func (s *syslogSink) drop() {
	if s.conn != nil {
		_ = s.conn.Close()
	}
	s.conn, s.w = nil, nil
}

// Close closes the connection.
func (s *syslogSink) Close() error {
	s.drop()
	return nil
}

// message is one RFC 5424 message:
// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG.
func (s *syslogSink) message(e *audit.Entry) string {
	ts := "-"
	if !e.Time.IsZero() {
		ts = e.Time.UTC().Format(syslogTimeFormat)
	}
	pri := facilityLogAudit*8 + levelOf(e).syslog()
	return "<" + strconv.Itoa(pri) + ">1 " + ts + " " + s.hostname + " " + syslogAppName + " " +
		s.procID + " " + syslogToken(eventClass(e), 32) + " - " + s.format(e)
}

// syslogToken makes s a valid RFC 5424 header field: printable US-ASCII
// without spaces, at most n bytes, "-" (the nil value) when nothing is left.
func syslogToken(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		if c := s[i]; c > 32 && c < 127 {
			b = append(b, c)
		}
	}
	if len(b) == 0 {
		return "-"
	}
	return string(b)
}
