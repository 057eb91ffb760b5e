package correlate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	opametrics "github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
)

// Attributes of an incident entry.
const (
	AttrRule    = "rule"     // the rule's name
	AttrTitle   = "title"    // the rule's title
	AttrTrigger = "trigger"  // index of the entry whose arrival fired the rule
	AttrIndexes = "indexes"  // comma-separated indexes of the entries behind the incident
	AttrGroupBy = "group_by" // the group_by field the group came from (absent for global rules)
	AttrGroup   = "group"    // the group's value, e.g. the subject (absent for global rules)
)

// maxCachedKeys bounds the interned object keys of inputs.
const maxCachedKeys = 4096

// Defaults for the memory bounds.
const (
	DefaultMaxGroups        = 10000
	DefaultMaxWindowEntries = 256
	DefaultMaxBytes         = 64 << 20
)

// Engine evaluates correlation rules over a stream of audit entries. It is
// safe for concurrent use, but entries must be processed in index order for
// windows to mean anything; the Runner does that.
type Engine struct {
	mu    sync.Mutex
	rules []*rule // sorted by name
	txn   storage.Transaction
	clock time.Time // the newest entry time seen: windows move with it
	keys  *keyCache // object keys of inputs and results, shared across entries

	maxGroups  int
	maxEntries int
	maxBytes   int64
	m          *metrics
	log        *slog.Logger
}

type config struct {
	defaults   bool
	srcs       []ruleSource
	dirs       []string
	params     map[string]map[string]any
	disabled   []string
	maxGroups  int
	maxEntries int
	maxBytes   int64
	log        *slog.Logger
	reg        prometheus.Registerer
}

// Option configures New.
type Option func(*config)

// WithRuleDirs adds directories of user rules (searched recursively for
// .rego files; _test.rego files are left out).
func WithRuleDirs(dirs ...string) Option {
	return func(c *config) { c.dirs = append(c.dirs, dirs...) }
}

// WithRuleFS adds the rules in fsys; name prefixes their file names in errors.
func WithRuleFS(name string, fsys fs.FS) Option {
	return func(c *config) { c.srcs = append(c.srcs, ruleSource{name: name, fsys: fsys}) }
}

// WithoutDefaultRules leaves the embedded default rules out.
func WithoutDefaultRules() Option { return func(c *config) { c.defaults = false } }

// WithRuleParams sets a rule's parameters, which it reads from
// data.config.correlate.<rule> (brute_force and ebpf_burst read
// "threshold"). Naming a rule that is not loaded is an error from New.
func WithRuleParams(rule string, params map[string]any) Option {
	return func(c *config) {
		if c.params == nil {
			c.params = map[string]map[string]any{}
		}
		c.params[rule] = params
	}
}

// WithDisabled loads but never evaluates the named rules. Unknown names are
// an error from New.
func WithDisabled(rules ...string) Option {
	return func(c *config) { c.disabled = append(c.disabled, rules...) }
}

// WithMaxGroups bounds the groups each rule keeps (default
// DefaultMaxGroups). When full, the least recently active group is evicted
// and counted in belladonna_correlate_window_evictions_total.
func WithMaxGroups(n int) Option { return func(c *config) { c.maxGroups = n } }

// WithMaxWindowEntries bounds the entries in one window (default
// DefaultMaxWindowEntries); the oldest are dropped and counted. A threshold
// above this bound can never be reached.
func WithMaxWindowEntries(n int) Option { return func(c *config) { c.maxEntries = n } }

// WithMaxBytes bounds the approximate memory one rule's windows hold
// (default DefaultMaxBytes, 64 MiB): beyond it the least recently active
// groups are evicted, and counted. Entries are estimated from the size of
// their input and result, so decisions with large inputs count for more.
func WithMaxBytes(n int64) Option { return func(c *config) { c.maxBytes = n } }

// WithLogger sets the engine's structured logger.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithRegisterer registers the engine's metrics with reg. Without it the
// metrics are kept but not exported.
func WithRegisterer(reg prometheus.Registerer) Option { return func(c *config) { c.reg = reg } }

