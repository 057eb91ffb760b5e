package bundles

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/dsse"

	"github.com/belladonna-dev/belladonna/policyrepo"
)

// A bundle's attestation is an in-toto statement whose subject is the
// bundle's digest and whose predicate is SLSA provenance v1 (what was built
// from which commit of which repository, by what, with which approvals
// present), in a DSSE envelope signed with a sigstore signer (key file or
// KMS).

// In-toto and SLSA identifiers.
const (
	StatementType   = "https://in-toto.io/Statement/v1"
	ProvenanceType  = "https://slsa.dev/provenance/v1"
	BuildType       = "https://belladonna.dev/bundle-build/v1"
	DSSEPayloadType = "application/vnd.in-toto+json"
)

// ErrAttestation wraps every attestation failure.
var ErrAttestation = errors.New("bundle attestation")

// Statement is an in-toto statement about one bundle.
type Statement struct {
	Type          string        `json:"_type"`
	Subject       []Subject     `json:"subject"`
	PredicateType string        `json:"predicateType"`
	Predicate     SLSAPredicate `json:"predicate"`
}

// Subject names an artifact by digest.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SLSAPredicate is SLSA provenance v1.
type SLSAPredicate struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition says what was built from what.
type BuildDefinition struct {
	BuildType            string             `json:"buildType"`
	ExternalParameters   ExternalParameters `json:"externalParameters"`
	InternalParameters   map[string]any     `json:"internalParameters,omitempty"`
	ResolvedDependencies []Dependency       `json:"resolvedDependencies"`
}

// ExternalParameters are the build's inputs.
type ExternalParameters struct {
	Repository  string   `json:"repository"`
	Revision    string   `json:"revision"`
	Branch      string   `json:"branch,omitempty"`
	Dir         string   `json:"dir,omitempty"`
	Entrypoints []string `json:"entrypoints,omitempty"`
	Optimize    int      `json:"optimize"`
}

// Dependency is a resolved input (the git commit).
type Dependency struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest"`
}

// RunDetails says who built it, when, and what came out.
type RunDetails struct {
	Builder    Builder      `json:"builder"`
	Metadata   RunMetadata  `json:"metadata"`
	Byproducts []Byproducts `json:"byproducts,omitempty"`
}

// Builder identifies the builder.
type Builder struct {
	ID string `json:"id"`
}

// RunMetadata is the build's time.
type RunMetadata struct {
	InvocationID string    `json:"invocationId,omitempty"`
	StartedOn    time.Time `json:"startedOn"`
	FinishedOn   time.Time `json:"finishedOn"`
}

// Byproducts are the bundle's files and the approvals stored for the
// commit when it was built (their validity is checked where it matters:
// protected branches).
type Byproducts struct {
	Name    string            `json:"name"`
	Digest  map[string]string `json:"digest,omitempty"`
	Content json.RawMessage   `json:"content,omitempty"`
}

// Approval is one approval found on the commit.
type Approval struct {
	Approver string    `json:"approver"`
	KeyID    string    `json:"key_id"`
	Time     time.Time `json:"time"`
}

// AttestInput is what the provenance records.
type AttestInput struct {
	Name        string // the bundle's file name
	Bundle      []byte
	Build       *Build
	Repository  string // policyrepo identity ("git:<root commit>")
	Revision    string // as asked for ("main", "v1.2", an id)
	Branch      string // the branch it denotes, if any
	Dir         string
	Entrypoints []string
	Optimize    int
	Builder     string
	Approvals   []Approval
	Started     time.Time
}

// Attest signs an in-toto statement about in.Bundle and returns the DSSE
// envelope (JSON).
func Attest(in AttestInput, signer signature.Signer) ([]byte, error) {
	st, err := statement(in)
	if err != nil {
		return nil, err
	}
	payload, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAttestation, err)
	}
	env, err := dsse.WrapSigner(signer, DSSEPayloadType).SignMessage(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("%w: signing: %w", ErrAttestation, err)
	}
	return env, nil
}

func statement(in AttestInput) (*Statement, error) {
	sum := sha256.Sum256(in.Bundle)
	files, err := fileDigests(in.Bundle)
	if err != nil {
		return nil, err
	}
	approvals, err := json.Marshal(in.Approvals)
	if err != nil {
		return nil, err
	}
	by := []Byproducts{{Name: "approvals", Content: approvals}}
	for _, f := range files {
		by = append(by, Byproducts{Name: f.name, Digest: map[string]string{"sha256": f.sha256}})
	}
	return &Statement{
		Type:          StatementType,
		Subject:       []Subject{{Name: in.Name, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}}},
		PredicateType: ProvenanceType,
		Predicate: SLSAPredicate{
			BuildDefinition: BuildDefinition{
				BuildType: BuildType,
				ExternalParameters: ExternalParameters{Repository: in.Repository, Revision: in.Revision, Branch: in.Branch,
					Dir: in.Dir, Entrypoints: in.Entrypoints, Optimize: in.Optimize},
				InternalParameters:   map[string]any{"sequence": in.Build.Sequence, "commit_time": in.Build.CommitTime},
				ResolvedDependencies: []Dependency{{URI: "git+" + in.Repository, Digest: map[string]string{"gitCommit": in.Build.Commit}}},
			},
			RunDetails: RunDetails{
				Builder:    Builder{ID: in.Builder},
				Metadata:   RunMetadata{StartedOn: in.Started.UTC(), FinishedOn: time.Now().UTC()},
				Byproducts: by,
			},
		},
	}, nil
}

