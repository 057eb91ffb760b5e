package deploy

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/belladonna-dev/belladonna/config"
)

// exported lists every metric name declared in the repository's Go code.
func exported(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{}
	re := regexp.MustCompile(`"(belladonna_[a-z0-9_]+)"`)
	filepath.WalkDir("..", func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, _ := os.ReadFile(p)
		for _, m := range re.FindAllSubmatch(b, -1) {
			names[string(m[1])] = true
		}
		return nil
	})
	return names
}

var metricRE = regexp.MustCompile(`\b(belladonna_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+)\b`)

// checkNames fails for a metric in expr that nothing exports.
func checkNames(t *testing.T, where, expr string, names map[string]bool) {
	t.Helper()
	for _, m := range metricRE.FindAllString(expr, -1) {
		if !strings.HasPrefix(m, "belladonna_") {
			continue // Go runtime and process collectors
		}
		base := m
		for _, suf := range []string{"_bucket", "_count", "_sum"} {
			base = strings.TrimSuffix(base, suf)
		}
		if !names[base] {
			t.Errorf("%s uses %s, which no code exports", where, m)
		}
	}
}

func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI is set but promtool is not installed (Debian package prometheus; see .ci/run)")
		}
		t.Skip("promtool is not installed (Debian package prometheus)")
	}
	return p
}

// The alert rules parse, their unit tests pass (each alert fires on the
// series it is meant for), and every metric they use exists.
func TestAlertRules(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{{"check", "rules", "alerts.yml"}, {"test", "rules", "alerts_test.yml"}} {
		cmd := exec.Command(bin, args...)
		cmd.Dir = "prometheus"
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	b, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	names := exported(t)
	n := 0
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			checkNames(t, "alert "+r.Alert, r.Expr, names)
			n++
		}
	}
	if n < 8 {
		t.Fatalf("only %d alerts", n)
	}
}

// The dashboard is valid JSON for Grafana's import (a datasource input,
// panels with queries) and queries only metrics that exist.
func TestGrafanaDashboard(t *testing.T) {
	b, err := os.ReadFile("grafana/belladonna.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Inputs []struct{ Name string } `json:"__inputs"`
		Title  string                  `json:"title"`
		UID    string                  `json:"uid"`
		Panels []struct {
			Type    string
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_PROMETHEUS" || d.UID == "" {
		t.Fatalf("dashboard header: %+v", d)
	}
	names := exported(t)
	queries := 0
	for _, p := range d.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			checkNames(t, "panel "+p.Title, q.Expr, names)
			queries++
		}
	}
	if queries < 15 {
		t.Fatalf("only %d queries", queries)
	}
}

// The Kubernetes example parses, and its belladonna.yaml is a valid
// configuration.
func TestKubernetesSidecar(t *testing.T) {
	b, err := os.ReadFile("kubernetes/sidecar.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	kinds := []string{}
	var cfg string
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			break
		}
		kinds = append(kinds, doc["kind"].(string))
		if data, ok := doc["data"].(map[string]any); ok {
			cfg, _ = data["belladonna.yaml"].(string)
		}
	}
	if strings.Join(kinds, ",") != "ConfigMap,Deployment" || cfg == "" {
		t.Fatalf("kinds %v, config %q", kinds, cfg)
	}
	c, err := config.Parse([]byte(cfg), "sidecar.yaml belladonna.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if c.Bundles.Source == "" || c.Bundles.VerificationKey == "" {
		t.Fatalf("the sidecar example does not pull verified bundles: %+v", c.Bundles)
	}
}
