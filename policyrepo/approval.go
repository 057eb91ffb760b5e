package policyrepo

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/options"
)

// ApprovalType names the statement format.
const ApprovalType = "https://belladonna.dev/approval/v1"

// Statement is what an approver signs.
type Statement struct {
	Type       string    `json:"_type"`
	Repository string    `json:"repository"`
	Commit     string    `json:"commit"`
	Approver   string    `json:"approver"`
	Time       time.Time `json:"time"`
	Nonce      string    `json:"nonce"`
}

// Approval is a signed statement as stored in the approvals notes, one JSON
// object per line. Statement holds the exact bytes the signature covers.
type Approval struct {
	Statement json.RawMessage `json:"statement"`
	KeyID     string          `json:"key_id"`
	Signature []byte          `json:"signature"`
}

// KeyID names a public key: 16 hex digits of SHA-256 of its PKIX encoding.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("unsupported public key %T: %w", pub, err)
	}
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8]), nil
}

// Identity names the repository in approvals: its root commit ("git:<id>",
// following first parents from HEAD). Every clone and peer of a repository
// shares it, wherever it is hosted, so approvals travel with sync; an
// approval from an unrelated repository cannot be replayed here.
func (r *Repo) Identity() (string, error) {
	c, err := r.Resolve("HEAD")
	if err != nil {
		return "", err
	}
	for c.NumParents() > 0 {
		if c, err = c.Parent(0); err != nil {
			return "", fmt.Errorf("finding the root commit: %w", err)
		}
	}
	return "git:" + c.Hash.String(), nil
}

// Approve signs an approval of rev by approver with signer and appends it
// to the commit's approvals note. Nothing is written when signing fails.
func (r *Repo) Approve(ctx context.Context, rev, approver string, signer signature.Signer) (Statement, string, error) {
	c, err := r.Resolve(rev)
	if err != nil {
		return Statement{}, "", err
	}
	repo, err := r.Identity()
	if err != nil {
		return Statement{}, "", err
	}
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return Statement{}, "", err
	}
	st := Statement{Type: ApprovalType, Repository: repo, Commit: c.Hash.String(), Approver: approver,
		Time: time.Now().UTC().Truncate(time.Second), Nonce: hex.EncodeToString(nonce)}
	payload, err := json.Marshal(st)
	if err != nil {
		return st, "", err
	}
	pub, err := signer.PublicKey(options.WithContext(ctx))
	if err != nil {
		return st, "", fmt.Errorf("approval key: %w", err)
	}
	kid, err := KeyID(pub)
	if err != nil {
		return st, "", err
	}
	sig, err := signer.SignMessage(bytes.NewReader(payload), options.WithContext(ctx))
	if err != nil {
		return st, "", fmt.Errorf("signing the approval of %s: %w", c.Hash, err)
	}
	line, err := json.Marshal(Approval{Statement: payload, KeyID: kid, Signature: sig})
	if err != nil {
		return st, "", err
	}
	old, err := r.readNote(ApprovalsRef, c.Hash)
	if err != nil {
		return st, "", err
	}
	note := append(bytes.TrimRight(old, "\n"), '\n')
	if len(old) == 0 {
		note = note[:0]
	}
	note = append(append(note, line...), '\n')
	who := object.Signature{Name: approver, Email: approver, When: time.Now()}
	if err := r.writeNote(ApprovalsRef, c.Hash, note, who, "approve "+c.Hash.String()+" by "+approver); err != nil {
		return st, "", err
	}
	return st, kid, nil
}

// ApprovalKey is a key approvals may be signed with, from a PEM public key
// or certificate (whose validity bounds the key's).
type ApprovalKey struct {
	ID        string
	File      string
	Public    crypto.PublicKey
	NotBefore time.Time // zero: no bound
	NotAfter  time.Time
}