type fileDigest struct{ name, sha256 string }

// fileDigests lists the sha256 of every file in the bundle tarball.
func fileDigests(b []byte) ([]fileDigest, error) {
	var out []fileDigest
	err := eachFile(b, func(name string, r io.Reader) error {
		d := sha256.New()
		if _, err := io.Copy(d, io.LimitReader(r, 1<<30)); err != nil {
			return err
		}
		out = append(out, fileDigest{name, hex.EncodeToString(d.Sum(nil))})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrAttestation, err)
	}
	slices.SortFunc(out, func(a, b fileDigest) int { return strings.Compare(a.name, b.name) })
	return out, nil
}

// Expect is what an attestation must say.
type Expect struct {
	Repository string // "" accepts any
	Branch     string // "" accepts any
}

// VerifyAttestation checks the DSSE envelope's signature with verifier, that
// its statement is about exactly this bundle (sha256), and that it was built
// from the expected repository and branch. It returns the statement.
func VerifyAttestation(envelope, bundleBytes []byte, verifier signature.Verifier, want Expect) (*Statement, error) {
	if err := dsse.WrapVerifier(verifier).VerifySignature(bytes.NewReader(envelope), nil); err != nil {
		return nil, fmt.Errorf("%w: the signature does not verify with this key: %w", ErrAttestation, err)
	}
	var env struct {
		PayloadType string `json:"payloadType"`
		Payload     string `json:"payload"`
	}
	if err := json.Unmarshal(envelope, &env); err != nil {
		return nil, fmt.Errorf("%w: malformed envelope: %w", ErrAttestation, err)
	}
	if env.PayloadType != DSSEPayloadType {
		return nil, fmt.Errorf("%w: payload type %q, want %q", ErrAttestation, env.PayloadType, DSSEPayloadType)
	}
	raw, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %w", ErrAttestation, err)
	}
	var st Statement
	if err := json.Unmarshal(raw, &st); err != nil {
		return nil, fmt.Errorf("%w: statement: %w", ErrAttestation, err)
	}
	if st.Type != StatementType || st.PredicateType != ProvenanceType {
		return nil, fmt.Errorf("%w: statement %s with predicate %s, want %s and %s", ErrAttestation, st.Type, st.PredicateType, StatementType, ProvenanceType)
	}
	sum := sha256.Sum256(bundleBytes)
	digest := hex.EncodeToString(sum[:])
	if len(st.Subject) != 1 || st.Subject[0].Digest["sha256"] != digest {
		var got []string
		for _, s := range st.Subject {
			got = append(got, s.Digest["sha256"])
		}
		return nil, fmt.Errorf("%w: it attests sha256 %s, the bundle is %s", ErrAttestation, strings.Join(got, ", "), digest)
	}
	p := st.Predicate.BuildDefinition.ExternalParameters
	if want.Repository != "" && p.Repository != want.Repository {
		return nil, fmt.Errorf("%w: built from repository %s, want %s", ErrAttestation, p.Repository, want.Repository)
	}
	if want.Branch != "" && p.Branch != want.Branch {
		return nil, fmt.Errorf("%w: built from branch %q, want %q", ErrAttestation, p.Branch, want.Branch)
	}
	return &st, nil
}

// Provenance gathers what the attestation of a bundle built from rev
// records: the repository's identity, the branch rev denotes, and the
// approvals stored for the commit.
func Provenance(repo *policyrepo.Repo, rev string, b *Build, opts BuildOptions, name string, bundleBytes []byte, started time.Time) (AttestInput, error) {
	identity, err := repo.Identity()
	if err != nil {
		return AttestInput{}, fmt.Errorf("%w: %w", ErrAttestation, err)
	}
	branch, err := repo.BranchOf(rev)
	if err != nil {
		return AttestInput{}, fmt.Errorf("%w: %w", ErrAttestation, err)
	}
	// With no trusted keys every approval is listed, none counted: the
	// provenance says what was there, protection decides what is valid.
	rep, err := repo.VerifyApprovals(b.Commit, nil, 0, time.Now())
	if err != nil {
		return AttestInput{}, fmt.Errorf("%w: reading approvals of %s: %w", ErrAttestation, b.Commit, err)
	}
	var approvals []Approval
	for _, a := range rep.Approvals {
		if a.Approver != "" {
			approvals = append(approvals, Approval{Approver: a.Approver, KeyID: a.KeyID, Time: a.Time})
		}
	}
	return AttestInput{Name: name, Bundle: bundleBytes, Build: b, Repository: identity, Revision: rev, Branch: branch,
		Dir: opts.Dir, Entrypoints: opts.Entrypoints, Optimize: opts.Optimize, Builder: opts.Builder, Approvals: approvals, Started: started}, nil
}
