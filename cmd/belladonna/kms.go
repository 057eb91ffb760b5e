package main

// KMS providers for checkpoint and approval keys given by URI. Vault is
// always linked; the cloud KMSs (awskms, gcpkms, azurekms) only with
// -tags cloudkms (kms_cloud.go): their SDKs add about 14 MB of resident
// memory to every process, sidecars included. Any other NAME:// URI, and
// the cloud ones in a default build, are served by a sigstore-kms-NAME
// plugin on PATH, as for cosign.
import (
	_ "github.com/sigstore/sigstore/pkg/signature/kms/hashivault"
)
