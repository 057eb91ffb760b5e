// Package extauthz answers Envoy's external authorization gRPC API (v3
// Authorization/Check) from the same engine as the HTTP decision API, with
// the input and result shapes of OPA's opa-envoy-plugin, so that policies
// written for it work unchanged.
package extauthz

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"sort"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	grpcstatus "google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/belladonna-dev/belladonna/engine"
	"github.com/belladonna-dev/belladonna/internal/logfields"
)

// DefaultPath is opa-envoy-plugin's default decision.
const DefaultPath = "envoy/authz/allow"

// Server implements authv3.AuthorizationServer.
type Server struct {
	authv3.UnimplementedAuthorizationServer
	eng  *engine.Engine
	path string
	log  *slog.Logger
	grpc *grpc.Server
}

// New answers Check with the document at path (DefaultPath when empty).
func New(eng *engine.Engine, path string, log *slog.Logger) *Server {
	if path == "" {
		path = DefaultPath
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{eng: eng, path: strings.Trim(path, "/"), log: log}
	s.grpc = grpc.NewServer(grpc.MaxRecvMsgSize(4 << 20))
	authv3.RegisterAuthorizationServer(s.grpc, s)
	return s
}

// Serve answers on ln until Stop.
func (s *Server) Serve(ln net.Listener) error { return s.grpc.Serve(ln) }

// Stop drains calls in flight.
func (s *Server) Stop() { s.grpc.GracefulStop() }

var marshal = protojson.MarshalOptions{EmitUnpopulated: false}

// Input builds the policy input from a CheckRequest as opa-envoy-plugin
// does: the request in protojson form, plus parsed_path, parsed_query and,
// for a JSON body, parsed_body.
func Input(req *authv3.CheckRequest) ([]byte, error) {
	raw, err := marshal.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the check request: %w", err)
	}
	var in map[string]any
	if err := json.Unmarshal(raw, &in); err != nil {
		return nil, err
	}
	http := req.GetAttributes().GetRequest().GetHttp()
	p, q, _ := strings.Cut(http.GetPath(), "?")
	segs := []any{}
	for _, s := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if u, err := url.PathUnescape(s); err == nil {
			s = u
		}
		segs = append(segs, s)
	}
	in["parsed_path"] = segs
	query := map[string]any{}
	if vals, err := url.ParseQuery(q); err == nil {
		for k, vs := range vals {
			list := make([]any, len(vs))
			for i, v := range vs {
				list[i] = v
			}
			query[k] = list
		}
	}
	in["parsed_query"] = query
	in["truncated_body"] = false
	if b := http.GetBody(); b != "" && strings.Contains(http.GetHeaders()["content-type"], "json") {
		var body any
		if json.Unmarshal([]byte(b), &body) == nil {
			in["parsed_body"] = body
		}
	}
	in["version"] = map[string]any{"encoding": "protojson", "ext_authz": "v3"}
	return json.Marshal(in)
}

// Check evaluates the decision: a boolean allows or denies (403); an
// object may say allowed, headers (added to the upstream request),
// request_headers_to_remove, response_headers_to_add, http_status and
// body (for a denial) and dynamic_metadata.
func (s *Server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	in, err := Input(req)
	if err != nil {
		return nil, grpcstatus.Error(codes.InvalidArgument, err.Error())
	}
	d, err := s.eng.DecideJSON(ctx, s.path, in, engine.WithCaller("ext_authz"))
	if err != nil {
		s.log.Warn("ext_authz decision failed", logfields.Path, s.path, logfields.Error, err)
		if errors.Is(err, engine.ErrNoPolicy) {
			return nil, grpcstatus.Error(codes.Unavailable, err.Error())
		}
		return nil, grpcstatus.Error(codes.Internal, err.Error())
	}
	res, err := response(d)
	if err != nil {
		s.log.Warn("ext_authz decision has the wrong shape", logfields.Path, s.path, logfields.Error, err)
		return nil, grpcstatus.Error(codes.Internal, err.Error())
	}
	return res, nil
}

// result is the object form of a decision.
type result struct {
	Allowed                bool           `json:"allowed"`
	Headers                map[string]any `json:"headers"`
	RequestHeadersToRemove []string       `json:"request_headers_to_remove"`
	ResponseHeadersToAdd   map[string]any `json:"response_headers_to_add"`
	HTTPStatus             int            `json:"http_status"`
	Body                   string         `json:"body"`
	DynamicMetadata        map[string]any `json:"dynamic_metadata"`
}

func response(d *engine.Decision) (*authv3.CheckResponse, error) {
	var r result
	switch v := d.Value().(type) {
	case nil:
		// Undefined: deny, as opa-envoy-plugin does.
	case bool:
		r.Allowed = v
	case map[string]any:
		b, _ := json.Marshal(v)
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("decision %s: %w", d.ID, err)
		}
		if _, ok := v["allowed"].(bool); !ok {
			return nil, fmt.Errorf("decision %s: an object result needs a boolean \"allowed\"", d.ID)
		}
	default:
		return nil, fmt.Errorf("decision %s: want a boolean or an object with \"allowed\", got %T", d.ID, d.Value())
	}
	out := &authv3.CheckResponse{}
	if r.DynamicMetadata != nil {
		m, err := structpb.NewStruct(r.DynamicMetadata)
		if err != nil {
			return nil, fmt.Errorf("decision %s: dynamic_metadata: %w", d.ID, err)
		}
		out.DynamicMetadata = m
	}
	headers, err := headerOptions(r.Headers)
	if err != nil {
		return nil, fmt.Errorf("decision %s: headers: %w", d.ID, err)
	}
	if r.Allowed {
		add, err := headerOptions(r.ResponseHeadersToAdd)
		if err != nil {
			return nil, fmt.Errorf("decision %s: response_headers_to_add: %w", d.ID, err)
		}
		out.Status = &status.Status{Code: int32(codes.OK)}
		out.HttpResponse = &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{
			Headers: headers, HeadersToRemove: r.RequestHeadersToRemove, ResponseHeadersToAdd: add}}
		return out, nil
	}
	code := typev3.StatusCode_Forbidden
	if r.HTTPStatus != 0 {
		if _, ok := typev3.StatusCode_name[int32(r.HTTPStatus)]; !ok {
			return nil, fmt.Errorf("decision %s: http_status %d is not an HTTP status Envoy knows", d.ID, r.HTTPStatus)
		}
		code = typev3.StatusCode(r.HTTPStatus)
	}
	out.Status = &status.Status{Code: int32(codes.PermissionDenied)}
	out.HttpResponse = &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
		Status: &typev3.HttpStatus{Code: code}, Headers: headers, Body: r.Body}}
	return out, nil
}

// headerOptions turns {name: value or [values]} into Envoy header options,
// in name order (a response does not depend on map order).
func headerOptions(h map[string]any) ([]*corev3.HeaderValueOption, error) {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []*corev3.HeaderValueOption
	for _, k := range names {
		var vals []string
		switch v := h[k].(type) {
		case string:
			vals = []string{v}
		case []any:
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("header %q: values must be strings", k)
				}
				vals = append(vals, s)
			}
		default:
			return nil, fmt.Errorf("header %q: want a string or an array of strings, got %T", k, v)
		}
		for _, v := range vals {
			out = append(out, &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, Value: v},
				AppendAction: corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD})
		}
	}
	return out, nil
}
