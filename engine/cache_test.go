package engine

import (
	"context"
	"testing"
	"time"
)

func cacheEngine(t *testing.T, files map[string]string, entrypoints ...string) *Engine {
	t.Helper()
	src, err := LoadFS(mapFS(files), ".", LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e := New(WithCompileOptions(CompileOptions{CacheEntries: 1000, Entrypoints: entrypoints}))
	mustActivate(t, e, src).FastPathsReady(context.Background())
	return e
}

func decideJSON(t *testing.T, e *Engine, path, in string) *Decision {
	t.Helper()
	d, err := e.DecideJSON(context.Background(), path, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A deterministic path is answered from the cache the second time, with
// the same result; another input, or a new activation, is not.
func TestResultCache(t *testing.T) {
	e := cacheEngine(t, map[string]string{"app/p.rego": "package app\n\nallow if input.user == \"alice\"\n"}, "app/allow")
	d1 := decideJSON(t, e, "app/allow", `{"user": "alice"}`)
	d2 := decideJSON(t, e, "app/allow", `{"user": "alice"}`)
	if d1.Cached || !d1.CacheMiss || !d2.Cached || d2.Value() != true || d1.Value() != true || d2.Outcome() != OutcomeAllow {
		t.Fatalf("first %+v, second %+v", d1, d2)
	}
	if d := decideJSON(t, e, "app/allow", `{"user": "bob"}`); d.Cached || d.Defined {
		t.Fatalf("another input: %+v", d)
	}
	if st := e.CacheStats(); st.Hits != 1 || st.Misses != 2 {
		t.Fatalf("stats %+v", st)
	}
	src, _ := LoadFS(mapFS(map[string]string{"app/p.rego": "package app\n\nallow if input.user == \"bob\"\n"}), ".", LoadOptions{})
	mustActivate(t, e, src).FastPathsReady(context.Background())
	if d := decideJSON(t, e, "app/allow", `{"user": "alice"}`); d.Cached || d.Defined {
		t.Fatalf("after a new activation the old result was served: %+v", d)
	}
}

// A path that calls a non-deterministic built-in has no IR plan here and
// is never cached.
func TestResultCacheSkipsNondeterministicPaths(t *testing.T) {
	e := cacheEngine(t, map[string]string{"app/p.rego": "package app\n\nnow := time.now_ns()\n"}, "app/now")
	d1 := decideJSON(t, e, "app/now", `{}`)
	time.Sleep(time.Millisecond)
	d2 := decideJSON(t, e, "app/now", `{}`)
	if d2.Cached || d2.CacheMiss || d1.Result == d2.Result {
		t.Fatalf("a time-dependent result was cached: %v then %v", d1.Result, d2.Result)
	}
}

// Bad JSON input is an ErrBadInput naming what is wrong.
func TestDecideJSONBadInput(t *testing.T) {
	e := cacheEngine(t, map[string]string{"app/p.rego": "package app\n\nx := input.a\n"}, "app/x")
	if _, err := e.DecideJSON(context.Background(), "app/x", []byte(`{"a": `)); err == nil {
		t.Fatal("truncated input accepted")
	}
}

// The cache's size bound holds.
func TestResultCacheBound(t *testing.T) {
	c := newResultCache(cacheShards * 2)
	for i := range 10_000 {
		c.put(keyOf("p", []byte{byte(i), byte(i >> 8)}), cacheEntry{json: []byte{byte(i)}, defined: true})
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].m)
	}
	if n > cacheShards*2 {
		t.Fatalf("%d entries kept, bound %d", n, cacheShards*2)
	}
}
