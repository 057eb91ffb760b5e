package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/open-policy-agent/opa/v1/server/types"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// errTooLarge marks a body over MaxRequestBytes (413).
var errTooLarge = errors.New("request body too large")

// data answers GET and POST /v1/data/{path} as OPA's server does.
func (s *Server) data(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// The body's buffer is reused by later requests: nothing that outlives
	// this handler keeps the input's bytes (the engine copies what it keeps).
	bp := bodyPool.Get().(*[]byte)
	defer putBody(bp)
	input, hasInput, err := s.readInput(r, bp)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			s.metrics.rejected.WithLabelValues("too_large").Inc()
			writeError(w, http.StatusRequestEntityTooLarge, types.CodeInvalidParameter, err.Error())
			return
		}
		s.metrics.rejected.WithLabelValues("bad_request").Inc()
		writeError(w, http.StatusBadRequest, types.CodeInvalidParameter, err.Error())
		return
	}
	caller := r.RemoteAddr
	if c := clientFrom(r.Context()); c != "" {
		caller = c + "@" + r.RemoteAddr
	}
	var q url.Values // nil (every lookup empty) without a query string
	if r.URL.RawQuery != "" {
		q = r.URL.Query()
	}
	explain := q.Get("explain")
	var trace []*topdown.Event
	var d *engine.Decision
	switch explain {
	case "", "off":
		d, err = s.eng.DecideJSON(r.Context(), r.PathValue("path"), input, engine.WithCaller(caller))
	case engine.ExplainNotes, engine.ExplainFails, engine.ExplainFull, engine.ExplainDebug:
		d, trace, err = s.eng.DecideExplained(r.Context(), r.PathValue("path"), input, explain, engine.WithCaller(caller))
	default:
		writeError(w, http.StatusBadRequest, types.CodeInvalidParameter, fmt.Sprintf("explain=%s: want notes, fails, full or debug", explain))
		return
	}
	if d != nil {
		s.metrics.observe(d, err)
	}
	if err != nil {
		switch {
		case errors.Is(err, engine.ErrBadInput):
			writeError(w, http.StatusBadRequest, types.CodeInvalidParameter, err.Error())
		case errors.Is(err, engine.ErrInvalidPath):
			writeError(w, http.StatusBadRequest, types.CodeInvalidParameter, err.Error())
		default:
			s.log.Warn("decision failed", logfields.Path, r.PathValue("path"), logfields.Error, err)
			writeError(w, http.StatusInternalServerError, types.CodeInternal, err.Error())
		}
		return
	}
	pretty := q.Has("pretty") && q.Get("pretty") != "false"
	plain := !pretty && (explain == "" || explain == "off") && !isTrue(q, "metrics") && !isTrue(q, "instrument") &&
		(r.Method != http.MethodPost || hasInput)
	if plain {
		writeDecision(w, d)
		return
	}
	resp := types.DataResponseV1{DecisionID: d.ID}
	if d.Defined {
		v := d.Value()
		resp.Result = &v
	}
	if explain != "" && explain != "off" {
		if resp.Explanation, err = types.NewTraceV1(trace, pretty); err != nil {
			writeError(w, http.StatusInternalServerError, types.CodeInternal, "explanation: "+err.Error())
			return
		}
	}
	// ?metrics and ?instrument: the timers this server has, in OPA's names.
	if isTrue(q, "metrics") || isTrue(q, "instrument") {
		cached := 0
		if d.Cached {
			cached = 1
		}
		resp.Metrics = types.MetricsV1{"timer_rego_query_eval_ns": d.Duration.Nanoseconds(),
			"timer_server_handler_ns": time.Since(start).Nanoseconds(), "counter_result_cache_hit": cached}
	}
	if r.Method == http.MethodPost && !hasInput {
		resp.Warning = types.NewWarning(types.CodeAPIUsageWarn, types.MsgInputKeyMissing)
	}
	writeJSON(w, http.StatusOK, resp, pretty)
}

// writeDecision writes OPA's response {"decision_id": …, "result": …}
// without reflection, reusing the result's JSON when the cache has it. The
// bytes are what encoding/json writes for types.DataResponseV1.
func writeDecision(w http.ResponseWriter, d *engine.Decision) {
	res := d.ResultJSON
	if d.Defined && res == nil {
		var err error
		if res, err = json.Marshal(d.Result); err != nil {
			writeError(w, http.StatusInternalServerError, types.CodeInternal, "encoding the result: "+err.Error())
			return
		}
	}
	bp := bodyPool.Get().(*[]byte)
	defer putBody(bp)
	buf := append((*bp)[:0], `{"decision_id":"`...)
	buf = append(buf, d.ID...) // a UUID: nothing to escape
	buf = append(buf, '"')
	if d.Defined {
		buf = append(buf, `,"result":`...)
		buf = append(buf, res...)
	}
	buf = append(buf, "}\n"...)
	h := w.Header()
	h["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	w.Write(buf) // copied into the connection's buffer: buf can be reused
	*bp = buf
}

// bodyPool holds request and response buffers of the decision handler.
var bodyPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// putBody returns a buffer to the pool unless a large body grew it: one
// big request must not pin its memory for good.
func putBody(bp *[]byte) {
	if cap(*bp) <= 64<<10 {
		bodyPool.Put(bp)
	}
}

var jsonContentType = []string{"application/json"}

func isTrue(q url.Values, key string) bool {
	return q.Has(key) && q.Get(key) != "false"
}

// readInput returns the request's input document as the client sent it:
// the body's "input" member for POST, the `input` query parameter for GET.
// Only the body's top level is scanned here; the input itself is parsed
// by the engine, and not at all when its result is cached.
func (s *Server) readInput(r *http.Request, buf *[]byte) (raw []byte, present bool, err error) {
	if r.Method == http.MethodGet {
		q := r.URL.Query().Get("input")
		if q == "" {
			return nil, false, nil
		}
		if !json.Valid([]byte(q)) {
			_, err := decodeJSON([]byte(q))
			return nil, false, fmt.Errorf("input query parameter is not valid JSON: %w", err)
		}
		return []byte(q), !isNull([]byte(q)), nil
	}
	body, err := s.readBody(r, *buf)
	if err != nil {
		return nil, false, err
	}
	*buf = body
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, false, nil
	}
	// OPA reads a body whose content type mentions yaml as YAML.
	if strings.Contains(r.Header.Get("Content-Type"), "yaml") {
		var doc any
		if err := util.Unmarshal(body, &doc); err != nil {
			return nil, false, fmt.Errorf("body is not valid YAML: %w", err)
		}
		if body, err = json.Marshal(doc); err != nil {
			return nil, false, fmt.Errorf("body: %w", err)
		}
	}
	raw, err = inputMember(body)
	if err != nil {
		return nil, false, err
	}
	if raw == nil || isNull(raw) {
		return nil, false, nil
	}
	return raw, true, nil
}

