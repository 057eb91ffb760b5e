package server

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/open-policy-agent/opa/v1/server/types"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// errTooLarge marks a body over MaxRequestBytes (413).
var errTooLarge = errors.New("request body too large")

// data answers GET and POST /v1/data/{path} as OPA's server does.
func (s *Server) data(w http.ResponseWriter, r *http.Request) {
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
	d, err := s.eng.DecideJSON(r.Context(), r.PathValue("path"), input, engine.WithCaller(caller))
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
	if r.Method == http.MethodPost && !hasInput {
		resp.Warning = types.NewWarning(types.CodeAPIUsageWarn, types.MsgInputKeyMissing)
	}
	writeJSON(w, http.StatusOK, resp, r.URL.Query().Has("pretty") && r.URL.Query().Get("pretty") != "false")
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

// badJSON names where the body stops being JSON.
func badJSON(body []byte, dec *json.Decoder, err error) error {
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Errorf("body is not valid JSON at byte %d: %w", se.Offset, err)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("body is not valid JSON: it ends at byte %d inside the document", len(body))
	}
	return fmt.Errorf("body is not valid JSON at byte %d: %w", dec.InputOffset(), err)
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
