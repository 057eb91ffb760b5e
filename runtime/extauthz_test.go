package runtime

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/belladonna-dev/belladonna/config"
)

// serve with server.ext_authz.addr answers Envoy's Check from the same
// engine as the HTTP API.
func TestServeExtAuthz(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "envoy.rego"), []byte("package envoy.authz\n\ndefault allow := false\n\nallow if input.attributes.request.http.method == \"GET\"\n"), 0o644)
	cfg := config.Default()
	cfg.Server.Addr = "127.0.0.1:0"
	cfg.Server.ExtAuthz.Addr = "127.0.0.1:0"
	cfg.Audit.Enabled = false
	s, err := NewServe(context.Background(), ServeParams{Config: cfg, Paths: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	conn, err := grpc.NewClient(s.ExtAuthzAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := authv3.NewAuthorizationClient(conn)
	for method, want := range map[string]codes.Code{"GET": codes.OK, "POST": codes.PermissionDenied} {
		res, err := c.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
			Http: &authv3.AttributeContext_HttpRequest{Method: method, Path: "/"}}}})
		if err != nil || codes.Code(res.GetStatus().GetCode()) != want {
			t.Fatalf("%s: %v %v", method, res, err)
		}
	}
}
