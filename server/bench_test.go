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
func BenchmarkServeHTTP(b *testing.B) {
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
