package sink

import (
	"crypto/tls"
	"crypto/x509"
	"os"
)

// clientTLS builds the TLS client configuration from PEM files.
func (c Config) clientTLS(serverName string) (*tls.Config, error) {
	t := c.TLS
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: serverName}
	if t.ServerName != "" {
		conf.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, c.invalid("tls.ca_file", err.Error())
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, c.invalid("tls.ca_file", "no PEM certificate in "+t.CAFile)
		}
		conf.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, c.invalid("tls", "set both cert_file and key_file, or neither")
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, c.invalid("tls.cert_file", err.Error())
		}
		conf.Certificates = []tls.Certificate{cert}
	}
	return conf, nil
}
