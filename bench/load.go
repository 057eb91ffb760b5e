package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// client is one HTTP client for all runs: keep-alive connections, one per
// worker, as a sidecar's application would hold.
func client(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true, IdleConnTimeout: time.Minute}, Timeout: 30 * time.Second}
}

// loadResult is one closed-loop run.
type loadResult struct {
	Requests int64
	Errors   int64
	Elapsed  time.Duration
	Hist     *histogram
}

// sender sends input i and returns the first error (a non-200 status is
// one); each worker has its own.
type sender func(ctx context.Context, i int) error

// netHTTPSender drives url with net/http's client.
func netHTTPSender(c *http.Client, url string, inputs [][]byte) func() sender {
	return func() sender {
		buf := make([]byte, 0, 4096)
		return func(ctx context.Context, i int) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(inputs[i]))
			req.Header.Set("Content-Type", "application/json")
			resp, err := c.Do(req)
			if err != nil {
				return err
			}
			b := bytes.NewBuffer(buf[:0])
			_, err = io.Copy(b, resp.Body)
			resp.Body.Close()
			if err == nil && resp.StatusCode != 200 {
				err = fmt.Errorf("HTTP %d", resp.StatusCode)
			}
			return err
		}
	}
}

// wireSender drives url with the lean client in wire.go, one connection per
// worker.
func wireSender(url string, inputs [][]byte) (func() sender, error) {
	addr, reqs, err := wireRequests(url, inputs)
	if err != nil {
		return nil, err
	}
	return func() sender {
		c := &wireConn{addr: addr}
		return func(ctx context.Context, i int) error {
			status, err := c.do(ctx, reqs[i])
			if err == nil && status != 200 {
				err = fmt.Errorf("HTTP %d", status)
			}
			return err
		}
	}, nil
}

// closedLoop runs conc workers, each sending the next input as soon as the
// previous answer is read, for warmup (not recorded) then d.
func closedLoop(ctx context.Context, newSender func() sender, n int, conc int, warmup, d time.Duration) loadResult {
	var next atomic.Uint64
	var recording atomic.Bool
	var errs atomic.Int64
	hists := make([]*histogram, conc)
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	for w := range conc {
		hists[w] = &histogram{}
		wg.Add(1)
		send := newSender()
		go func(h *histogram) {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1) % uint64(n))
				start := time.Now()
				err := send(ctx, i)
				if !recording.Load() {
					continue
				}
				if err != nil {
					if ctx.Err() == nil {
						errs.Add(1)
					}
					continue
				}
				h.record(time.Since(start))
			}
		}(hists[w])
	}
	time.Sleep(warmup)
	recording.Store(true)
	began := time.Now()
	time.Sleep(d)
	recording.Store(false)
	elapsed := time.Since(began)
	cancel()
	wg.Wait()
	total := &histogram{}
	for _, h := range hists {
		total.merge(h)
	}
	return loadResult{Requests: int64(total.n), Errors: errs.Load(), Elapsed: elapsed, Hist: total}
}

// result asks url once and returns the decoded "result" (nil when
// undefined) and the status.
func result(c *http.Client, url string, in []byte) (any, error) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(in))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Result any `json:"result"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("%s: %w", url, err)
	}
	return map[string]any{"status": resp.StatusCode, "result": out.Result}, nil
}

// sameResults sends every input to every server and counts inputs where
// any answer differs from the first server's.
func sameResults(c *http.Client, servers []*server, path string, inputs [][]byte) (int, string, error) {
	diffs, example := 0, ""
	for _, in := range inputs {
		var want any
		for i, s := range servers {
			got, err := result(c, s.URL+"/v1/data/"+path, in)
			if err != nil {
				return 0, "", err
			}
			if i == 0 {
				want = got
				continue
			}
			if !reflect.DeepEqual(got, want) {
				if diffs == 0 {
					example = fmt.Sprintf("input %s: %s %v, %s %v", in, servers[0].Name, want, s.Name, got)
				}
				diffs++
				break
			}
		}
	}
	return diffs, example, nil
}
