package bundles

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Fleet keeps what each edge last reported with OPA's status API
// protocol (stock OPA's status plugin and Belladonna sidecars post the
// same document to {server}/status), and says which edges run the current
// commit of their bundle's ref, which are behind, failed or stale.
//
// A bundle's name is taken as the ref it follows (configure stock OPA
// with bundles: {main: {resource: bundles/main}}). An edge is known by its
// labels.edge_id, else labels.id (stock OPA always sets id to a fresh
// instance UUID: give OPA agents labels: {edge_id: NAME} to keep one row
// across restarts). Reports are kept in memory: with several server
// replicas, point the status service at one.
type Fleet struct {
	// StaleAfter: an edge that has not reported, or not reached the server,
	// within it is stale (default 5 minutes).
	StaleAfter time.Duration
	// MaxEdges bounds the edges kept (default 100,000); the longest silent
	// goes first.
	MaxEdges int

	mu      sync.Mutex
	edges   map[string]*edgeReport
	current func(ref string) (string, bool)
	now     func() time.Time
}

// Edge states.
const (
	EdgeCurrent = "current" // runs the ref's current commit
	EdgeBehind  = "behind"  // runs another commit
	EdgeFailed  = "failed"  // its last download or activation failed
	EdgeStale   = "stale"   // silent or unable to reach the server for StaleAfter
	EdgeUnknown = "unknown" // its bundle name is not a ref served here
)

// StatusReport is the body OPA's status plugin posts (UpdateRequestV1),
// as far as the fleet view reads it.
type StatusReport struct {
	Labels  map[string]string        `json:"labels"`
	Bundles map[string]*BundleStatus `json:"bundles,omitempty"`
	Bundle  *BundleStatus            `json:"bundle,omitempty"`
}

// BundleStatus is OPA's bundle.Status.
type BundleStatus struct {
	Name                     string            `json:"name"`
	ActiveRevision           string            `json:"active_revision,omitempty"`
	LastSuccessfulActivation time.Time         `json:"last_successful_activation"`
	LastSuccessfulDownload   time.Time         `json:"last_successful_download"`
	LastSuccessfulRequest    time.Time         `json:"last_successful_request"`
	LastRequest              time.Time         `json:"last_request"`
	Code                     string            `json:"code,omitempty"`
	Message                  string            `json:"message,omitempty"`
	Errors                   []json.RawMessage `json:"errors,omitempty"`
	HTTPCode                 json.Number       `json:"http_code,omitempty"`
}

type edgeReport struct {
	report   StatusReport
	remote   string
	received time.Time
}

// EdgeStatus is one edge's bundle as the fleet view shows it.
type EdgeStatus struct {
	ID             string    `json:"id"`
	Agent          string    `json:"agent"` // "belladonna" or "opa"
	Version        string    `json:"version,omitempty"`
	Remote         string    `json:"remote"`
	LastReport     time.Time `json:"last_report"`
	Bundle         string    `json:"bundle"`
	ActiveRevision string    `json:"active_revision,omitempty"`
	CurrentCommit  string    `json:"current_commit,omitempty"`
	State          string    `json:"state"`
	Message        string    `json:"message,omitempty"`
	LastActivation time.Time `json:"last_successful_activation"`
	LastSuccess    time.Time `json:"last_successful_request"`
}

// FleetView is GET /fleet.
type FleetView struct {
	Generated time.Time      `json:"generated"`
	Edges     []EdgeStatus   `json:"edges"`
	Counts    map[string]int `json:"counts"` // by state
}

const maxStatusBytes = 1 << 20

func (f *Fleet) clock() time.Time {
	if f.now != nil {
		return f.now()
	}
	return time.Now()
}