func isNull(b []byte) bool { return bytes.Equal(bytes.TrimSpace(b), []byte("null")) }

// inputMember returns the raw value of the body object's "input" key (the
// last one, as a decoded map would keep), nil when absent. The whole body
// must be one valid JSON object; it is checked with json.Valid and then
// walked at the top level only.
func inputMember(body []byte) (json.RawMessage, error) {
	if !json.Valid(body) {
		return nil, badJSON(body)
	}
	i := skipSpace(body, 0)
	if body[i] != '{' {
		return nil, fmt.Errorf("body must be a JSON object like {\"input\": ...}, got %s", kindOf(body[i]))
	}
	i = skipSpace(body, i+1)
	var input json.RawMessage
	for body[i] != '}' {
		kend := skipValue(body, i)
		key := body[i:kend]
		i = skipSpace(body, kend)
		i = skipSpace(body, i+1) // the colon
		vend := skipValue(body, i)
		if isInputKey(key) {
			input = body[i:vend]
		}
		i = skipSpace(body, vend)
		if body[i] == ',' {
			i = skipSpace(body, i+1)
		}
	}
	return input, nil
}

// isInputKey compares a raw key with "input", decoding it only when it has
// escapes.
func isInputKey(k []byte) bool {
	if string(k) == `"input"` {
		return true
	}
	if bytes.IndexByte(k, '\\') < 0 {
		return false
	}
	var s string
	return json.Unmarshal(k, &s) == nil && s == "input"
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value starting at i.
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		for j := i + 1; j < len(b); j++ {
			switch b[j] {
			case '\\':
				j++
			case '"':
				return j + 1
			}
		}
		return len(b)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				j = skipValue(b, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(b)
	}
	j := i
	for j < len(b) && !bytes.ContainsRune([]byte(",}] \t\n\r"), rune(b[j])) {
		j++
	}
	return j
}

func kindOf(c byte) string {
	switch c {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// badJSON names where the body stops being JSON: the 0-based offset of
// the offending byte in the whole body.
func badJSON(body []byte) error {
	var v any
	if uerr := json.Unmarshal(body, &v); uerr != nil {
		if se, ok := errors.AsType[*json.SyntaxError](uerr); ok && se.Offset > 0 && int(se.Offset) <= len(body) {
			return fmt.Errorf("body is not valid JSON at offset %d (%q): %w", se.Offset-1, body[se.Offset-1], uerr)
		}
		if errors.Is(uerr, io.ErrUnexpectedEOF) || strings.Contains(uerr.Error(), "unexpected end") {
			return fmt.Errorf("body is not valid JSON: it ends at offset %d inside the document", len(body))
		}
		return fmt.Errorf("body is not valid JSON: %w", uerr)
	}
	return errors.New("body is not valid JSON")
}

// readBody reads at most MaxRequestBytes into dst's memory, after gzip
// decompression when the client sent Content-Encoding: gzip (a small
// compressed body must not expand past the limit).
func (s *Server) readBody(r *http.Request, dst []byte) ([]byte, error) {
	limit := s.opts.MaxRequestBytes
	var src io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		src = zr
	} else if n := r.ContentLength; n > limit {
		return nil, tooLarge(limit)
	} else if n > 0 {
		// Known length: read exactly that, into one buffer.
		dst = slices.Grow(dst[:0], int(n))[:n]
		if _, err := io.ReadFull(src, dst); err != nil {
			return nil, fmt.Errorf("reading body: %w", err)
		}
		return dst, nil
	}
	dst = dst[:0]
	lr := io.LimitReader(src, limit+1)
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, max(512, cap(dst)))
		}
		n, err := lr.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("reading body: %w", err)
		}
	}
	if int64(len(dst)) > limit {
		return nil, tooLarge(limit)
	}
	return dst, nil
}

func tooLarge(limit int64) error {
	return fmt.Errorf("%w: limit is %d bytes (server.max_request_bytes)", errTooLarge, limit)
}

func decodeJSON(bs []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(bs))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON document")
	}
	return v, nil
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, types.NewErrorV1(code, "%s", msg), false)
}

func writeJSON(w http.ResponseWriter, status int, v any, pretty bool) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	if pretty {
		enc.SetIndent("", "  ")
	}
	_ = enc.Encode(v)
}
