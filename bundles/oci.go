package bundles

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/retry"
)

// A bundle in an OCI registry is an image manifest whose first
// tar+gzip layer is the bundle tarball, which is what OPA's OCI downloader
// takes. The same manifest also carries each .rego file as its own layer
// (and each data.json as a data layer) with Conftest's media types and
// file names, and Conftest's config type, so `conftest pull` gets the
// policies too. The attestation is a second
// manifest whose subject is the bundle's (OCI referrers; registries
// without the referrers API get oras's tag-schema fallback).

// OCI media types.
const (
	OCIConfigType      = "application/vnd.cncf.openpolicyagent.config.v1+json"
	OCIRegoLayerType   = "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego"
	OCIDataLayerType   = "application/vnd.cncf.openpolicyagent.data.layer.v1+json"
	OCIAttestationType = "application/vnd.in-toto+json"
	OCIDSSELayerType   = "application/vnd.dsse.envelope.v1+json"
)

// OCIRef is oci://REGISTRY/REPOSITORY:TAG.
type OCIRef struct {
	Registry, Repository, Tag string
}

// ParseOCIRef reads oci://REGISTRY/REPOSITORY:TAG (the tag is required:
// an edge follows a tag, as it follows a branch).
func ParseOCIRef(s string) (OCIRef, error) {
	rest, ok := strings.CutPrefix(s, "oci://")
	if !ok {
		return OCIRef{}, fmt.Errorf("OCI reference %q: want oci://REGISTRY/REPOSITORY:TAG", s)
	}
	slash := strings.Index(rest, "/")
	colon := strings.LastIndex(rest, ":")
	if slash <= 0 || colon < slash || colon == len(rest)-1 {
		return OCIRef{}, fmt.Errorf("OCI reference %q: want oci://REGISTRY/REPOSITORY:TAG", s)
	}
	r := OCIRef{Registry: rest[:slash], Repository: rest[slash+1 : colon], Tag: rest[colon+1:]}
	if _, err := remote.NewRepository(r.Registry + "/" + r.Repository + ":" + r.Tag); err != nil {
		return OCIRef{}, fmt.Errorf("OCI reference %q: %w", s, err)
	}
	return r, nil
}

func (r OCIRef) String() string { return "oci://" + r.Registry + "/" + r.Repository + ":" + r.Tag }

// OCIOptions say how to reach a registry.
type OCIOptions struct {
	// PlainHTTP talks HTTP instead of HTTPS; it is the default for a
	// loopback registry only.
	PlainHTTP  bool
	Username   string
	Password   string // or a token
	HTTPClient *http.Client
}

func (o OCIOptions) repository(r OCIRef) (*remote.Repository, error) {
	repo, err := remote.NewRepository(r.Registry + "/" + r.Repository)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r, err)
	}
	repo.PlainHTTP = o.PlainHTTP || isLoopback(r.Registry)
	base := o.HTTPClient
	if base == nil {
		base = retry.DefaultClient
	}
	client := &auth.Client{Client: base, Cache: auth.NewCache()}
	if o.Username != "" || o.Password != "" {
		cred := auth.Credential{Username: o.Username, Password: o.Password}
		if o.Username == "" {
			cred = auth.Credential{AccessToken: o.Password}
		}
		client.Credential = auth.StaticCredential(r.Registry, cred)
	}
	repo.Client = client
	return repo, nil
}

func isLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// PushResult says what was pushed.
type PushResult struct {
	Ref         OCIRef
	Manifest    ocispec.Descriptor
	Attestation *ocispec.Descriptor
}

// PushOCI pushes a bundle (and its attestation, when given) and tags it.
func PushOCI(ctx context.Context, ref OCIRef, bundleBytes, attestation []byte, o OCIOptions) (*PushResult, error) {
	if err := CheckTarball(bundleBytes, Limits{}); err != nil {
		return nil, err
	}
	repo, err := o.repository(ref)
	if err != nil {
		return nil, err
	}
	layers := []ocispec.Descriptor{}
	push := func(mediaType string, b []byte, title string) (ocispec.Descriptor, error) {
		d := content.NewDescriptorFromBytes(mediaType, b)
		if title != "" {
			d.Annotations = map[string]string{ocispec.AnnotationTitle: title}
		}
		if err := repo.Push(ctx, d, bytes.NewReader(b)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return d, fmt.Errorf("pushing %s to %s: %w", cmpTitle(title, mediaType), ref, err)
		}
		return d, nil
	}
	d, err := push(ocispec.MediaTypeImageLayerGzip, bundleBytes, "bundle.tar.gz")
	if err != nil {
		return nil, err
	}
	layers = append(layers, d)
	regos, err := regoFiles(bundleBytes)
	if err != nil {
		return nil, err
	}
	for _, f := range regos {
		typ := OCIRegoLayerType
		if !strings.HasSuffix(f.name, ".rego") {
			typ = OCIDataLayerType
		}
		d, err := push(typ, f.data, f.name)
		if err != nil {
			return nil, err
		}
		layers = append(layers, d)
	}
	cfg, err := push(OCIConfigType, []byte("{}"), "")
	if err != nil {
		return nil, err
	}
	// A fixed creation time keeps the manifest, and so its digest, the
	// same for the same bundle.
	fixed := map[string]string{ocispec.AnnotationCreated: time.Unix(0, 0).UTC().Format(time.RFC3339)}
	man, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, "", oras.PackManifestOptions{
		Layers: layers, ConfigDescriptor: &cfg, ManifestAnnotations: fixed})
	if err != nil {
		return nil, fmt.Errorf("pushing the bundle manifest to %s: %w", ref, err)
	}
	if err := repo.Tag(ctx, man, ref.Tag); err != nil {
		return nil, fmt.Errorf("tagging %s: %w", ref, err)
	}
	res := &PushResult{Ref: ref, Manifest: man}
	if attestation != nil {
		env, err := push(OCIDSSELayerType, attestation, "bundle.intoto.json")
		if err != nil {
			return nil, err
		}
		att, err := oras.PackManifest(ctx, repo, oras.PackManifestVersion1_1, OCIAttestationType, oras.PackManifestOptions{
			Subject: &man, Layers: []ocispec.Descriptor{env},
			ManifestAnnotations: map[string]string{ocispec.AnnotationCreated: time.Now().UTC().Format(time.RFC3339Nano)}})
		if err != nil {
			return nil, fmt.Errorf("pushing the attestation to %s: %w", ref, err)
		}
		res.Attestation = &att
	}
	return res, nil
}

