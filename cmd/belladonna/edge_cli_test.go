package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/belladonna-dev/belladonna/bundles"
	"github.com/belladonna-dev/belladonna/internal/registrytest"
	"github.com/belladonna-dev/belladonna/internal/stockopa"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// belladonnaBinary builds the CLI once per test binary, for tests that run
// long-lived commands as separate processes, as a user does.
func belladonnaBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "belladonna-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "belladonna")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("building belladonna: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// background runs the binary until the test ends; its output is shown if
// the test fails.
func background(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, belladonnaBinary(t), args...)
	cmd.Dir = dir
	logs := &stockopa.Logs{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("belladonna %s:\n%s", args[0], logs.String())
		}
	})
}

func writeKeyPair(t *testing.T, dir, name string) (priv, pub string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	pubDER, _ := x509.MarshalPKIXPublicKey(k.Public())
	priv, pub = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".pub.pem")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644)
	return priv, pub
}

// mustCLI runs the CLI in process and fails the test on a non-zero exit.
func mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errb := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("belladonna %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errb)
	}
	return out
}

func waitReady(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url + "/health?bundles=true")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became ready with a bundle", url)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The whole release path as a user runs it, with the shipped library:
// build, sign and attest a bundle, verify it offline, push it to a real
// OCI registry, serve the repository with `bundle serve` (tokens), and
// pull it with two Belladonna sidecars (one from the bundle server, one
// from the registry) and a stock OPA agent. All three answer every
// differential input identically, and `fleet status` reports every edge
// on the current commit.
func TestReleaseToEdgesEndToEnd(t *testing.T) {
	reg := registrytest.Start(t)
	g, _ := libraryRepo(t)
	keys := t.TempDir()
	signPriv, signPub := writeKeyPair(t, keys, "signing")
	attPriv, attPub := writeKeyPair(t, keys, "attest")
	out := filepath.Join(t.TempDir(), "library.tar.gz")
	mustCLI(t, "bundle", "build", "--repo", g.Dir, "--dir", "policies", "--rev", "main", "--signing-key", signPriv, "--attestation-key", attPriv, "-o", out)
	mustCLI(t, "bundle", "verify", out, "--key", signPub, "--attestation", out+".intoto.json", "--attestation-key", attPub, "--branch", "main")
	pushed := mustCLI(t, "bundle", "push", out, "oci://"+reg+"/policies/library:main")
	if !strings.Contains(pushed, "attestation sha256:") {
		t.Fatalf("push: %s", pushed)
	}

	tokens := filepath.Join(keys, "tokens")
	os.WriteFile(tokens, []byte(bundles.TokenDigest("edge-token")+" *\n"), 0o600)
	tokenFile := filepath.Join(keys, "edge.token")
	os.WriteFile(tokenFile, []byte("edge-token\n"), 0o600)
	srvAddr := freeAddr(t)
	background(t, t.TempDir(), "bundle", "serve", "--repo", g.Dir, "--dir", "policies", "--signing-key", signPriv,
		"--attestation-key", attPriv, "--tokens", tokens, "--addr", srvAddr)
	srvURL := "http://" + srvAddr

	sidecar := func(id, source string) string {
		dir := t.TempDir()
		addr := freeAddr(t)
		cfg := fmt.Sprintf(`server:
  addr: %s
bundles:
  source: %s
  token_file: %s
  verification_key: %s
  attestation_key: %s
  branch: main
  min_delay: 200ms
  max_delay: 400ms
  status_url: %s/status
  status_interval: 200ms
  edge_id: %s
`, addr, source, tokenFile, signPub, attPub, srvURL, id)
		os.WriteFile(filepath.Join(dir, "belladonna.yaml"), []byte(cfg), 0o600)
		background(t, dir, "serve")
		return "http://" + addr
	}
	viaServer := sidecar("sidecar-http", srvURL+"/bundles/main")
	viaOCI := sidecar("sidecar-oci", "oci://"+reg+"/policies/library:main")
	pub, _ := os.ReadFile(signPub)
	opaAddr, _ := stockopa.Server(t, stockopa.Client{URL: srvURL, Token: "edge-token", Resource: "/bundles/main", KeyPEM: pub,
		Status: true, EdgeID: "opa-agent"}.Config())
	opaURL := "http://" + opaAddr
	for _, u := range []string{viaServer, viaOCI, opaURL} {
		waitReady(t, u)
	}

	compared := 0
	for file, paths := range differentialCases {
		for _, input := range loadInputs(t, file) {
			body, _ := json.Marshal(map[string]any{"input": input})
			for _, path := range paths {
				want := postResult(t, opaURL, path, body)
				for name, u := range map[string]string{"sidecar (bundle server)": viaServer, "sidecar (OCI)": viaOCI} {
					if got := postResult(t, u, path, body); !reflect.DeepEqual(got, want) {
						t.Errorf("%s %s %s %s:\n got       %v\n stock OPA %v", name, file, path, body, got, want)
					}
				}
				compared++
			}
		}
	}
	t.Logf("%d decisions compared: both sidecars identical to stock OPA on the pulled bundle", compared)

	// fleet status: exit 0 once every edge reports the current commit.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var so, se bytes.Buffer
		code := run([]string{"fleet", "status", "--server", srvURL, "--token-file", tokenFile}, &so, &se)
		if code == 0 {
			for _, id := range []string{"sidecar-http", "sidecar-oci", "opa-agent"} {
				if !strings.Contains(so.String(), id) {
					t.Fatalf("fleet status lacks %s:\n%s", id, so.String())
				}
			}
			if !strings.Contains(so.String(), "3 edges: 3 current") {
				t.Fatalf("fleet status:\n%s", so.String())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleet status never converged (exit %d):\n%s%s", code, so.String(), se.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}
