package config

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// examplePath is belladonna.example.yaml at the repository root.
const examplePath = "../belladonna.example.yaml"

// The shipped example documents the defaults exactly: parsed as is, it must
// give Default(), and it must set every key.
func TestExampleFileIsTheDefaults(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(data, "belladonna.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := Default(); !reflect.DeepEqual(got, want) {
		t.Errorf("example file parses to\n%+v\nwant Default()\n%+v", got, want)
	}
	d := decode(data, "belladonna.example.yaml")
	for _, f := range schema.leaves() {
		if _, ok := d.origins[f.path]; !ok {
			t.Errorf("key %q is missing from the example file", f.path)
		}
	}
}

// Each key with an environment variable says so in the comment just above it
// ("# Env: NAME"), and every key has a comment.
func TestExampleFileComments(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	d := decode(data, "belladonna.example.yaml")
	envLine := regexp.MustCompile(`^\s*# Env: (BELLADONNA_[A-Z_]+)\s*$`)

	// commentAbove returns the comment block directly above line n (1-based),
	// and whether there is one. Sections such as rate_limit and tls describe
	// their keys in one comment above the section, so the section's comment
	// counts for its keys.
	commentAbove := func(n int) []string {
		var block []string
		for i := n - 2; i >= 0 && strings.HasPrefix(strings.TrimSpace(lines[i]), "#"); i-- {
			block = append([]string{lines[i]}, block...)
		}
		return block
	}
	documented := map[string]string{} // key -> env var named above it
	for _, f := range schema.leaves() {
		o := d.origins[f.path]
		block := commentAbove(o.line)
		if len(block) == 0 && lookup(parentPath(f.path)) != nil {
			block = commentAbove(lineOfSection(lines, f))
		}
		if len(block) == 0 {
			t.Errorf("key %q (line %d) has no comment above it", f.path, o.line)
		}
		for _, l := range block {
			if m := envLine.FindStringSubmatch(l); m != nil {
				documented[f.path] = m[1]
			}
		}
	}
	for _, v := range EnvVars() {
		if v.Key == "" {
			if !strings.Contains(string(data), v.Name) {
				t.Errorf("%s is not mentioned in the example file", v.Name)
			}
			continue
		}
		if documented[v.Key] != v.Name {
			t.Errorf("key %q: want \"# Env: %s\" in the comment above it", v.Key, v.Name)
		}
		delete(documented, v.Key)
	}
	for key, name := range documented {
		t.Errorf("key %q claims %s, which does not override it", key, name)
	}
}

func parentPath(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[:i]
	}
	return ""
}

// lineOfSection finds the 1-based line of f's parent section key, searching
// upwards from f's own line by indentation.
func lineOfSection(lines []string, f *field) int {
	parent := lookup(parentPath(f.path))
	if parent == nil {
		return 0
	}
	depth := strings.Count(parent.path, ".")
	want := strings.Repeat("  ", depth) + parent.name + ":"
	for i, l := range lines {
		if strings.HasPrefix(l, want) && strings.TrimSpace(l) == parent.name+":" {
			return i + 1
		}
	}
	return 0
}

// A list of sections (audit.sinks) is empty by default, so the example shows
// "sinks: []" followed by a commented-out list. That list, uncommented, must
// be valid, hold one item of each sink type, and set every key an item can
// have, each with a comment above it (or above its item) where it first
// appears.
func TestExampleFileListExamples(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	top := decode(data, "belladonna.example.yaml")
	var lists int
	for _, f := range schema.all() {
		if f.item == nil {
			continue
		}
		lists++
		t.Run(f.path, func(t *testing.T) {
			line := top.origins[f.path].line
			if line == 0 {
				t.Fatalf("%s is missing from the example file", f.path)
			}
			indent := strings.Repeat("  ", strings.Count(f.path, "."))
			// The commented block right below the key, uncommented and
			// nested back under its sections.
			var block []string
			for _, l := range lines[line:] {
				rest, ok := strings.CutPrefix(l, indent+"#")
				if !ok {
					break
				}
				block = append(block, indent+strings.TrimPrefix(rest, " "))
			}
			if len(block) == 0 || strings.TrimSpace(block[0]) != f.name+":" {
				t.Fatalf("want a commented-out example starting %q below %s (line %d)", "# "+f.name+":", f.path, line)
			}
			var b strings.Builder
			parents := strings.Split(f.path, ".")
			for i, p := range parents[:len(parents)-1] {
				b.WriteString(strings.Repeat("  ", i) + p + ":\n")
			}
			offset := len(parents) - 1 // lines added above the block
			b.WriteString(strings.Join(block, "\n") + "\n")
			src := []byte(b.String())
			cfg, err := Parse(src, "example list")
			if err != nil {
				t.Fatalf("the commented-out %s is invalid:\n%v\n%s", f.path, err, src)
			}
			d := decode(src, "example list")
			blockLines := strings.Split(b.String(), "\n")
			commented := func(n int) bool { // n is 1-based in src
				return n >= 2 && strings.HasPrefix(strings.TrimSpace(blockLines[n-2]), "#")
			}
			n := reflect.ValueOf(cfg).FieldByIndex(f.index).Len()
			for _, k := range f.item.leaves() {
				found := false
				for i := range n {
					o, ok := d.origins[fmt.Sprintf("%s[%d].%s", f.path, i, k.name)]
					if !ok {
						continue
					}
					found = true
					item := d.origins[fmt.Sprintf("%s[%d]", f.path, i)]
					if !commented(o.line) && !(o.line == item.line && commented(item.line)) {
						t.Errorf("%s: key %q (example line %d) has no comment above it", f.path, k.name, line+o.line-offset)
					}
					break
				}
				if !found {
					t.Errorf("%s: key %q is in no item of the commented-out example", f.path, k.name)
				}
			}
			if f.path == "audit.sinks" {
				var types []string
				for _, s := range cfg.Audit.Sinks {
					types = append(types, s.Type)
				}
				if !reflect.DeepEqual(types, sinkTypes) {
					t.Errorf("example sink types %v, want one of each: %v", types, sinkTypes)
				}
			}
		})
	}
	if lists == 0 {
		t.Error("no list of sections in the schema; is audit.sinks gone?")
	}
}
