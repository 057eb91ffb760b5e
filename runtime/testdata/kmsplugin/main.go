// Command sigstore-kms-belladonnatest is a sigstore KMS plugin (the
// cliplugin protocol cosign uses for external KMSs) holding an ECDSA P-256
// key in the PEM file named by the key URI: belladonnatest:///path/key.pem.
// Tests put it on PATH to sign audit checkpoints through the same KMS code
// path as hashivault:// or awskms:// keys, with no cloud account. It counts
// signatures in path.count so a test can tell the KMS really signed.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/sigstore/sigstore/pkg/signature/kms/cliplugin/handler"
)

type localKMS struct {
	*signature.ECDSASignerVerifier
	path string
}

func (k localKMS) SignMessage(message io.Reader, opts ...signature.SignOption) ([]byte, error) {
	sig, err := k.ECDSASignerVerifier.SignMessage(message, opts...)
	if err == nil {
		f, ferr := os.OpenFile(k.path+".count", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if ferr == nil {
			f.Write([]byte("x"))
			f.Close()
		}
	}
	return sig, err
}

func (localKMS) CreateKey(context.Context, string) (crypto.PublicKey, error) {
	return nil, errors.New("keys are made by the test")
}

func (k localKMS) CryptoSigner(context.Context, func(error)) (crypto.Signer, crypto.SignerOpts, error) {
	return nil, nil, errors.New("not supported")
}

func (localKMS) SupportedAlgorithms() []string { return []string{"ecdsa-p256-sha256"} }
func (localKMS) DefaultAlgorithm() string      { return "ecdsa-p256-sha256" }

func main() {
	args, err := handler.GetPluginArgs(os.Args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	impl, err := load(args.InitOptions.KeyResourceID)
	if err != nil {
		handler.WriteErrorResponse(os.Stdout, err)
		return
	}
	if _, err := handler.Dispatch(os.Stdout, os.Stdin, args, impl); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
}

func load(path string) (localKMS, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return localKMS{}, err
	}
	priv, err := cryptoutils.UnmarshalPEMToPrivateKey(raw, cryptoutils.SkipPassword)
	if err != nil {
		return localKMS{}, err
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return localKMS{}, fmt.Errorf("%s: want an ECDSA key, got %T", path, priv)
	}
	sv, err := signature.LoadECDSASignerVerifier(ec, crypto.SHA256)
	if err != nil {
		return localKMS{}, err
	}
	return localKMS{ECDSASignerVerifier: sv, path: path}, nil
}
