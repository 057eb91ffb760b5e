package correlate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/belladonna-dev/belladonna/audit"
)

// countRule fires when its global window holds at least two entries.
const countRule = `# METADATA
# title: Two of anything
# custom:
#   window: 1m
#   cooldown: 0s
package correlate.two

incident := {"message": sprintf("%d entries at %d", [count(input.window), time.now_ns()])} if count(input.window) >= 2
`

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, body := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(body)}
	}
	return fsys
}

func TestLoadErrors(t *testing.T) {
	const head = "# METADATA\n# title: T\n# custom:\n#   window: 1m\n"
	for _, tc := range []struct {
		note string
		file string
		want string // substring of the error: file:line:col: code: message
	}{
		{"parse error", head + "package correlate.x\n\nincident := {\"message\": \"m\"} if {\n", "user/x.rego:8:0: rego_parse_error"},
		{"unsafe variable", head + "package correlate.x\n\nincident := {\"message\": m} if x > 1\n", "user/x.rego:7:"},
		{"builtin doing I/O", head + "package correlate.x\n\nincident := {\"message\": \"m\"} if http.send({})\n", "user/x.rego:7:33: rego_type_error: undefined function http.send"},
		{"strict mode", head + "package correlate.x\n\nimport data.unused\n\nincident := {\"message\": \"m\"}\n", "user/x.rego:7:1: rego_compile_error: import data.unused unused"},
		{"no metadata", "package correlate.x\n\nincident := {\"message\": \"m\"}\n", "user/x.rego:1:1: correlate_metadata_error: rule x: package needs a METADATA block"},
		{"no window", "# METADATA\n# title: T\npackage correlate.x\n\nincident := {\"message\": \"m\"}\n", "user/x.rego:1:1: correlate_metadata_error: rule x: METADATA needs custom.window"},
		{"bad window", strings.Replace(head, "1m", "soon", 1) + "package correlate.x\nincident := {\"message\": \"m\"}\n", `custom.window: want a duration such as 30s or 5m, got "soon"`},
		{"unknown custom key", head + "#   windows: 2m\npackage correlate.x\nincident := {\"message\": \"m\"}\n", "user/x.rego:1:1: correlate_metadata_error: rule x: unknown key custom.windows"},
		{"unknown group_by field", head + "#   group_by: user\npackage correlate.x\nincident := {\"message\": \"m\"}\n", `custom.group_by: unknown field "user"`},
		{"unknown match field", head + "#   match: {typ: decision}\npackage correlate.x\nincident := {\"message\": \"m\"}\n", `custom.match: unknown field "typ"`},
		{"bad severity", head + "#   severity: urgent\npackage correlate.x\nincident := {\"message\": \"m\"}\n", "custom.severity: want one of critical, high, medium, low, info, got urgent"},
		{"no incident rule", head + "package correlate.x\n\nincidents := {\"message\": \"m\"}\n", `user/x.rego:5:1: correlate_metadata_error: rule x: package defines no "incident" rule`},
		{"incident as a set", head + "package correlate.x\n\nincident contains {\"message\": \"m\"}\n", "user/x.rego:7:1: correlate_metadata_error: rule x: incident must be a single object"},
		{"incident as a function", head + "package correlate.x\n\nincident(x) := {\"message\": x}\n", "user/x.rego:7:1: correlate_metadata_error: rule x: incident must be a single object"},
		{"redefines a default rule", head + "package correlate.brute_force\n\nincident := {\"message\": \"m\"}\n", "user/x.rego:5:1: correlate_duplicate_rule: rule brute_force is already defined by audit/correlate/rules/brute_force/brute_force.rego"},
		{"bad rule name", head + "package correlate.X\n\nincident := {\"message\": \"m\"}\n", `rule name "X"`},
	} {
		t.Run(tc.note, func(t *testing.T) {
			_, err := New(WithRuleFS("user", mapFS(map[string]string{"x.rego": tc.file})))
			lerr, ok := errors.AsType[*LoadError](err)
			if !ok {
				t.Fatalf("got %v, want a *LoadError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain %q", err, tc.want)
			}
			for _, p := range lerr.Problems {
				if p.File == "" || p.Row == 0 {
					t.Errorf("problem without a location: %+v", p)
				}
			}
		})
	}
}

