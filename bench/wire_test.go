package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The lean client reads sized, chunked and closing answers and sends the
// body it was given.
func TestWireClientAgainstNetHTTP(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || r.URL.Path != "/v1/data/x" {
			w.WriteHeader(400)
			return
		}
		switch string(body) {
		case `{"input":"sized"}`:
			w.Write([]byte(`{"result":true}`))
		case `{"input":"chunked"}`:
			for range 10 {
				w.Write([]byte(strings.Repeat("x", 1000)))
				w.(http.Flusher).Flush()
			}
		case `{"input":"close"}`:
			w.Header().Set("Connection", "close")
			w.Write([]byte(`{}`))
		default:
			w.WriteHeader(404)
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	inputs := [][]byte{[]byte(`{"input":"sized"}`), []byte(`{"input":"chunked"}`), []byte(`{"input":"close"}`), []byte(`{"input":"other"}`)}
	newSender, err := wireSender(srv.URL+"/v1/data/x", inputs)
	if err != nil {
		t.Fatal(err)
	}
	send := newSender()
	ctx := context.Background()
	for round := range 3 {
		for i, want := range []string{"", "", "", "HTTP 404"} {
			err := send(ctx, i)
			if got := errString(err); got != want {
				t.Fatalf("round %d input %d: error %q, want %q", round, i, got, want)
			}
		}
	}
	// One connection per round: the sized and chunked answers kept it, the
	// closing one ended it and the next request dialled again.
	if n := conns.Load(); n != 4 {
		t.Fatalf("%d connections, want 4", n)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestReadResponseRefusesGarbage(t *testing.T) {
	for _, in := range []string{
		"",
		"HTTP/1.1 2x0 OK\r\n\r\n",
		"SSH-2.0-OpenSSH\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
	} {
		if _, _, err := readResponse(bufio.NewReader(strings.NewReader(in))); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
