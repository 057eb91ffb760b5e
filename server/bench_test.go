package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/fstest"

	"github.com/belladonna-dev/belladonna/engine"
)

// BenchmarkServeHTTP drives the decision API over loopback TCP with
// keep-alive connections, 8 at a time, on a deterministic path (cache
// hits after the first round of inputs): what the HTTP layer costs.
// benchServer is a Server on the benchmark policy, its entrypoint planned.
func benchServer(b *testing.B) *Server {
	b.Helper()
	src, err := engine.LoadFS(fstest.MapFS{"app/app.rego": {Data: []byte(policy)}}, ".", engine.LoadOptions{})
	if err != nil {
		b.Fatal(err)
	}
	eng := engine.New(engine.WithCompileOptions(engine.CompileOptions{CacheEntries: 10000, Entrypoints: []string{"app/allow"}}))
	st, err := eng.Activate(context.Background(), src)
	if err != nil {
		b.Fatal(err)
	}
	st.FastPathsReady(context.Background())
	s, err := New(eng, Options{Addr: "127.0.0.1:0"})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

func BenchmarkServeHTTP(b *testing.B) {
	s := benchServer(b)
	addr, err := s.Start(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	url := "http://" + addr.(*net.TCPAddr).String() + "/v1/data/app/allow"
	bodies := make([][]byte, 100)
	for i := range bodies {
		bodies[i] = fmt.Appendf(nil, `{"input": {"user": "user-%d"}}`, i)
	}
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			resp, err := c.Post(url, "application/json", bytes.NewReader(bodies[i%len(bodies)]))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			i++
		}
	})
	b.StopTimer()
	c.CloseIdleConnections()
	s.Stop(context.Background())
}

// BenchmarkHandlerHit calls the decision handler directly on a cache hit,
// without a connection: the allocations and time that are this package's
// own, apart from net/http's.
func BenchmarkHandlerHit(b *testing.B) {
	s := benchServer(b)
	h := s.Handler()
	body := []byte(`{"input": {"user": "user-1"}}`)
	rd := bytes.NewReader(body)
	req, _ := http.NewRequest(http.MethodPost, "/v1/data/app/allow", rd)
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = "127.0.0.1:1234"
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rd.Reset(body)
		req.ContentLength = int64(len(body))
		clear(w.h)
		h.ServeHTTP(w, req)
		if w.status != 200 {
			b.Fatalf("status %d", w.status)
		}
	}
}

type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(s int)           { w.status = s }
