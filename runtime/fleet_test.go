package runtime

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/stockopa"
)

// A Belladonna sidecar and a stock OPA agent report to the bundle server
// with OPA's status API; the fleet view shows both on the current commit,
// then behind-or-current as a release rolls out, and the gauges show
// convergence.
func TestFleetStatusFromSidecarAndStockOPA(t *testing.T) {
	rig := newEdgeRig(t)
	rig.srv.Fleet = &bundles.Fleet{StaleAfter: time.Minute}
	// The handler was built before Fleet was set: rebuild the rig's server
	// front with a fresh handler.
	h := rig.srv.Handler()
	ts := newTestServer(t, h)
	rig.cfg.Bundles.Source = ts + "/bundles/main"
	rig.cfg.Bundles.StatusURL = ts + "/status"
	rig.cfg.Bundles.StatusInterval = "200ms"
	rig.cfg.Bundles.EdgeID = "sidecar-1"
	s, base := rig.start(t)
	defer s.Stop(context.Background())
	waitUntil(t, 5*time.Second, "sidecar activation", func() bool { a, _, _, _ := ask(base); return a == "one" })

	opaAddr := startOPAWithStatus(t, ts, rig.cfg.Bundles.VerificationKey)
	fleet := func() bundles.FleetView {
		resp, err := http.Get(ts + "/fleet")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v bundles.FleetView
		json.NewDecoder(resp.Body).Decode(&v)
		return v
	}
	converged := func(want int) func() bool {
		return func() bool {
			v := fleet()
			return len(v.Edges) == want && v.Counts[bundles.EdgeCurrent] == want
		}
	}
	waitUntil(t, 30*time.Second, "both edges current", converged(2))
	v := fleet()
	agents := map[string]string{}
	for _, e := range v.Edges {
		agents[e.Agent] = e.ActiveRevision
	}
	if agents["belladonna"] != rig.commits[0] || agents["opa"] != rig.commits[0] {
		t.Fatalf("fleet %+v", v.Edges)
	}
	// A release: both converge on the new commit.
	rig.commits = append(rig.commits, rig.g.Commit("bo", "two", map[string][]byte{"policies/edge.rego": pairRego("two")}))
	waitUntil(t, 30*time.Second, "convergence on the new commit", func() bool {
		v := fleet()
		if len(v.Edges) != 2 || v.Counts[bundles.EdgeCurrent] != 2 {
			return false
		}
		return v.Edges[0].ActiveRevision == rig.commits[1] && v.Edges[1].ActiveRevision == rig.commits[1]
	})
	resp, err := http.Get(ts + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`belladonna_fleet_converged_ratio{bundle="main"} 1`, `belladonna_fleet_edges{bundle="main",state="current"} 2`} {
		if !strings.Contains(string(body), want) {
			t.Fatalf("/metrics lacks %s", want)
		}
	}
	// The stock OPA agent answers like the sidecar.
	r2, err := http.Post("http://"+opaAddr+"/v1/data/edge", "application/json", strings.NewReader(`{"input": {}}`))
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]map[string]string
	json.NewDecoder(r2.Body).Decode(&out)
	r2.Body.Close()
	if a, _, _, _ := ask(base); out["result"]["a"] != "two" || a != "two" {
		t.Fatalf("stock OPA %v, sidecar %q", out, a)
	}
}

func newTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// startOPAWithStatus runs stock OPA pulling main from url, verifying with
// the public key file, and posting status reports to url/status.
func startOPAWithStatus(t *testing.T, url, pubFile string) string {
	t.Helper()
	pub, err := os.ReadFile(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := stockopa.Server(t, stockopa.Client{URL: url, Resource: "/bundles/main", KeyPEM: pub, Status: true, EdgeID: "opa-1"}.Config())
	return addr
}