// New loads and compiles the rules (the embedded defaults plus any user
// rules) in strict mode and prepares one query per rule. A rule that does
// not parse, compile or carry valid METADATA fails New with a *LoadError
// naming file:line; unknown names in options fail it with an
// *UnknownRuleError.
func New(opts ...Option) (*Engine, error) {
	cfg := config{defaults: true, maxGroups: DefaultMaxGroups, maxEntries: DefaultMaxWindowEntries, maxBytes: DefaultMaxBytes}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxGroups < 1 || cfg.maxEntries < 1 || cfg.maxBytes < 1 {
		return nil, fmt.Errorf("correlate: max groups, window entries and bytes must be at least 1, got %d, %d and %d",
			cfg.maxGroups, cfg.maxEntries, cfg.maxBytes)
	}
	var srcs []ruleSource
	if cfg.defaults {
		srcs = append(srcs, defaultSource())
	}
	srcs = append(srcs, cfg.srcs...)
	var probs []Problem
	for _, d := range cfg.dirs {
		s, err := dirSource(d)
		if err != nil {
			probs = append(probs, Problem{File: d, Code: CodeRead, Message: err.Error()})
			continue
		}
		srcs = append(srcs, s)
	}
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}

	params := map[string]any{}
	for name, p := range cfg.params {
		params[name] = p
	}
	data := map[string]any{"config": map[string]any{rulePackageRoot: params}}
	store := inmem.NewFromObject(data)
	ctx := context.Background()
	_, rs, probs := loadRules(ctx, srcs, store)
	if len(probs) > 0 {
		return nil, &LoadError{Problems: probs}
	}

	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	var unknown []string
	for name := range cfg.params {
		if !slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	for _, name := range cfg.disabled {
		if !slices.Contains(names, name) {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, &UnknownRuleError{Names: unknown, Known: names}
	}
	rs = slices.DeleteFunc(rs, func(r *rule) bool { return slices.Contains(cfg.disabled, r.Name) })
	slices.SortFunc(rs, func(a, b *rule) int { return strings.Compare(a.Name, b.Name) })

	// The data never changes, so one read transaction serves every
	// evaluation instead of one per Eval.
	txn, err := store.NewTransaction(ctx)
	if err != nil {
		return nil, fmt.Errorf("correlate: opening data transaction: %w", err)
	}
	e := &Engine{
		rules:      rs,
		txn:        txn,
		maxGroups:  cfg.maxGroups,
		maxEntries: cfg.maxEntries,
		maxBytes:   cfg.maxBytes,
		keys:       newKeyCache(maxCachedKeys),
		m:          newMetrics(),
		log:        cfg.log,
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.m.init(rs)
	for _, r := range rs {
		r.bindMetrics(e.m)
	}
	if cfg.reg != nil {
		if err := e.m.register(cfg.reg); err != nil {
			return nil, fmt.Errorf("correlate: registering metrics: %w", err)
		}
	}
	return e, nil
}

// Rules describes the rules the engine evaluates, by name.
func (e *Engine) Rules() []Rule {
	out := make([]Rule, len(e.rules))
	for i, r := range e.rules {
		out[i] = r.Rule
	}
	return out
}

// Process feeds one entry to every rule and returns the incidents it
// raised, in rule name order, as entries ready to append (Index unset). It
// does no I/O and keeps no reference to e; with entries in index order it
// is deterministic, since windows advance with entry time, never the wall
// clock. Incidents (Type incident) are ignored, so that incidents never
// feed correlation.
//
// A rule that fails to evaluate is reported in an *EvalError (joined when
// several fail) beside the other rules' incidents; a cancelled ctx stops
// processing and is returned as is.
func (e *Engine) Process(ctx context.Context, ent *audit.Entry) ([]audit.Entry, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.process(ctx, ent, true)
}

func (e *Engine) process(ctx context.Context, ent *audit.Entry, evaluate bool) ([]audit.Entry, error) {
	if ent.Type == audit.EventIncident {
		return nil, nil
	}
	if evaluate {
		e.m.evaluated.Inc()
	}
	if ent.Time.After(e.clock) {
		e.clock = ent.Time
	}
	v := newView(ent, e.keys)
	var incidents []audit.Entry
	var errs []error
	for _, r := range e.rules {
		cutoff := e.clock.Add(-r.Window)
		r.expire(cutoff, e.clock)
		if !r.matches(v) {
			continue
		}
		if ent.Time.Before(cutoff) {
			continue // so late that it is out of its own window
		}
		key, value, by, ok := r.groupOf(v)
		if !ok {
			continue
		}
		g, evicted := r.lookup(key, value, by, e.maxGroups)
		if evicted {
			r.mEvictGroups.Inc()
		}
		r.trim(g, cutoff)
		if n := r.push(g, v.getSlot(), e.maxEntries); n > 0 {
			r.mEvictEntries.Add(float64(n))
		}
		if groups, entries := r.shrink(g, e.maxBytes); groups+entries > 0 {
			r.mEvictBytes.Add(float64(groups + entries))
		}
		if !evaluate || ent.Time.Before(g.coolUntil) {
			continue
		}
		inc, fired, err := r.eval(ctx, e.txn, v, g)
		if err != nil {
			if ctx.Err() != nil {
				return incidents, ctx.Err()
			}
			r.mErrors.Inc()
			errs = append(errs, &EvalError{Rule: r.Name, Index: ent.Index, Err: err})
			continue
		}
		if fired {
			g.coolUntil = ent.Time.Add(r.Cooldown)
			r.mIncidents.Inc()
			incidents = append(incidents, inc)
		}
	}
	return incidents, errors.Join(errs...)
}

// noMetrics spares every evaluation OPA's own timers, which nobody reads.
var noMetrics = opametrics.NoOp()

// eval runs the rule's prepared query over the group's window.
func (r *rule) eval(ctx context.Context, txn storage.Transaction, v *view, g *group) (audit.Entry, bool, error) {
	terms := make([]*ast.Term, len(g.slots))
	for i, s := range g.slots {
		terms[i] = s.term
	}
	input := ast.NewObject(
		[2]*ast.Term{keyEvent, v.getSlot().term},
		[2]*ast.Term{keyWindow, ast.ArrayTerm(terms...)},
		[2]*ast.Term{keyNow, v.timeTerm()},
		[2]*ast.Term{keyGroup, g.valueTerm()},
	)
	rs, err := r.query.Eval(ctx,
		rego.EvalParsedInput(input),
		rego.EvalTime(v.e.Time),
		rego.EvalTransaction(txn),
		rego.EvalMetrics(noMetrics),
	)
	if err != nil {
		return audit.Entry{}, false, err
	}
	if len(rs) == 0 || len(rs[0].Expressions) == 0 {
		return audit.Entry{}, false, nil
	}
	inc, err := r.incident(rs[0].Expressions[0].Value, v.e, g)
	return inc, err == nil, err
}

// incident turns the rule's incident object into an incident entry.
func (r *rule) incident(out any, ent *audit.Entry, g *group) (audit.Entry, error) {
	obj, ok := out.(map[string]any)
	if !ok {
		return audit.Entry{}, fmt.Errorf("incident is %T, want an object with a message", out)
	}
	for k := range obj {
		if k != "message" && k != "severity" && k != "indexes" {
			return audit.Entry{}, fmt.Errorf("incident has unknown key %q (known: message, severity, indexes)", k)
		}
	}
	msg, _ := obj["message"].(string)
	if msg == "" {
		return audit.Entry{}, errors.New("incident needs a non-empty string message")
	}
	sev := r.Severity
	if s, ok := obj["severity"]; ok {
		str, _ := s.(string)
		if !slices.Contains(Severities, str) {
			return audit.Entry{}, fmt.Errorf("incident severity: want one of %v, got %v", Severities, s)
		}
		sev = str
	}
	var idx []uint64
	if raw, ok := obj["indexes"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return audit.Entry{}, fmt.Errorf("incident indexes: want an array of entry indexes, got %T", raw)
		}
		idx = make([]uint64, 0, len(list))
		for _, x := range list {
			n, err := toIndex(x)
			if err != nil {
				return audit.Entry{}, fmt.Errorf("incident indexes: %w", err)
			}
			idx = append(idx, n)
		}
	} else {
		idx = make([]uint64, len(g.slots))
		for i, s := range g.slots {
			idx[i] = s.index
		}
	}
	attrs := map[string]string{
		AttrRule:    r.Name,
		AttrTitle:   r.Title,
		AttrTrigger: strconv.FormatUint(ent.Index, 10),
		AttrIndexes: formatIndexes(idx),
	}
	inc := audit.Entry{
		Time:     ent.Time,
		Kind:     audit.KindEvent,
		Type:     audit.EventIncident,
		Severity: sev,
		Message:  msg,
		Attrs:    attrs,
	}
	if g.by != "" {
		attrs[AttrGroupBy], attrs[AttrGroup] = g.by, g.value
	}
	if g.by == "subject" {
		// The incident is about this data subject: per-subject keys and
		// crypto-erasure must cover it like the entries it cites.
		inc.Subject = g.value
	}
	return inc, nil
}

func toIndex(x any) (uint64, error) {
	switch n := x.(type) {
	case json.Number:
		return strconv.ParseUint(string(n), 10, 64)
	case float64:
		if n >= 0 && n == float64(uint64(n)) {
			return uint64(n), nil
		}
	case int:
		if n >= 0 {
			return uint64(n), nil
		}
	}
	return 0, fmt.Errorf("want a non-negative integer, got %v", x)
}

func (r *rule) bindMetrics(m *metrics) {
	r.mIncidents = m.incidents.WithLabelValues(r.Name)
	r.mErrors = m.ruleErrors.WithLabelValues(r.Name)
	r.mEvictGroups = m.evictions.WithLabelValues(r.Name, evictGroupLimit)
	r.mEvictEntries = m.evictions.WithLabelValues(r.Name, evictEntryLimit)
	r.mEvictBytes = m.evictions.WithLabelValues(r.Name, evictByteLimit)
}

// RuleStats is the window state one rule holds.
type RuleStats struct {
	Rule    string
	Groups  int
	Entries int
	Bytes   int64 // approximate
}

// Stats reports the groups and window entries each rule holds now.
func (e *Engine) Stats() []RuleStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]RuleStats, len(e.rules))
	for i, r := range e.rules {
		n := 0
		for _, g := range r.groups {
			n += len(g.slots)
		}
		out[i] = RuleStats{Rule: r.Name, Groups: len(r.groups), Entries: n, Bytes: r.bytes}
	}
	return out
}
