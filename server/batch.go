package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/open-policy-agent/opa/v1/server/types"

	"github.com/belladonna-dev/belladonna/engine"
)

// maxBatch bounds the inputs of one batch request.
const maxBatch = 10_000

type batchAnswer struct {
	DecisionID string `json:"decision_id,omitempty"`
	Result     *any   `json:"result,omitempty"`
	HTTPStatus string `json:"http_status,omitempty"`
	Code       string `json:"code,omitempty"`
	Message    string `json:"message,omitempty"`
}

// batch answers POST /v1/batch/data/{path}: {"inputs": {"id": input, ...}}
// in one request, each decided (and recorded) as its own decision, in the
// shape Enterprise OPA uses: {"responses": {"id": {"result": ...}}}; 200
// when all succeed, 207 when some failed (each failure says why).
func (s *Server) batch(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(r, nil)
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, errTooLarge) {
			status = http.StatusRequestEntityTooLarge
		}
		writeError(w, status, types.CodeInvalidParameter, err.Error())
		return
	}
	var req struct {
		Inputs map[string]json.RawMessage `json:"inputs"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, types.CodeInvalidParameter, "batch body: "+err.Error())
		return
	}
	if req.Inputs == nil {
		writeError(w, http.StatusBadRequest, types.CodeInvalidParameter, `batch body must be {"inputs": {"ID": INPUT, ...}}`)
		return
	}
	if len(req.Inputs) > maxBatch {
		writeError(w, http.StatusRequestEntityTooLarge, types.CodeInvalidParameter, fmt.Sprintf("%d inputs: at most %d per batch", len(req.Inputs), maxBatch))
		return
	}
	ids := make([]string, 0, len(req.Inputs))
	for id := range req.Inputs {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	caller := r.RemoteAddr
	if c := clientFrom(r.Context()); c != "" {
		caller = c + "@" + r.RemoteAddr
	}
	out := make(map[string]batchAnswer, len(ids))
	failed := 0
	for _, id := range ids {
		raw := req.Inputs[id]
		if isNull(raw) {
			raw = nil
		}
		d, err := s.eng.DecideJSON(r.Context(), r.PathValue("path"), raw, engine.WithCaller(caller))
		if d != nil {
			s.metrics.observe(d, err)
		}
		if err != nil {
			failed++
			status, code := http.StatusInternalServerError, types.CodeInternal
			if errors.Is(err, engine.ErrBadInput) || errors.Is(err, engine.ErrInvalidPath) {
				status, code = http.StatusBadRequest, types.CodeInvalidParameter
			}
			out[id] = batchAnswer{HTTPStatus: fmt.Sprint(status), Code: code, Message: err.Error()}
			continue
		}
		a := batchAnswer{DecisionID: d.ID}
		if d.Defined {
			res := d.Value()
			a.Result = &res
		}
		out[id] = a
	}
	status := http.StatusOK
	if failed > 0 {
		// With failures each answer says its own status.
		status = http.StatusMultiStatus
		for id, a := range out {
			if a.HTTPStatus == "" {
				a.HTTPStatus = "200"
				out[id] = a
			}
		}
	}
	writeJSON(w, status, map[string]any{"responses": out}, r.URL.Query().Has("pretty"))
}
