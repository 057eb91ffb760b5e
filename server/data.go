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
	"strings"
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
	input, hasInput, err := s.readInput(r)
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
	q := r.URL.Query()
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
	resp := types.DataResponseV1{DecisionID: d.ID}
	if d.Defined {
		resp.Result = &d.Result
	}
	pretty := q.Has("pretty") && q.Get("pretty") != "false"
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

func isTrue(q url.Values, key string) bool {
	return q.Has(key) && q.Get(key) != "false"
}

// readInput returns the request's input document as the client sent it:
// the body's "input" member for POST, the `input` query parameter for GET.
// Only the body's top level is scanned here; the input itself is parsed
// by the engine, and not at all when its result is cached.
func (s *Server) readInput(r *http.Request) (raw []byte, present bool, err error) {
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
	body, err := s.readBody(r)
	if err != nil {
		return nil, false, err
	}
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
// must be one valid JSON object.
func inputMember(body []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, badJSON(body, dec, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("body must be a JSON object like {\"input\": ...}, got %s", tokenKind(tok))
	}
	var input json.RawMessage
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, badJSON(body, dec, err)
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, badJSON(body, dec, err)
		}
		if k == "input" {
			input = v
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, badJSON(body, dec, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("body is not valid JSON: unexpected data after the JSON document at byte %d", dec.InputOffset())
	}
	return input, nil
}

// badJSON names where the body stops being JSON: the 0-based offset of
// the offending byte in the whole body.
func badJSON(body []byte, dec *json.Decoder, err error) error {
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
	return fmt.Errorf("body is not valid JSON at offset %d: %w", dec.InputOffset(), err)
}

func tokenKind(t json.Token) string {
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			return "an array"
		}
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a number"
}

// readBody reads at most MaxRequestBytes, after gzip decompression when the
// client sent Content-Encoding: gzip (a small compressed body must not expand
// past the limit).
func (s *Server) readBody(r *http.Request) ([]byte, error) {
	limit := s.opts.MaxRequestBytes
	var src io.Reader = r.Body
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		defer zr.Close()
		src = zr
	}
	body, err := io.ReadAll(io.LimitReader(src, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading body: %w", err)
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: limit is %d bytes (server.max_request_bytes)", errTooLarge, limit)
	}
	return body, nil
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