// Report stores one status report.
func (f *Fleet) Report(rep StatusReport, remote string) error {
	id := cmp.Or(rep.Labels["edge_id"], rep.Labels["id"])
	if id == "" {
		return fmt.Errorf("status report without labels.edge_id or labels.id")
	}
	if len(id) > 256 {
		return fmt.Errorf("status report: the edge id is %d bytes, at most 256", len(id))
	}
	if rep.Bundle != nil && rep.Bundles == nil {
		rep.Bundles = map[string]*BundleStatus{rep.Bundle.Name: rep.Bundle}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.edges == nil {
		f.edges = map[string]*edgeReport{}
	}
	f.edges[id] = &edgeReport{report: rep, remote: remote, received: f.clock()}
	if limit := cmp.Or(f.MaxEdges, 100_000); len(f.edges) > limit {
		var oldest string
		for k, e := range f.edges {
			if oldest == "" || e.received.Before(f.edges[oldest].received) {
				oldest = k
			}
		}
		delete(f.edges, oldest)
	}
	return nil
}

// View is the fleet now: one row per edge and bundle, sorted.
func (f *Fleet) View() FleetView {
	f.mu.Lock()
	edges := make(map[string]*edgeReport, len(f.edges))
	for k, v := range f.edges {
		edges[k] = v
	}
	current := f.current
	f.mu.Unlock()
	now := f.clock()
	stale := cmp.Or(f.StaleAfter, 5*time.Minute)
	heads := map[string]string{}
	view := FleetView{Generated: now, Counts: map[string]int{}}
	for id, e := range edges {
		agent := cmp.Or(e.report.Labels["agent"], "opa")
		for name, b := range e.report.Bundles {
			if b == nil {
				continue
			}
			row := EdgeStatus{ID: id, Agent: agent, Version: e.report.Labels["version"], Remote: e.remote, LastReport: e.received,
				Bundle: name, ActiveRevision: b.ActiveRevision, Message: b.Message,
				LastActivation: b.LastSuccessfulActivation, LastSuccess: b.LastSuccessfulRequest}
			head, seen := heads[name]
			if !seen && current != nil {
				head, _ = current(name)
				heads[name] = head
			}
			row.CurrentCommit = head
			switch {
			case now.Sub(e.received) > stale || (!b.LastSuccessfulRequest.IsZero() && now.Sub(b.LastSuccessfulRequest) > stale):
				row.State = EdgeStale
			case b.Code != "" || len(b.Errors) > 0:
				row.State = EdgeFailed
			case head == "":
				row.State = EdgeUnknown
			case b.ActiveRevision == head:
				row.State = EdgeCurrent
			default:
				row.State = EdgeBehind
			}
			view.Counts[row.State]++
			view.Edges = append(view.Edges, row)
		}
	}
	slices.SortFunc(view.Edges, func(a, b EdgeStatus) int {
		return cmp.Or(cmp.Compare(a.Bundle, b.Bundle), cmp.Compare(a.ID, b.ID))
	})
	return view
}

// register exports the fleet as gauges computed at scrape time (staleness
// depends on the clock, not on the last report).
func (f *Fleet) register(reg *prometheus.Registry) {
	reg.MustRegister(fleetCollector{f})
}

type fleetCollector struct{ f *Fleet }

var (
	fleetEdgesDesc = prometheus.NewDesc("belladonna_fleet_edges",
		"Edges reporting each bundle, by state (current, behind, failed, stale, unknown).", []string{"bundle", "state"}, nil)
	fleetConvergedDesc = prometheus.NewDesc("belladonna_fleet_converged_ratio",
		"Fraction of the edges reporting a bundle that run its ref's current commit.", []string{"bundle"}, nil)
)

func (c fleetCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- fleetEdgesDesc
	ch <- fleetConvergedDesc
}

func (c fleetCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[[2]string]int{}
	totals := map[string]int{}
	for _, e := range c.f.View().Edges {
		counts[[2]string{e.Bundle, e.State}]++
		totals[e.Bundle]++
	}
	for bundle, total := range totals {
		for _, st := range []string{EdgeCurrent, EdgeBehind, EdgeFailed, EdgeStale, EdgeUnknown} {
			ch <- prometheus.MustNewConstMetric(fleetEdgesDesc, prometheus.GaugeValue, float64(counts[[2]string{bundle, st}]), bundle, st)
		}
		ch <- prometheus.MustNewConstMetric(fleetConvergedDesc, prometheus.GaugeValue,
			float64(counts[[2]string{bundle, EdgeCurrent}])/float64(total), bundle)
	}
}

// postStatus answers POST /status[/PARTITION] (OPA's status API).
func (s *Server) postStatus(w http.ResponseWriter, r *http.Request) {
	if !s.allowed(w, r, "") {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStatusBytes))
	if err != nil {
		http.Error(w, "reading the status report: "+err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var rep StatusReport
	if err := json.Unmarshal(body, &rep); err != nil {
		http.Error(w, "status report: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.Fleet.Report(rep, r.RemoteAddr); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// getFleet answers GET /fleet.
func (s *Server) getFleet(w http.ResponseWriter, r *http.Request) {
	if !s.allowed(w, r, "") {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(s.Fleet.View())
}

// refHead is the commit a ref's bundle is built from now.
func (s *Server) refHead(ref string) (string, bool) {
	rev, err := s.resolveRef(ref)
	if err != nil {
		return "", false
	}
	c, err := s.Repo.Resolve(rev)
	if err != nil {
		return "", false
	}
	return c.Hash.String(), true
}
