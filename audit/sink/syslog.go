package sink

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
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
	// batchTimeout bounds writing one batch and waiting for the receiver to
	// close its side.
	batchTimeout = 30 * time.Second
)

// syslogSink writes RFC 5424 messages with CEF or LEEF bodies over TCP or
// TLS, one connection per batch.
//
// RFC 5425 and RFC 6587 have no acknowledgement, and a receiver that exits
// with bytes still in its socket buffer loses them while the sender's writes
// all succeeded. The one confirmation TCP does give is the receiver's own
// close: after the sink half-closes the connection, the receiver reads up
// to that end-of-stream before it closes in turn, whereas a receiver dying
// with unread data resets the connection. So a batch counts as delivered
// only when the receiver closed cleanly after it; anything else resends it.
// Measured against rsyslogd restarted mid-stream, a long-lived connection
// lost messages and this does not; the price is a connection (and, with
// TLS, a handshake, shortened by session resumption) per batch.
type syslogSink struct {
	name     string
	addr     string
	tls      *tls.Config
	format   func(*audit.Entry) string
	octet    bool
	hostname string
	procID   string
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
		name:     cfg.Name,
		addr:     cfg.Address,
		hostname: syslogToken(cfg.Hostname, 255),
		procID:   strconv.Itoa(os.Getpid()),
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
		s.tls.ClientSessionCache = tls.NewLRUClientSessionCache(1)
	} else if cfg.TLS != (TLSConfig{}) {
		return nil, cfg.invalid("tls", "TLS files are set but tls.enabled is false")
	}
	return s, nil
}

func (s *syslogSink) Name() string { return s.name }

// Send connects, writes the batch, half-closes, and succeeds only when the
// receiver then closes cleanly (see syslogSink).
func (s *syslogSink) Send(ctx context.Context, entries []audit.Entry) error {
	ctx, cancel := context.WithTimeout(ctx, batchTimeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(d)
	}
	// Cancellation must also interrupt a write or read already blocked.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	w := bufio.NewWriterSize(conn, 64<<10)
	for i := range entries {
		msg := s.message(&entries[i])
		if s.octet {
			w.WriteString(strconv.Itoa(len(msg)))
			w.WriteByte(' ')
			w.WriteString(msg)
		} else {
			w.WriteString(msg)
			w.WriteByte('\n')
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("audit sink %s: writing to %s: %w", s.name, s.addr, err)
	}
	if err := closeWrite(conn); err != nil {
		return fmt.Errorf("audit sink %s: ending the batch to %s: %w", s.name, s.addr, err)
	}
	// A syslog receiver sends nothing; drain whatever comes until its close.
	if _, err := io.Copy(io.Discard, conn); err != nil {
		return fmt.Errorf("audit sink %s: %s did not confirm the batch by closing cleanly, resending it: %w", s.name, s.addr, err)
	}
	return nil
}

func (s *syslogSink) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{Timeout: dialTimeout}
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
		return nil, fmt.Errorf("audit sink %s: connecting to %s: %w", s.name, s.addr, err)
	}
	return conn, nil
}

// closeWrite ends our direction of the stream. For TLS that is a
// close_notify alert followed by a TCP half-close, since tls.Conn.CloseWrite
// leaves the TCP connection open and some receivers wait for the FIN.
func closeWrite(conn net.Conn) error {
	if tc, ok := conn.(*tls.Conn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		conn = tc.NetConn()
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		return tc.CloseWrite()
	}
	return nil
}

// Close has nothing to release: connections live for one batch.
func (s *syslogSink) Close() error { return nil }

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