// LoadApprovalKeys reads every .pem, .pub and .crt file of dir.
func LoadApprovalKeys(dir string) ([]ApprovalKey, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("approval keys: %w", err)
	}
	var out []ApprovalKey
	for _, e := range ents {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".pem" && ext != ".pub" && ext != ".crt") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("approval key %s: %w", path, err)
		}
		blk, _ := pem.Decode(raw)
		if blk == nil {
			return nil, fmt.Errorf("approval key %s: no PEM block", path)
		}
		k := ApprovalKey{File: path}
		switch blk.Type {
		case "PUBLIC KEY":
			if k.Public, err = x509.ParsePKIXPublicKey(blk.Bytes); err != nil {
				return nil, fmt.Errorf("approval key %s: %w", path, err)
			}
		case "CERTIFICATE":
			cert, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("approval key %s: %w", path, err)
			}
			k.Public, k.NotBefore, k.NotAfter = cert.PublicKey, cert.NotBefore, cert.NotAfter
		default:
			return nil, fmt.Errorf("approval key %s: want a PUBLIC KEY or CERTIFICATE block, got %s", path, blk.Type)
		}
		if k.ID, err = KeyID(k.Public); err != nil {
			return nil, fmt.Errorf("approval key %s: %w", path, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// ApprovalCheck is the verdict on one stored approval.
type ApprovalCheck struct {
	Approver string    `json:"approver,omitempty"`
	KeyID    string    `json:"key_id,omitempty"`
	Time     time.Time `json:"time"`
	Valid    bool      `json:"valid"`
	Problem  string    `json:"problem,omitempty"`
}

// ApprovalReport is what VerifyApprovals found for a commit.
type ApprovalReport struct {
	Commit    string          `json:"commit"`
	Approvals []ApprovalCheck `json:"approvals"`
	// Approvers are the distinct approvers with a valid approval.
	Approvers []string `json:"approvers"`
}

// ErrNotApproved: fewer valid approvals than required.
var ErrNotApproved = errors.New("not enough valid approvals")

// VerifyApprovals checks every approval stored for rev against keys and
// returns ErrNotApproved (wrapped, with the count) when fewer than require
// distinct approvers hold a valid one. An approval is valid only if it is
// signed, by a known key valid at signing time and now, over a statement
// of this type for this commit and repository, with a nonce not seen before.
func (r *Repo) VerifyApprovals(rev string, keys []ApprovalKey, require int, now time.Time) (*ApprovalReport, error) {
	c, err := r.Resolve(rev)
	if err != nil {
		return nil, err
	}
	repo, err := r.Identity()
	if err != nil {
		return nil, err
	}
	note, err := r.readNote(ApprovalsRef, c.Hash)
	if err != nil {
		return nil, err
	}
	rep := &ApprovalReport{Commit: c.Hash.String(), Approvals: []ApprovalCheck{}, Approvers: []string{}}
	nonces := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(note))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		chk := checkApproval(sc.Bytes(), c.Hash, repo, keys, nonces, now)
		if chk.Problem != "" {
			chk.Problem = fmt.Sprintf("approval %d: %s", n, chk.Problem)
		}
		rep.Approvals = append(rep.Approvals, chk)
		if chk.Valid && !slices.Contains(rep.Approvers, chk.Approver) {
			rep.Approvers = append(rep.Approvers, chk.Approver)
		}
	}
	if len(rep.Approvers) < require {
		return rep, fmt.Errorf("%w for %s: %d valid from distinct approvers, %d required", ErrNotApproved, c.Hash.String()[:12], len(rep.Approvers), require)
	}
	return rep, nil
}

func checkApproval(line []byte, commit plumbing.Hash, repo string, keys []ApprovalKey, nonces map[string]bool, now time.Time) ApprovalCheck {
	var a Approval
	if err := json.Unmarshal(line, &a); err != nil {
		return ApprovalCheck{Problem: "malformed: " + err.Error()}
	}
	var st Statement
	if err := json.Unmarshal(a.Statement, &st); err != nil {
		return ApprovalCheck{KeyID: a.KeyID, Problem: "malformed statement: " + err.Error()}
	}
	chk := ApprovalCheck{Approver: st.Approver, KeyID: a.KeyID, Time: st.Time}
	fail := func(format string, args ...any) ApprovalCheck {
		chk.Problem = fmt.Sprintf(format, args...)
		return chk
	}
	if len(a.Signature) == 0 {
		return fail("unsigned: refused (only signed approvals count)")
	}
	i := slices.IndexFunc(keys, func(k ApprovalKey) bool { return k.ID == a.KeyID })
	if i < 0 {
		return fail("signed by unknown key %s", a.KeyID)
	}
	k := keys[i]
	v, err := signature.LoadVerifier(k.Public, crypto.SHA256)
	if err != nil {
		return fail("key %s: %v", k.ID, err)
	}
	if err := v.VerifySignature(bytes.NewReader(a.Signature), bytes.NewReader(a.Statement)); err != nil {
		return fail("signature does not verify with key %s (%s)", k.ID, filepath.Base(k.File))
	}
	switch {
	case st.Type != ApprovalType:
		return fail("statement type %q, want %q", st.Type, ApprovalType)
	case st.Repository != repo:
		return fail("approves a commit of repository %q, not %q", st.Repository, repo)
	case st.Commit != commit.String():
		return fail("approves commit %s, not %s", st.Commit, commit)
	case st.Approver == "" || st.Nonce == "":
		return fail("statement lacks approver or nonce")
	case !k.NotAfter.IsZero() && (st.Time.After(k.NotAfter) || now.After(k.NotAfter)):
		return fail("key %s (%s) expired on %s", k.ID, filepath.Base(k.File), k.NotAfter.Format(time.RFC3339))
	case !k.NotBefore.IsZero() && st.Time.Before(k.NotBefore):
		return fail("signed before key %s (%s) was valid (%s)", k.ID, filepath.Base(k.File), k.NotBefore.Format(time.RFC3339))
	case st.Time.After(now.Add(5 * time.Minute)):
		return fail("signed in the future (%s)", st.Time.Format(time.RFC3339))
	case nonces[st.Nonce]:
		return fail("reuses nonce %s of an earlier approval: a replay", st.Nonce)
	}
	nonces[st.Nonce] = true
	chk.Valid = true
	return chk
}

// String lists the distinct valid approvers.
func (r *ApprovalReport) String() string { return strings.Join(r.Approvers, ", ") }
