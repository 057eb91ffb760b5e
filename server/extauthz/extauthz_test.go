package extauthz

import (
	"context"
	"net"
	"strings"
	"testing"
	"testing/fstest"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	grpcstatus "google.golang.org/grpc/status"

	"github.com/belladonna-dev/belladonna/engine"
)

const policy = `package envoy.authz

default allow := {"allowed": false, "http_status": 401, "body": "who are you?", "headers": {"www-authenticate": "Bearer"}}

allow := {
	"allowed": true,
	"headers": {"x-user": user},
	"request_headers_to_remove": ["authorization"],
	"response_headers_to_add": {"x-policy": ["belladonna", "v1"]},
} if {
	input.attributes.request.http.method == "GET"
	input.parsed_path == ["api", "v1", "orders"]
	input.parsed_query.page == ["2"]
	user := input.attributes.request.http.headers["x-user"]
}

simple if input.attributes.request.http.method == "GET"

bad := {"allowed": false, "http_status": 999}
`

// client runs the server on loopback and returns a real gRPC client.
func client(t *testing.T, path string) authv3.AuthorizationClient {
	t.Helper()
	src, err := engine.LoadFS(fstest.MapFS{"envoy/p.rego": {Data: []byte(policy)}}, ".", engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.WithCompileOptions(engine.CompileOptions{CacheEntries: 100}))
	if _, err := eng.Activate(context.Background(), src); err != nil {
		t.Fatal(err)
	}
	s := New(eng, path, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(s.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return authv3.NewAuthorizationClient(conn)
}

func request(method, path string, headers map[string]string) *authv3.CheckRequest {
	return &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
		Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: path, Headers: headers}}}}
}

func TestCheckAllowsWithHeaders(t *testing.T) {
	c := client(t, "")
	res, err := c.Check(context.Background(), request("GET", "/api/v1/orders?page=2", map[string]string{"x-user": "alice", "authorization": "Bearer x"}))
	if err != nil {
		t.Fatal(err)
	}
	ok := res.GetOkResponse()
	if res.GetStatus().GetCode() != int32(codes.OK) || ok == nil {
		t.Fatalf("not allowed: %v", res)
	}
	if h := ok.GetHeaders(); len(h) != 1 || h[0].GetHeader().GetKey() != "x-user" || h[0].GetHeader().GetValue() != "alice" {
		t.Fatalf("headers %v", h)
	}
	if r := ok.GetHeadersToRemove(); len(r) != 1 || r[0] != "authorization" {
		t.Fatalf("headers to remove %v", r)
	}
	if a := ok.GetResponseHeadersToAdd(); len(a) != 2 || a[1].GetHeader().GetValue() != "v1" {
		t.Fatalf("response headers %v", a)
	}
}

func TestCheckDeniesWithStatusAndBody(t *testing.T) {
	c := client(t, "")
	for name, req := range map[string]*authv3.CheckRequest{
		"wrong method":    request("POST", "/api/v1/orders?page=2", map[string]string{"x-user": "alice"}),
		"no user":         request("GET", "/api/v1/orders?page=2", nil),
		"missing fields":  {},
		"no http request": {Attributes: &authv3.AttributeContext{}},
	} {
		res, err := c.Check(context.Background(), req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		den := res.GetDeniedResponse()
		if res.GetStatus().GetCode() != int32(codes.PermissionDenied) || den == nil || den.GetStatus().GetCode() != typev3.StatusCode_Unauthorized ||
			den.GetBody() != "who are you?" || den.GetHeaders()[0].GetHeader().GetKey() != "www-authenticate" {
			t.Fatalf("%s: %v", name, res)
		}
	}
}

// A boolean decision maps to allow or a plain 403; a result of another
// shape is an error, not an allow.
func TestCheckBooleanAndBadShapes(t *testing.T) {
	c := client(t, "envoy/authz/simple")
	res, err := c.Check(context.Background(), request("GET", "/", nil))
	if err != nil || res.GetOkResponse() == nil {
		t.Fatalf("boolean true: %v %v", res, err)
	}
	res, err = c.Check(context.Background(), request("PUT", "/", nil))
	if err != nil || res.GetDeniedResponse().GetStatus().GetCode() != typev3.StatusCode_Forbidden {
		t.Fatalf("undefined: %v %v", res, err)
	}
	if _, err := client(t, "envoy/authz/bad").Check(context.Background(), request("GET", "/", nil)); grpcstatus.Code(err) != codes.Internal {
		t.Fatalf("http_status 999: %v", err)
	}
}

// The input has opa-envoy-plugin's shape.
func TestInputShape(t *testing.T) {
	b, err := Input(request("GET", "/a%20b/c?x=1&x=2", map[string]string{"content-type": "application/json"}))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"parsed_path":["a b","c"]`, `"parsed_query":{"x":["1","2"]}`, `"method":"GET"`, `"version":{"encoding":"protojson","ext_authz":"v3"}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("input lacks %s: %s", want, b)
		}
	}
}
