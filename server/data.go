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
	d, err := s.eng.Decide(r.Context(), r.PathValue("path"), input, engine.WithCaller(caller))
	if err != nil {
		s.metrics.decisions.WithLabelValues("error").Inc()
		switch {
		case errors.Is(err, engine.ErrInvalidPath):
			writeError(w, http.StatusBadRequest, types.CodeInvalidParameter, err.Error())
		default:
			s.log.Warn("decision failed", logfields.Path, r.PathValue("path"), logfields.Error, err)
			writeError(w, http.StatusInternalServerError, types.CodeInternal, err.Error())
		}
		return
	}
	s.metrics.decisionSeconds.Observe(d.Duration.Seconds())
	resp := types.DataResponseV1{DecisionID: d.ID}
	if d.Defined {
		s.metrics.decisions.WithLabelValues("defined").Inc()
		resp.Result = &d.Result
	} else {
		s.metrics.decisions.WithLabelValues("undefined").Inc()
	}
	if r.Method == http.MethodPost && !hasInput {
		resp.Warning = types.NewWarning(types.CodeAPIUsageWarn, types.MsgInputKeyMissing)
	}
	writeJSON(w, http.StatusOK, resp, r.URL.Query().Has("pretty") && r.URL.Query().Get("pretty") != "false")
}

// readInput returns the request's input document: the body's "input" key for
// POST, the `input` query parameter for GET. Numbers stay json.Number so large
// integers keep their precision, as in OPA.
func (s *Server) readInput(r *http.Request) (input any, present bool, err error) {
	if r.Method == http.MethodGet {
		q := r.URL.Query().Get("input")
		if q == "" {
			return nil, false, nil
		}
		v, err := decodeJSON([]byte(q))
		if err != nil {
			return nil, false, fmt.Errorf("input query parameter is not valid JSON: %w", err)
		}
		return v, v != nil, nil
	}
	body, err := s.readBody(r)
	if err != nil {
		return nil, false, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, false, nil
	}
	doc, err := decodeJSON(body)
	if err != nil {
		return nil, false, fmt.Errorf("body is not valid JSON: %w", err)
	}
	obj, ok := doc.(map[string]any)
	if !ok {
		return nil, false, fmt.Errorf("body must be a JSON object like {\"input\": ...}, got %s", jsonKind(doc))
	}
	in, ok := obj["input"]
	if !ok || in == nil {
		return nil, false, nil
	}
	return in, true, nil
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

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "a value"
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
