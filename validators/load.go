package validators

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/belladonna-dev/belladonna/engine"
)

// Check rule ids that are not OPA error codes.
const (
	RuleDataParseError = "data-parse-error"
	RuleDataConflict   = "data-conflict"
	RuleValidatorError = "validator-error"
)

// source is everything loaded from the PATH arguments.
type source struct {
	files   []string               // every policy and data file, display paths, sorted
	modules map[string]*ast.Module // modules that parsed, by display path
	raw     map[string][]byte      // every file's bytes, by display path
	relDir  map[string][]string    // directory of a file relative to its PATH argument
	data    map[string]any         // merged data documents
	// findings are parse errors and malformed data files.
	findings []Finding
}

func (s *source) lines(file string) []string {
	b, ok := s.raw[file]
	if !ok {
		return nil
	}
	return splitLines(b)
}

// splitLines splits on \n, drops a trailing \r per line and the empty element
// after a final newline.
func splitLines(b []byte) []string {
	text := strings.TrimSuffix(string(b), "\n")
	if text == "" {
		return nil
	}
	ls := strings.Split(text, "\n")
	for i, l := range ls {
		ls[i] = strings.TrimSuffix(l, "\r")
	}
	return ls
}

// candidate is a file found under a PATH argument.
type candidate struct {
	osPath  string   // path to open
	display string   // path for findings
	prefix  []string // data path prefix: its directory relative to the argument
}

// collect lists policy and data files under paths the way OPA's loader would
// load them: data files land under the path of their directory relative to the
// argument; hidden directories and files are skipped.
func collect(paths []string) ([]candidate, error) {
	var out []candidate
	seen := map[string]bool{}
	add := func(c candidate) {
		if !seen[c.display] {
			seen[c.display] = true
			out = append(out, c)
		}
	}
	for _, root := range paths {
		info, err := os.Stat(root)
		if err != nil {
			return nil, &LoadError{Path: root, Err: err}
		}
		if !info.IsDir() {
			// A file argument is loaded at the data root, as opa does.
			add(candidate{osPath: root, display: displayPath(root)})
			continue
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if p != root && strings.HasPrefix(name, ".") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() || !isPolicyFile(name) {
				return nil
			}
			rel, err := filepath.Rel(root, filepath.Dir(p))
			if err != nil {
				return err
			}
			var prefix []string
			if rel != "." {
				prefix = strings.Split(filepath.ToSlash(rel), "/")
			}
			add(candidate{osPath: p, display: displayPath(p), prefix: prefix})
			return nil
		})
		if err != nil {
			return nil, &LoadError{Path: root, Err: err}
		}
	}
	slices.SortFunc(out, func(a, b candidate) int { return strings.Compare(a.display, b.display) })
	return out, nil
}

func isPolicyFile(name string) bool {
	switch path.Ext(name) {
	case ".rego", ".json", ".yaml", ".yml":
		return true
	}
	return false
}

// displayPath makes p relative to the working directory when it is below it,
// with forward slashes: the form SARIF and GitHub annotations need.
func displayPath(p string) string {
	p = filepath.Clean(p)
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
				p = rel
			}
		}
	}
	return filepath.ToSlash(p)
}

// load reads and parses every candidate. Unreadable paths are errors; files
// that do not parse become findings.
func load(ctx context.Context, paths []string, popts ast.ParserOptions, prog *progress) (*source, error) {
	cands, err := collect(paths)
	if err != nil {
		return nil, err
	}
	src := &source{
		modules: map[string]*ast.Module{},
		raw:     map[string][]byte{},
		relDir:  map[string][]string{},
		data:    map[string]any{},
	}
	for i, c := range cands {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		prog.step("parsing", i+1, len(cands))
		bs, err := os.ReadFile(c.osPath)
		if err != nil {
			return nil, &LoadError{Path: c.osPath, Err: err}
		}
		src.files = append(src.files, c.display)
		src.raw[c.display] = bs
		src.relDir[c.display] = c.prefix
		if strings.HasSuffix(c.display, ".rego") {
			src.parseModule(c.display, bs, popts)
			continue
		}
		src.loadData(c, bs)
	}
	return src, nil
}

