package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"
)

// wireConn is the load generator's HTTP/1.1 client: one keep-alive
// connection, requests written from bytes built once per input, responses
// read with no allocation per request. net/http's client costs about as much
// CPU per request as the servers under test; on a 2-core machine that shares
// its cores with them, a heavy client squeezes every server towards the same
// figure. wrk, which the figures come from, is this lean.
type wireConn struct {
	addr string
	conn net.Conn
	r    *bufio.Reader
}

// wireRequests renders one POST per input to the path of rawURL.
func wireRequests(rawURL string, inputs [][]byte) (addr string, reqs [][]byte, err error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", nil, fmt.Errorf("load generator: %w", err)
	}
	if u.Scheme != "http" {
		return "", nil, fmt.Errorf("load generator: %s: only http:// is driven", rawURL)
	}
	reqs = make([][]byte, len(inputs))
	for i, in := range inputs {
		reqs[i] = fmt.Appendf(nil, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
			u.RequestURI(), u.Host, len(in), in)
	}
	return u.Host, reqs, nil
}

// do sends one rendered request and reads the answer, dialling first when
// the connection is new or the server closed it. It returns the status.
func (c *wireConn) do(ctx context.Context, req []byte) (int, error) {
	if c.conn == nil {
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", c.addr)
		if err != nil {
			return 0, fmt.Errorf("dial %s: %w", c.addr, err)
		}
		c.conn = conn
		if c.r == nil {
			c.r = bufio.NewReaderSize(conn, 16<<10)
		} else {
			c.r.Reset(conn)
		}
	}
	if err := c.conn.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		return 0, c.fail(err)
	}
	if _, err := c.conn.Write(req); err != nil {
		return 0, c.fail(err)
	}
	status, keep, err := readResponse(c.r)
	if err != nil {
		return 0, c.fail(err)
	}
	if !keep {
		c.close()
	}
	return status, nil
}

func (c *wireConn) fail(err error) error {
	c.close()
	return err
}

func (c *wireConn) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// readResponse reads one HTTP/1.1 response, discarding its body (sized or
// chunked), and says whether the connection stays open.
func readResponse(r *bufio.Reader) (status int, keepAlive bool, err error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		return 0, false, fmt.Errorf("status line: %w", err)
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("status line %q", line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("status line %q", line)
	}
	length, chunked, keepAlive := int64(-1), false, true
	for {
		line, err = r.ReadSlice('\n')
		if err != nil {
			return 0, false, fmt.Errorf("header: %w", err)
		}
		h := bytes.TrimRight(line, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			return 0, false, fmt.Errorf("header line %q", h)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.ParseInt(string(value), 10, 64); err != nil || length < 0 {
				return 0, false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			keepAlive = !bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		err = discardChunks(r)
	case length >= 0:
		_, err = r.Discard(int(length))
	default:
		// No length: the body runs to the end of the connection.
		_, err = io.Copy(io.Discard, r)
		keepAlive = false
	}
	if err != nil {
		return 0, false, fmt.Errorf("body: %w", err)
	}
	return status, keepAlive, nil
}

func discardChunks(r *bufio.Reader) error {
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("chunk size %q", line)
		}
		if n == 0 {
			for { // trailers, up to the empty line
				line, err := r.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := r.Discard(int(n)); err != nil {
			return err
		}
		line, err = r.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) != 0 {
			return errors.New("chunk not followed by CRLF")
		}
	}
}
