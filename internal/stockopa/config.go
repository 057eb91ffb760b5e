package stockopa

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Client describes a stock OPA agent pulling one signed bundle, for
// Server's configuration.
type Client struct {
	URL      string // the service: a bundle server or a registry
	OCI      bool   // the service is an OCI registry
	Token    string // bearer token, if any
	Bundle   string // the bundle's name (default "main")
	Resource string // e.g. /bundles/main or REGISTRY/REPO:TAG
	KeyPEM   []byte // the public key that verifies the signature
	KeyID    string // default "default"
	Status   bool   // report to the service with OPA's status API
	EdgeID   string // labels.edge_id, when set
}

// Config is the agent's YAML configuration: polling every second.
func (c Client) Config() string {
	var b strings.Builder
	if c.EdgeID != "" {
		fmt.Fprintf(&b, "labels:\n  edge_id: %s\n", c.EdgeID)
	}
	fmt.Fprintf(&b, "services:\n  svc:\n    url: %s\n", c.URL)
	if c.OCI {
		b.WriteString("    type: oci\n")
	}
	if c.Token != "" {
		fmt.Fprintf(&b, "    credentials:\n      bearer:\n        token: %s\n", c.Token)
	}
	name, keyID := c.Bundle, c.KeyID
	if name == "" {
		name = "main"
	}
	if keyID == "" {
		keyID = "default"
	}
	key, _ := json.Marshal(string(c.KeyPEM))
	fmt.Fprintf(&b, `bundles:
  %s:
    service: svc
    resource: %s
    polling:
      min_delay_seconds: 1
      max_delay_seconds: 1
    signing:
      keyid: %s
keys:
  %s:
    algorithm: ES256
    key: %s
`, name, c.Resource, keyID, keyID, key)
	if c.Status {
		b.WriteString("status:\n  service: svc\n")
	}
	return b.String()
}