func (s *source) parseModule(file string, bs []byte, popts ast.ParserOptions) {
	m, err := ast.ParseModuleWithOpts(file, string(bs), popts)
	if err != nil {
		s.findings = append(s.findings, astFindings(err, file)...)
		return
	}
	if m == nil {
		// OPA returns no module and no error for a file with only comments.
		s.findings = append(s.findings, Finding{
			Rule: "rego-parse-error", Severity: SeverityError, File: file, Line: 1,
			Message: "empty module: no package declaration",
		})
		return
	}
	s.modules[file] = m
}

func (s *source) loadData(c candidate, bs []byte) {
	var doc any
	var err error
	if strings.HasSuffix(c.display, ".json") {
		doc, err = decodeJSON(bs)
	} else {
		err = util.Unmarshal(bs, &doc)
	}
	if err != nil {
		line, col := dataErrorPos(bs, err)
		s.findings = append(s.findings, Finding{
			Rule: RuleDataParseError, Severity: SeverityError, File: c.display, Line: line, Col: col,
			Message: fmt.Sprintf("malformed data file: %v", err),
		})
		return
	}
	if doc == nil && len(bytes.TrimSpace(bs)) == 0 {
		return // an empty YAML file is an empty document, as in OPA
	}
	if len(c.prefix) == 0 {
		if _, ok := doc.(map[string]any); !ok {
			s.findings = append(s.findings, Finding{
				Rule: RuleDataParseError, Severity: SeverityError, File: c.display, Line: 1,
				Message: "data file at the root of a PATH must hold an object",
			})
			return
		}
	}
	for i := len(c.prefix) - 1; i >= 0; i-- {
		doc = map[string]any{c.prefix[i]: doc}
	}
	if err := engine.MergeData(s.data, doc.(map[string]any), ""); err != nil {
		s.findings = append(s.findings, Finding{
			Rule: RuleDataConflict, Severity: SeverityError, File: c.display, Line: 1,
			Message: err.Error(),
		})
	}
}

// decodeJSON decodes one JSON value, keeping numbers exact (json.Number) as
// OPA's loader does, and rejects trailing content.
func decodeJSON(bs []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(bs))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty JSON document")
		}
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return doc, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// dataErrorPos finds the line (and column) a decoding error refers to.
func dataErrorPos(bs []byte, err error) (line, col int) {
	var off int64 = -1
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		off = se.Offset
	} else if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		off = te.Offset
	}
	if off >= 0 {
		if off > int64(len(bs)) {
			off = int64(len(bs))
		}
		before := bs[:off]
		line = bytes.Count(before, []byte("\n")) + 1
		col = int(off) - (bytes.LastIndexByte(before, '\n') + 1)
		if col < 1 {
			col = 1
		}
		return line, col
	}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		if n, convErr := strconv.Atoi(m[1]); convErr == nil {
			return n, 0
		}
	}
	return 1, 0
}

// astFindings turns OPA errors into findings, one per error: the rule is the
// error code with hyphens (rego_parse_error -> rego-parse-error).
func astFindings(err error, fallbackFile string) []Finding {
	var errs ast.Errors
	if es, ok := errors.AsType[ast.Errors](err); ok {
		errs = es
	} else if e, ok := errors.AsType[*ast.Error](err); ok {
		errs = ast.Errors{e}
	} else {
		return []Finding{{
			Rule: "rego-parse-error", Severity: SeverityError, File: fallbackFile,
			Message: err.Error(),
		}}
	}
	out := make([]Finding, 0, len(errs))
	for _, e := range errs {
		f := Finding{
			Rule:     strings.ReplaceAll(e.Code, "_", "-"),
			Severity: SeverityError,
			Message:  e.Message,
			File:     fallbackFile,
		}
		if e.Location != nil {
			if e.Location.File != "" {
				f.File = e.Location.File
			}
			f.Line, f.Col = e.Location.Row, e.Location.Col
		}
		out = append(out, f)
	}
	return out
}
