package runtime

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/belladonna-dev/belladonna/audit"
	"github.com/belladonna-dev/belladonna/config"
)

// kmsPlugin builds the test KMS plugin (sigstore's cliplugin protocol, the
// path every KMS URI without a linked provider takes) onto PATH and returns
// a key URI it serves.
func kmsPlugin(t *testing.T) (uri, keyPath string) {
	t.Helper()
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "sigstore-kms-belladonnatest"), "./testdata/kmsplugin")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the KMS plugin: %v\n%s", err, out)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(priv)
	keyPath = filepath.Join(t.TempDir(), "kms-key.pem")
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return "belladonnatest://" + keyPath, keyPath
}

func TestCheckpointsSignedByKMSKey(t *testing.T) {
	uri, keyPath := kmsPlugin(t)
	ctx := context.Background()
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.Audit.CheckpointKMSKey = uri
	st, err := startAudit(ctx, cfg, discardLogger(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := st.log.Append(ctx, &audit.Entry{Kind: audit.KindDecision, Path: "x/allow", DecisionID: strings.Repeat("d", i+1)}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := st.log.ProveInclusion(ctx, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := os.ReadFile(keyPath + ".count"); len(n) == 0 {
		t.Fatal("the KMS plugin signed nothing")
	}
	dir := AuditDir(cfg.DataDir)
	pub, err := audit.LoadPublicKey(filepath.Join(dir, "checkpoint.key.pub"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := pub.(*ecdsa.PublicKey); !ok {
		t.Fatalf("checkpoint.key.pub holds %T, want the KMS key's ECDSA key", pub)
	}
	if err := audit.VerifyInclusionProof(p, pub); err != nil {
		t.Fatal(err)
	}
	rep, err := audit.Verify(ctx, dir, audit.VerifyOptions{})
	if err != nil || !rep.OK() || rep.Checkpoints == 0 {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}

func TestBadKMSKeyStopsStartup(t *testing.T) {
	uri, _ := kmsPlugin(t)
	for _, tc := range []struct{ uri, want string }{
		{uri + ".missing", "no such file"},
		{"nosuchkms://key", "no kms provider found"},
		{"awskms:///arn:aws:kms:eu-west-1:1:key/k", "build with -tags cloudkms, or put a sigstore-kms-awskms plugin on PATH"},
	} {
		cfg := config.Default()
		cfg.DataDir = t.TempDir()
		cfg.Audit.CheckpointKMSKey = tc.uri
		st, err := startAudit(context.Background(), cfg, discardLogger(), prometheus.NewRegistry())
		if err == nil {
			st.stop(context.Background())
			t.Fatalf("%s: started", tc.uri)
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "checkpoint_kms_key") {
			t.Fatalf("%s: error %q, want it to name the key and say %q", tc.uri, err, tc.want)
		}
		if _, err := os.Stat(filepath.Join(AuditDir(cfg.DataDir), "checkpoints.jsonl")); err == nil {
			t.Fatalf("%s: a log was opened", tc.uri)
		}
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
