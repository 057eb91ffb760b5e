package policyrepo

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/belladonna-dev/belladonna/internal/gitfixture"
)

type approver struct {
	name   string
	signer signature.Signer
	priv   *ecdsa.PrivateKey
}

func newApprover(t *testing.T, name string) approver {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadECDSASignerVerifier(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return approver{name: name, signer: s, priv: priv}
}

// writeKey puts a's public key in dir, as a certificate valid until
// notAfter when that is set.
func (a approver) writeKey(t *testing.T, dir string, notAfter time.Time) {
	t.Helper()
	var blk *pem.Block
	if notAfter.IsZero() {
		der, _ := x509.MarshalPKIXPublicKey(&a.priv.PublicKey)
		blk = &pem.Block{Type: "PUBLIC KEY", Bytes: der}
	} else {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: a.name},
			NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &a.priv.PublicKey, a.priv)
		if err != nil {
			t.Fatal(err)
		}
		blk = &pem.Block{Type: "CERTIFICATE", Bytes: der}
	}
	if err := os.WriteFile(filepath.Join(dir, a.name+".pem"), pem.EncodeToMemory(blk), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestApprovalsVerifyAndEachBadCaseFails(t *testing.T) {
	g := gitfixture.New(t)
	c1 := g.Commit("ana", "one", map[string][]byte{"a/a.rego": []byte("package a\n")})
	c2 := g.Commit("ana", "two", map[string][]byte{"a/a.rego": []byte("package a\n\nx := 1\n")})
	r, _ := Open(g.Dir)
	ctx := context.Background()
	bo, cy, eve := newApprover(t, "bo"), newApprover(t, "cy"), newApprover(t, "eve")
	keys := t.TempDir()
	bo.writeKey(t, keys, time.Time{})
	cy.writeKey(t, keys, time.Now().Add(24*time.Hour))
	ks, err := LoadApprovalKeys(keys)
	if err != nil || len(ks) != 2 {
		t.Fatalf("keys %v %v", ks, err)
	}
	if _, err := r.VerifyApprovals(c2, ks, 1, time.Now()); !errors.Is(err, ErrNotApproved) {
		t.Fatalf("no approvals yet: %v", err)
	}
	for _, a := range []approver{bo, cy, bo} { // bo twice: counts once
		if _, _, err := r.Approve(ctx, c2, a.name, a.signer); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := r.VerifyApprovals(c2, ks, 2, time.Now())
	if err != nil || len(rep.Approvers) != 2 || len(rep.Approvals) != 3 {
		t.Fatalf("2 approvers: %v %+v", err, rep)
	}
	if _, err := r.VerifyApprovals(c2, ks, 3, time.Now()); !errors.Is(err, ErrNotApproved) || !strings.Contains(err.Error(), "2 valid from distinct approvers, 3 required") {
		t.Fatalf("3 required: %v", err)
	}
	// git itself reads the notes.
	if out, err := exec.Command("git", "-C", g.Dir, "notes", "--ref", "belladonna/approvals", "show", c2).Output(); err != nil || strings.Count(string(out), "\n") != 3 {
		t.Fatalf("git notes show: %v %q", err, out)
	}

	note, _ := r.readNote(ApprovalsRef, plumbing.NewHash(c2))
	lines := bytes.Split(bytes.TrimSpace(note), []byte("\n"))
	good := lines[0]
	var a Approval
	json.Unmarshal(good, &a)
	mutate := func(f func(*Approval)) []byte {
		b := a
		f(&b)
		out, _ := json.Marshal(b)
		return out
	}
	// An unrelated repository's approval, presented here.
	other := gitfixture.New(t)
	oc := other.Commit("zed", "root", map[string][]byte{"b.rego": []byte("package b\n")})
	or, _ := Open(other.Dir)
	if _, _, err := or.Approve(ctx, oc, "bo", bo.signer); err != nil {
		t.Fatal(err)
	}
	foreignNote, _ := or.readNote(ApprovalsRef, plumbing.NewHash(oc))
	_, _, _ = r.Approve(ctx, c1, "eve", eve.signer)
	c1Note, _ := r.readNote(ApprovalsRef, plumbing.NewHash(c1))

	for _, tc := range []struct {
		name string
		line []byte
		want string
	}{
		{"unknown key", bytes.TrimSpace(c1Note), "signed by unknown key"},
		{"unsigned", mutate(func(b *Approval) { b.Signature = nil }), "unsigned: refused"},
		{"pseudo signature", mutate(func(b *Approval) { b.Signature = []byte("approved") }), "does not verify"},
		{"altered statement", mutate(func(b *Approval) {
			b.Statement = bytes.Replace(b.Statement, []byte(`"bo"`), []byte(`"mallory"`), 1)
		}), "does not verify"},
		{"another commit", nil, "approves commit " + c2},
		{"another repository", bytes.TrimSpace(foreignNote), "approves a commit of repository"},
		{"reused nonce", append(append(bytes.Clone(good), '\n'), good...), "reuses nonce"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := c2
			content := tc.line
			if tc.name == "another commit" {
				target, content = c1, good // bo's approval of c2 placed on c1
			}
			who := object.Signature{Name: "t", Email: "t", When: time.Now()}
			if err := r.writeNote(ApprovalsRef, plumbing.NewHash(target), append(content, '\n'), who, "tamper"); err != nil {
				t.Fatal(err)
			}
			rep, err := r.VerifyApprovals(target, ks, 1, time.Now())
			if !errors.Is(err, ErrNotApproved) && tc.name != "reused nonce" {
				t.Fatalf("verified: %+v", rep)
			}
			last := rep.Approvals[len(rep.Approvals)-1]
			if last.Valid || !strings.Contains(last.Problem, tc.want) {
				t.Fatalf("problem %q, want %q (%+v)", last.Problem, tc.want, rep.Approvals)
			}
		})
	}
	t.Run("expired key", func(t *testing.T) {
		old := t.TempDir()
		cy.writeKey(t, old, time.Now().Add(-time.Hour))
		ks, _ := LoadApprovalKeys(old)
		r.writeNote(ApprovalsRef, plumbing.NewHash(c2), note, object.Signature{Name: "t", When: time.Now()}, "restore")
		rep, err := r.VerifyApprovals(c2, ks, 1, time.Now())
		if !errors.Is(err, ErrNotApproved) || !strings.Contains(rep.Approvals[1].Problem, "expired") {
			t.Fatalf("%v %+v", err, rep)
		}
	})
	t.Run("bad revision", func(t *testing.T) {
		if _, err := r.VerifyApprovals("nope", ks, 1, time.Now()); !errors.Is(err, ErrUnknownRevision) {
			t.Fatal(err)
		}
		if _, _, err := r.Approve(ctx, "nope", "bo", bo.signer); !errors.Is(err, ErrUnknownRevision) {
			t.Fatal(err)
		}
	})
}
