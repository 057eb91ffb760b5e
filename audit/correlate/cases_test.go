package correlate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/belladonna-dev/belladonna/audit"
)

// caseFile is one testdata/cases/<rule>.yaml: cases for one default rule,
// run against the whole default rule set, so that they also show that the
// other rules stay quiet.
type caseFile struct {
	Rule  string     `yaml:"rule"`
	Cases []ruleCase `yaml:"cases"`
}

type ruleCase struct {
	Note    string         `yaml:"note"`
	Params  map[string]any `yaml:"params"`
	Entries []entrySpec    `yaml:"entries"`
	Want    []wantIncident `yaml:"want"`
}

// entrySpec is one entry, or repeat entries every apart, at offset at from
// a fixed base time. Kind is decision for type decision, event otherwise.
type entrySpec struct {
	At       time.Duration     `yaml:"at"`
	Every    time.Duration     `yaml:"every"`
	Repeat   int               `yaml:"repeat"`
	Type     string            `yaml:"type"`
	Outcome  string            `yaml:"outcome"`
	Subject  string            `yaml:"subject"`
	Caller   string            `yaml:"caller"`
	Revision string            `yaml:"revision"`
	Input    map[string]any    `yaml:"input"`
	Attrs    map[string]string `yaml:"attrs"`
}

// wantIncident lists what an incident must carry; empty fields are not
// checked, except that the incidents themselves must match one to one.
type wantIncident struct {
	Rule     string   `yaml:"rule"` // defaults to the file's rule
	Trigger  uint64   `yaml:"trigger"`
	Indexes  []uint64 `yaml:"indexes"`
	Group    string   `yaml:"group"`
	GroupBy  string   `yaml:"group_by"`
	Subject  string   `yaml:"subject"`
	Severity string   `yaml:"severity"`
	Message  string   `yaml:"message"` // a substring
}

var caseBase = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func (s entrySpec) entries(next *uint64) []audit.Entry {
	n := max(s.Repeat, 1)
	out := make([]audit.Entry, 0, n)
	var input json.RawMessage
	if s.Input != nil {
		input, _ = json.Marshal(s.Input)
	}
	for i := range n {
		e := audit.Entry{
			Index:    *next,
			Time:     caseBase.Add(s.At + time.Duration(i)*s.Every),
			Kind:     audit.KindEvent,
			Type:     s.Type,
			Outcome:  s.Outcome,
			Subject:  s.Subject,
			Caller:   s.Caller,
			Revision: s.Revision,
			Input:    input,
			Attrs:    s.Attrs,
		}
		if s.Type == "decision" {
			e.Kind = audit.KindDecision
		}
		out = append(out, e)
		*next++
	}
	return out
}

func TestRuleCases(t *testing.T) {
	files, err := filepath.Glob("testdata/cases/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files: %v", err)
	}
	covered := map[string]bool{}
	for _, file := range files {
		bs, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cf caseFile
		dec := yaml.NewDecoder(strings.NewReader(string(bs)))
		dec.KnownFields(true)
		if err := dec.Decode(&cf); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		covered[cf.Rule] = true
		t.Run(cf.Rule, func(t *testing.T) {
			for _, tc := range cf.Cases {
				t.Run(tc.Note, func(t *testing.T) {
					t.Parallel()
					runCase(t, cf.Rule, tc)
				})
			}
		})
	}
	e, err := New()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range e.Rules() {
		if !covered[r.Name] {
			t.Errorf("default rule %s has no testdata/cases/%s.yaml", r.Name, r.Name)
		}
	}
}

func runCase(t *testing.T, ruleName string, tc ruleCase) {
	var opts []Option
	if tc.Params != nil {
		opts = append(opts, WithRuleParams(ruleName, tc.Params))
	}
	eng, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	var next uint64
	var got []audit.Entry
	for _, s := range tc.Entries {
		for _, e := range s.entries(&next) {
			incs, err := eng.Process(context.Background(), &e)
			if err != nil {
				t.Fatalf("entry %d: %v", e.Index, err)
			}
			got = append(got, incs...)
		}
	}
	if len(got) != len(tc.Want) {
		t.Fatalf("got %d incident(s), want %d:\n%s", len(got), len(tc.Want), describe(got))
	}
	for i, w := range tc.Want {
		g := got[i]
		checkIncident(t, i, g, w, ruleName)
	}
}

func checkIncident(t *testing.T, i int, g audit.Entry, w wantIncident, ruleName string) {
	t.Helper()
	if g.Kind != audit.KindEvent || g.Type != audit.EventIncident || g.Index != 0 {
		t.Errorf("incident %d: kind %q type %q index %d", i, g.Kind, g.Type, g.Index)
	}
	wantRule := w.Rule
	if wantRule == "" {
		wantRule = ruleName
	}
	check := func(what, got, want string) {
		if want != "" && got != want {
			t.Errorf("incident %d: %s %q, want %q\n%s", i, what, got, want, describe([]audit.Entry{g}))
		}
	}
	check("rule", g.Attrs[AttrRule], wantRule)
	check("trigger", g.Attrs[AttrTrigger], strconv.FormatUint(w.Trigger, 10))
	check("group", g.Attrs[AttrGroup], w.Group)
	check("group_by", g.Attrs[AttrGroupBy], w.GroupBy)
	check("subject", g.Subject, w.Subject)
	check("severity", g.Severity, w.Severity)
	if w.Indexes != nil {
		check("indexes", g.Attrs[AttrIndexes], formatIndexes(w.Indexes))
	}
	if !strings.Contains(g.Message, w.Message) {
		t.Errorf("incident %d: message %q does not contain %q", i, g.Message, w.Message)
	}
	if g.Attrs[AttrTitle] == "" || g.Message == "" || !slices.Contains(Severities, g.Severity) {
		t.Errorf("incident %d: incomplete %+v", i, g)
	}
}

func describe(incs []audit.Entry) string {
	var b strings.Builder
	for _, in := range incs {
		bs, _ := json.Marshal(in)
		b.Write(bs)
		b.WriteByte('\n')
	}
	return b.String()
}