// TestUserRuleDir loads rules from a directory on disk, leaves its tests
// out, and reports a broken file there by its path and line.
func TestUserRuleDir(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("two/two.rego", countRule)
	write("two/two_test.rego", "package correlate.two_test\n\ntest_x if true\n")
	e, err := New(WithRuleDirs(dir))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Rules()); n != 5 {
		t.Errorf("%d rules, want the 4 defaults and two", n)
	}

	write("broken/broken.rego", "# METADATA\n# title: B\n# custom:\n#   window: 1m\npackage correlate.broken\n\nincident := {\"message\": y}\n")
	_, err = New(WithRuleDirs(dir))
	want := filepath.ToSlash(filepath.Join(dir, "broken/broken.rego")) + ":7:"
	if _, ok := errors.AsType[*LoadError](err); !ok || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want a *LoadError at %s", err, want)
	}

	_, err = New(WithRuleDirs(filepath.Join(dir, "missing")))
	if _, ok := errors.AsType[*LoadError](err); !ok || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing dir: got %v", err)
	}
}

func TestUnknownRuleNames(t *testing.T) {
	for _, opt := range []Option{WithRuleParams("brute_forse", map[string]any{"threshold": 3}), WithDisabled("nope")} {
		_, err := New(opt)
		uerr, ok := errors.AsType[*UnknownRuleError](err)
		if !ok || len(uerr.Known) != 4 {
			t.Errorf("got %v, want an *UnknownRuleError listing the 4 rules", err)
		}
	}
	e, err := New(WithDisabled("brute_force"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		incs, _ := e.Process(context.Background(), deny(uint64(i), "alice", time.Duration(i)*time.Second))
		if len(incs) != 0 {
			t.Fatal("disabled rule fired")
		}
	}
}

func deny(i uint64, subject string, at time.Duration) *audit.Entry {
	return &audit.Entry{Index: i, Time: caseBase.Add(at), Kind: audit.KindDecision, Type: "decision", Outcome: audit.OutcomeDeny, Subject: subject}
}

// TestIncidentsDoNotCorrelate feeds incidents to a rule that matches
// everything: they must not count.
func TestIncidentsDoNotCorrelate(t *testing.T) {
	e, err := New(WithoutDefaultRules(), WithRuleFS("user", mapFS(map[string]string{"two.rego": countRule})))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	inc := &audit.Entry{Index: 0, Time: caseBase, Kind: audit.KindEvent, Type: audit.EventIncident, Message: "x"}
	for i := range 5 {
		inc.Index = uint64(i)
		if out, _ := e.Process(ctx, inc); len(out) != 0 {
			t.Fatalf("an incident correlated: %v", out)
		}
	}
	out, _ := e.Process(ctx, &audit.Entry{Index: 5, Time: caseBase, Kind: audit.KindEvent, Type: audit.EventConfigChange})
	if len(out) != 0 {
		t.Fatalf("fired on one entry after incidents: %v", out)
	}
	out, _ = e.Process(ctx, &audit.Entry{Index: 6, Time: caseBase.Add(time.Second), Kind: audit.KindEvent, Type: audit.EventConfigChange})
	if len(out) != 1 || out[0].Attrs[AttrIndexes] != "5,6" || out[0].Severity != "medium" {
		t.Fatalf("got %v, want one incident over 5,6 with the default severity", out)
	}
	// time.now_ns is the entry's time, not the wall clock.
	if want := fmt.Sprint(caseBase.Add(time.Second).UnixNano()); !strings.Contains(out[0].Message, want) {
		t.Errorf("message %q does not carry the entry time %s", out[0].Message, want)
	}
}

// TestReplayIsDeterministic runs the same stream through two engines.
func TestReplayIsDeterministic(t *testing.T) {
	stream := mixedStream(6000, 200)
	run := func() string {
		e, err := New(WithRuleFS("user", mapFS(map[string]string{"two.rego": countRule})))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for i := range stream {
			out, err := e.Process(context.Background(), &stream[i])
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString(describe(out))
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b {
		t.Fatal("two runs over the same stream raised different incidents")
	}
	if strings.Count(a, `"rule":"brute_force"`) == 0 || strings.Count(a, `"rule":"ebpf_burst"`) == 0 {
		t.Errorf("the mixed stream raised too little to be a test:\n%.2000s", a)
	}
}

func TestBadIncidentShape(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`incident := "boom"`, "incident is string"},
		{`incident := {"msg": "x"}`, `unknown key "msg"`},
		{`incident := {"message": ""}`, "non-empty string message"},
		{`incident := {"message": "m", "severity": "urgent"}`, "incident severity"},
		{`incident := {"message": "m", "indexes": [-1]}`, "incident indexes"},
		{`incident := {"message": "m", "indexes": "1,2"}`, "incident indexes"},
	} {
		rule := "# METADATA\n# title: T\n# custom:\n#   window: 1m\n#   match: {type: config_change}\npackage correlate.bad\n\n" + tc.body + "\n"
		reg := prometheus.NewRegistry()
		e, err := New(WithRegisterer(reg), WithRuleFS("user", mapFS(map[string]string{"bad.rego": rule})))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		e.Process(ctx, &audit.Entry{Index: 0, Time: caseBase, Kind: audit.KindEvent, Type: audit.EventSignatureFailure})
		out, err := e.Process(ctx, &audit.Entry{Index: 1, Time: caseBase, Kind: audit.KindEvent, Type: audit.EventBundleActivation})
		if len(out) != 1 || err != nil {
			t.Fatalf("%s: the default rule did not fire: %v %v", tc.body, out, err)
		}
		out, err = e.Process(ctx, &audit.Entry{Index: 2, Time: caseBase, Kind: audit.KindEvent, Type: audit.EventConfigChange})
		eerr, ok := errors.AsType[*EvalError](err)
		if !ok || eerr.Rule != "bad" || eerr.Index != 2 || !strings.Contains(err.Error(), tc.want) || len(out) != 0 {
			t.Errorf("%s: got %v (%v), want an *EvalError containing %q", tc.body, err, out, tc.want)
		}
		if n := counterValue(t, e.m.ruleErrors.WithLabelValues("bad")); n != 1 {
			t.Errorf("rule_errors_total{rule=bad} = %v", n)
		}
	}
}

func TestIncidentFields(t *testing.T) {
	rule := `# METADATA
# title: Custom
# custom:
#   window: 1m
#   severity: low
#   group_by: [caller, attrs.host]
#   match: {kind: event}
package correlate.custom

incident := {"message": "m", "severity": "critical", "indexes": [input.event.index, 99]} if count(input.window) >= 2
`
	e, err := New(WithoutDefaultRules(), WithRuleFS("user", mapFS(map[string]string{"c.rego": rule})))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ev := func(i uint64, caller, host string) *audit.Entry {
		return &audit.Entry{Index: i, Time: caseBase, Kind: audit.KindEvent, Type: "config_change", Caller: caller, Attrs: map[string]string{"host": host}}
	}
	e.Process(ctx, ev(0, "", "h1"))
	out, _ := e.Process(ctx, ev(1, "", "h1"))
	if len(out) != 1 {
		t.Fatalf("got %v", out)
	}
	got := out[0]
	if got.Severity != "critical" || got.Attrs[AttrIndexes] != "1,99" || got.Attrs[AttrGroupBy] != "attrs.host" ||
		got.Attrs[AttrGroup] != "h1" || got.Subject != "" || !got.Time.Equal(caseBase) || got.Attrs[AttrTitle] != "Custom" {
		t.Errorf("incident %+v", got)
	}
	// A decision does not match kind: event.
	out, _ = e.Process(ctx, &audit.Entry{Index: 2, Time: caseBase, Kind: audit.KindDecision, Caller: "c"})
	out2, _ := e.Process(ctx, &audit.Entry{Index: 3, Time: caseBase, Kind: audit.KindDecision, Caller: "c"})
	if len(out)+len(out2) != 0 {
		t.Errorf("decisions matched kind: event")
	}
}

// TestMemoryBound pushes 100k denials across 50k subjects through the
// default limits: the groups stay at the limit and every eviction counts.
func TestMemoryBound(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: pushing 100k entries is left to the full run (make test and CI run it)")
	}
	reg := prometheus.NewRegistry()
	e, err := New(WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const n, subjects = 100000, 50000
	for i := range uint64(n) {
		// Every subject is denied twice, 50k entries apart, all within
		// one minute, so that nothing expires by time.
		ent := deny(i, fmt.Sprintf("user-%d", i%subjects), time.Duration(i)*100*time.Microsecond)
		if _, err := e.Process(ctx, ent); err != nil {
			t.Fatal(err)
		}
		if i%10000 == 0 {
			if g := statsOf(e, "brute_force").Groups; g > DefaultMaxGroups {
				t.Fatalf("after %d entries: %d groups, limit %d", i, g, DefaultMaxGroups)
			}
		}
	}
	st := statsOf(e, "brute_force")
	if st.Groups != DefaultMaxGroups || st.Entries != DefaultMaxGroups {
		t.Errorf("stats %+v, want %d groups of one entry", st, DefaultMaxGroups)
	}
	if got := counterValue(t, e.m.evictions.WithLabelValues("brute_force", evictGroupLimit)); got != n-DefaultMaxGroups {
		t.Errorf("group evictions %v, want %d", got, n-DefaultMaxGroups)
	}
	if got := counterValue(t, e.m.evaluated); got != n {
		t.Errorf("evaluated_total %v, want %d", got, n)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}

// TestWindowEntryBound caps one window and counts what it drops.
func TestWindowEntryBound(t *testing.T) {
	e, err := New(WithMaxWindowEntries(10), WithMaxGroups(3))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range uint64(1000) {
		if _, err := e.Process(ctx, deny(i, "alice", time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
	}
	if st := statsOf(e, "brute_force"); st.Groups != 1 || st.Entries != 10 {
		t.Errorf("stats %+v, want one group of 10", st)
	}
	if got := counterValue(t, e.m.evictions.WithLabelValues("brute_force", evictEntryLimit)); got != 990 {
		t.Errorf("entry evictions %v, want 990", got)
	}
	for i, s := range []string{"a", "b", "c", "d"} {
		e.Process(ctx, deny(uint64(1000+i), s, time.Second))
	}
	if st := statsOf(e, "brute_force"); st.Groups != 3 {
		t.Errorf("stats %+v, want 3 groups", st)
	}
	if _, err := New(WithMaxGroups(0)); err == nil {
		t.Error("a zero group limit was accepted")
	}
}

// TestByteBound: large inputs fill the byte budget before the group limit.
func TestByteBound(t *testing.T) {
	const budget = 1 << 20
	e, err := New(WithMaxBytes(budget))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	big := json.RawMessage(`{"blob":"` + strings.Repeat("x", 10000) + `"}`)
	for i := range uint64(1000) {
		ent := deny(i, fmt.Sprint("user-", i), 0)
		ent.Input = big
		if _, err := e.Process(ctx, ent); err != nil {
			t.Fatal(err)
		}
		if st := statsOf(e, "brute_force"); st.Bytes > budget {
			t.Fatalf("after %d entries: %+v over the budget", i, st)
		}
	}
	st := statsOf(e, "brute_force")
	evicted := counterValue(t, e.m.evictions.WithLabelValues("brute_force", evictByteLimit))
	if st.Groups == 0 || float64(st.Groups)+evicted != 1000 {
		t.Errorf("stats %+v, %v byte evictions: want every group kept or counted", st, evicted)
	}
	// One group alone over the budget keeps only its newest entries.
	for i := range uint64(200) {
		ent := deny(1000+i, "alice", time.Second)
		ent.Input = big
		e.Process(ctx, ent)
	}
	if st := statsOf(e, "brute_force"); st.Groups != 1 || st.Bytes > budget {
		t.Errorf("stats %+v", st)
	}
}

// TestGroupsExpireWithTime: windows of quiet groups are freed once the
// clock (the newest entry time) has moved a window past them.
func TestGroupsExpireWithTime(t *testing.T) {
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range uint64(100) {
		e.Process(ctx, deny(i, fmt.Sprint("user-", i), 0))
	}
	if st := statsOf(e, "brute_force"); st.Groups != 100 {
		t.Fatalf("stats %+v", st)
	}
	e.Process(ctx, &audit.Entry{Index: 100, Time: caseBase.Add(2 * time.Minute), Kind: audit.KindEvent, Type: audit.EventConfigChange})
	if st := statsOf(e, "brute_force"); st.Groups != 0 || st.Entries != 0 {
		t.Errorf("stats %+v after two minutes, want nothing held", st)
	}
	// An entry already out of its window when it arrives is not correlated.
	for i := range uint64(10) {
		if out, _ := e.Process(ctx, deny(101+i, "late", 0)); len(out) != 0 {
			t.Fatal("late entries fired")
		}
	}
	if st := statsOf(e, "brute_force"); st.Groups != 0 {
		t.Errorf("late entries were windowed: %+v", st)
	}
}

func statsOf(e *Engine, rule string) RuleStats {
	for _, s := range e.Stats() {
		if s.Rule == rule {
			return s
		}
	}
	return RuleStats{}
}

func TestMetricsRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(WithRegisterer(reg))
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(5) {
		e.Process(context.Background(), deny(i, "alice", 0))
	}
	fams, err := reg.Gather()
	n := 0
	for _, f := range fams {
		switch f.GetName() {
		case "belladonna_correlate_incidents_total", "belladonna_correlate_window_evictions_total":
			n += len(f.GetMetric())
		}
	}
	if err != nil || n != 4+12 {
		t.Errorf("%d series (%v), want 4 incident and 12 eviction series", n, err)
	}
	if got := counterValue(t, e.m.incidents.WithLabelValues("brute_force")); got != 1 {
		t.Errorf("incidents_total{brute_force} = %v", got)
	}
	if _, err := New(WithRegisterer(reg)); err == nil {
		t.Error("registering twice succeeded")
	}
}

// counterValue reads a counter (testutil would need a module go.mod lacks).
func counterValue(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var out dto.Metric
	if err := m.Write(&out); err != nil {
		t.Fatal(err)
	}
	return out.GetCounter().GetValue()
}

// TestSlotSizeEstimate keeps the memory estimate of window entries honest:
// for request-shaped decisions it must be within a factor of two of what
// the heap actually holds.
func TestSlotSizeEstimate(t *testing.T) {
	stream := mixedStream(20000, 1000)
	keys := newKeyCache(maxCachedKeys)
	var decisions []*audit.Entry
	for i := range stream {
		if stream[i].Kind == audit.KindDecision {
			decisions = append(decisions, &stream[i])
		}
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	slots := make([]*slot, len(decisions))
	var estimate int64
	for i, e := range decisions {
		slots[i] = newView(e, keys).getSlot()
		estimate += slots[i].size
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	actual := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	runtime.KeepAlive(slots)
	ratio := float64(estimate) / float64(actual)
	t.Logf("%d slots: estimate %d B, heap %d B (%.0f B/slot), ratio %.2f", len(slots), estimate, actual, float64(actual)/float64(len(slots)), ratio)
	if ratio < 0.5 || ratio > 2 {
		t.Errorf("estimate off by %.2fx", ratio)
	}
}