func cmpTitle(title, mediaType string) string {
	if title != "" {
		return title
	}
	return mediaType
}

type namedFile struct {
	name string
	data []byte
}

// regoFiles lists the bundle's .rego and data.json files in tar order.
func regoFiles(b []byte) ([]namedFile, error) {
	var out []namedFile
	err := eachFile(b, func(name string, r io.Reader) error {
		if base := path.Base(name); !strings.HasSuffix(base, ".rego") && base != "data.json" {
			return nil
		}
		data, err := io.ReadAll(r)
		out = append(out, namedFile{name, data})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnsafe, err)
	}
	return out, nil
}

// ociFetcher pulls a tag; the ETag is the manifest digest.
type ociFetcher struct {
	ref      OCIRef
	repo     *remote.Repository
	maxBytes int64
}

func newOCIFetcher(opts PullOptions) (fetcher, error) {
	ref, err := ParseOCIRef(opts.Source)
	if err != nil {
		return nil, err
	}
	repo, err := OCIOptions{Username: opts.RegistryUsername, Password: opts.Token, HTTPClient: opts.HTTPClient}.repository(ref)
	if err != nil {
		return nil, err
	}
	return &ociFetcher{ref: ref, repo: repo, maxBytes: opts.MaxDownloadBytes}, nil
}

func (f *ociFetcher) fetch(ctx context.Context, etag string) (*fetched, error) {
	man, err := f.repo.Resolve(ctx, f.ref.Tag)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", f.ref, err)
	}
	if etag == man.Digest.String() {
		return nil, nil
	}
	layer, err := f.bundleLayer(ctx, man)
	if err != nil {
		return nil, err
	}
	if layer.Size > f.maxBytes {
		return nil, fmt.Errorf("%w: %s: the bundle layer is %d bytes, more than %d", ErrUnsafe, f.ref, layer.Size, f.maxBytes)
	}
	b, err := content.FetchAll(ctx, f.repo, layer)
	if err != nil {
		return nil, fmt.Errorf("downloading the bundle layer of %s: %w", f.ref, err)
	}
	out := &fetched{bytes: b, etag: man.Digest.String()}
	if out.attestation, err = f.attestation(ctx, man); err != nil {
		return nil, err
	}
	return out, nil
}

func (f *ociFetcher) manifest(ctx context.Context, d ocispec.Descriptor) (*ocispec.Manifest, error) {
	if d.Size > 4<<20 {
		return nil, fmt.Errorf("%w: %s: manifest of %d bytes", ErrUnsafe, f.ref, d.Size)
	}
	b, err := content.FetchAll(ctx, f.repo, d)
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %s of %s: %w", d.Digest, f.ref, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s of %s: %w", d.Digest, f.ref, err)
	}
	return &m, nil
}

// bundleLayer is the manifest's first tar+gzip layer, as OPA takes it
// (an image index is not followed: a bundle is not multi-platform).
func (f *ociFetcher) bundleLayer(ctx context.Context, d ocispec.Descriptor) (ocispec.Descriptor, error) {
	if d.MediaType != ocispec.MediaTypeImageManifest {
		return ocispec.Descriptor{}, fmt.Errorf("%s is a %s, want an OCI image manifest with a bundle layer", f.ref, d.MediaType)
	}
	m, err := f.manifest(ctx, d)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	for _, l := range m.Layers {
		if l.MediaType == ocispec.MediaTypeImageLayerGzip {
			return l, nil
		}
	}
	return ocispec.Descriptor{}, fmt.Errorf("%s has no %s layer (the bundle tarball)", f.ref, ocispec.MediaTypeImageLayerGzip)
}

// attestation is the newest in-toto referrer's DSSE envelope, or nil.
func (f *ociFetcher) attestation(ctx context.Context, subject ocispec.Descriptor) ([]byte, error) {
	var refs []ocispec.Descriptor
	err := f.repo.Referrers(ctx, subject, OCIAttestationType, func(page []ocispec.Descriptor) error {
		refs = append(refs, page...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the attestations of %s: %w", f.ref, err)
	}
	if len(refs) == 0 {
		return nil, nil
	}
	slices.SortFunc(refs, func(a, b ocispec.Descriptor) int {
		return strings.Compare(b.Annotations[ocispec.AnnotationCreated], a.Annotations[ocispec.AnnotationCreated])
	})
	m, err := f.manifest(ctx, refs[0])
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.MediaType == OCIDSSELayerType && l.Size <= 16<<20 {
			b, err := content.FetchAll(ctx, f.repo, l)
			if err != nil {
				return nil, fmt.Errorf("downloading the attestation of %s: %w", f.ref, err)
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("%s: attestation manifest %s has no %s layer", f.ref, refs[0].Digest, OCIDSSELayerType)
}
