package config

// Config is the whole of belladonna.yaml. Every field has a default (see Default)
// and is documented in belladonna.example.yaml at the repository root.
type Config struct {
	// DataDir is where commands that keep state (audit log, last-good bundles) write.
	DataDir  string   `yaml:"data_dir" json:"data_dir"`
	Log      Log      `yaml:"log" json:"log"`
	Server   Server   `yaml:"server" json:"server"`
	Policies Policies `yaml:"policies" json:"policies"`
	Audit    Audit    `yaml:"audit" json:"audit"`
	Validate Validate `yaml:"validate" json:"validate"`
	// Repository is the git repository that holds the policies' history.
	Repository Repository `yaml:"repository" json:"repository"`
	// Bundles makes serve pull signed bundles instead of loading policies.
	Bundles Bundles `yaml:"bundles" json:"bundles"`
}

// Log configures the process's own structured logs (not the decision log).
type Log struct {
	Level  string `yaml:"level" json:"level"`   // debug|info|warn|error
	Format string `yaml:"format" json:"format"` // text|json
}

// Server configures the decision API (`belladonna serve`).
type Server struct {
	// Addr is host:port with a numeric port; the default accepts local
	// connections only.
	Addr string `yaml:"addr" json:"addr"`
	// MaxRequestBytes bounds a request body, so one client cannot make the
	// server buffer arbitrary input.
	MaxRequestBytes int64          `yaml:"max_request_bytes" json:"max_request_bytes"`
	Authentication  Authentication `yaml:"authentication" json:"authentication"`
	// ResultCache bounds the cache of results of deterministic paths
	// (entries; 0 turns it off).
	ResultCache int `yaml:"result_cache" json:"result_cache"`
	// ExtAuthz serves Envoy's ext_authz gRPC API.
	ExtAuthz  ExtAuthz  `yaml:"ext_authz" json:"ext_authz"`
	RateLimit RateLimit `yaml:"rate_limit" json:"rate_limit"`
	TLS       TLS       `yaml:"tls" json:"tls"`
}

// ExtAuthz configures the Envoy external authorization gRPC server.
type ExtAuthz struct {
	Addr string `yaml:"addr" json:"addr"` // host:port or unix:///path; empty: off
	Path string `yaml:"path" json:"path"` // the decision asked for
}

// Authentication of decision API clients.
type Authentication struct {
	// Mode is none or token (bearer tokens, as OPA's --authentication=token).
	Mode string `yaml:"mode" json:"mode"`
	// TokensFile lists accepted tokens as SHA-256 hex digests, one per line.
	TokensFile string `yaml:"tokens_file" json:"tokens_file"`
}

// RateLimit bounds the decision API's request rate (token bucket, whole server).
type RateLimit struct {
	// Enabled turns the limit on; RequestsPerSecond and Burst are checked only then.
	Enabled           bool    `yaml:"enabled" json:"enabled"`
	RequestsPerSecond float64 `yaml:"requests_per_second" json:"requests_per_second"`
	Burst             int     `yaml:"burst" json:"burst"`
}

// TLS for the decision API. Empty CertFile means plain HTTP.
type TLS struct {
	// CertFile and KeyFile are PEM files, set both or neither.
	CertFile string `yaml:"cert_file" json:"cert_file"`
	KeyFile  string `yaml:"key_file" json:"key_file"`
	// ClientCAFile, when set, requires client certificates signed by it (mTLS).
	ClientCAFile string `yaml:"client_ca_file" json:"client_ca_file"`
}

// Policies says what `serve` loads when no PATH is given on the command line.
type Policies struct {
	// Paths are policy/data directories or bundle tarballs; empty means the
	// embedded library.
	Paths        []string `yaml:"paths" json:"paths"`
	V0Compatible bool     `yaml:"v0_compatible" json:"v0_compatible"`
}

// Audit configures the decision log.
type Audit struct {
	// Enabled records every decision under DataDir.
	Enabled bool `yaml:"enabled" json:"enabled"`
	// TamperEvident hash-chains the entries so that a rewrite is detected.
	TamperEvident bool `yaml:"tamper_evident" json:"tamper_evident"`
	// Mask lists JSON pointers under /input whose values are replaced before a
	// decision is written, so credentials in inputs never reach the log.
	Mask []string `yaml:"mask" json:"mask"`
	// Decisions selects what serve records: all, denials (deny, error and
	// undefined outcomes only) or sample (denials plus SampleRate of the rest).
	Decisions  string  `yaml:"decisions" json:"decisions"`
	SampleRate float64 `yaml:"sample_rate" json:"sample_rate"`
	// OnFailure is what a decision does when it cannot be recorded: closed
	// (the request fails) or open (it is answered and the failure counted).
	OnFailure string `yaml:"on_failure" json:"on_failure"`
	// CheckpointKeyFile is the Ed25519 key (PKCS#8 PEM) that signs
	// checkpoints; empty means <data_dir>/audit/checkpoint.key, created on
	// first use.
	CheckpointKeyFile string `yaml:"checkpoint_key_file" json:"checkpoint_key_file"`
	// CheckpointKMSKey signs checkpoints with a KMS key instead, by sigstore
	// URI: hashivault://NAME, awskms:///ARN, gcpkms://projects/..., azurekms://
	// VAULT.vault.azure.net/KEY, or NAME://REF for a sigstore-kms-NAME plugin.
	CheckpointKMSKey string `yaml:"checkpoint_kms_key" json:"checkpoint_kms_key"`
	// Retention removes or archives whole old segments.
	Retention Retention `yaml:"retention" json:"retention"`
	// Encryption seals entry payloads at rest (AES-256-GCM).
	Encryption Encryption `yaml:"encryption" json:"encryption"`
	// Correlation raises incidents from Rego rules over windows of entries.
	Correlation Correlation `yaml:"correlation" json:"correlation"`
	// Sinks stream every entry to SIEMs and databases.
	Sinks []AuditSink `yaml:"sinks" json:"sinks"`
}

// Retention of audit segments. Durations are Go durations ("720h").
type Retention struct {
	MaxAge   string `yaml:"max_age" json:"max_age"`
	MaxBytes int64  `yaml:"max_bytes" json:"max_bytes"`
	// Types limits removal to segments holding only these entry types.
	Types      []string `yaml:"types" json:"types"`
	ArchiveDir string   `yaml:"archive_dir" json:"archive_dir"`
	// Interval is how often serve applies the policy.
	Interval string `yaml:"interval" json:"interval"`
}

// Encryption at rest of audit payloads, with per-subject keys for erasure.
type Encryption struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// KeyringFile holds the master keys (mode 0600); empty means
	// <data_dir>/audit/keyring.json, created on first use.
	KeyringFile string `yaml:"keyring_file" json:"keyring_file"`
	// SubjectsDir holds per-subject keys; empty means <data_dir>/audit/subjects.
	SubjectsDir string `yaml:"subjects_dir" json:"subjects_dir"`
}

// Correlation of audit entries into incidents.
type Correlation struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Rules are extra directories of correlation rules (Rego).
	Rules []string `yaml:"rules" json:"rules"`
}

// AuditSink is one destination of audit.sinks.
type AuditSink struct {
	Name string `yaml:"name" json:"name"`
	// Type is syslog, splunk, opa or postgres.
	Type string `yaml:"type" json:"type"`
	// Address is host:port for syslog.
	Address string `yaml:"address" json:"address"`
	// Format is cef or leef (syslog); Framing octet-counting or newline.
	Format  string `yaml:"format" json:"format"`
	Framing string `yaml:"framing" json:"framing"`
	// TLS for syslog (HTTP sinks follow the URL scheme).
	TLS        bool   `yaml:"tls" json:"tls"`
	CAFile     string `yaml:"ca_file" json:"ca_file"`
	CertFile   string `yaml:"cert_file" json:"cert_file"`
	KeyFile    string `yaml:"key_file" json:"key_file"`
	ServerName string `yaml:"server_name" json:"server_name"`
	// URL of a Splunk HEC endpoint or an OPA decision-log service.
	URL string `yaml:"url" json:"url"`
	// TokenFile holds the HEC or bearer token.
	TokenFile string `yaml:"token_file" json:"token_file"`
	Gzip      bool   `yaml:"gzip" json:"gzip"`
	// DSN of PostgreSQL (without password), PasswordFile its password.
	DSN          string `yaml:"dsn" json:"dsn"`
	PasswordFile string `yaml:"password_file" json:"password_file"`
	Table        string `yaml:"table" json:"table"`
	// BatchSize entries per send; FlushInterval the longest wait ("1s").
	BatchSize     int    `yaml:"batch_size" json:"batch_size"`
	FlushInterval string `yaml:"flush_interval" json:"flush_interval"`
}

// Validate configures `belladonna validate`.
type Validate struct {
	FailOn   string   `yaml:"fail_on" json:"fail_on"`   // error|warning|info
	Rules    []string `yaml:"rules" json:"rules"`       // extra validator rule directories
	Disable  []string `yaml:"disable" json:"disable"`   // rule names to skip
	Baseline string   `yaml:"baseline" json:"baseline"` // baseline file to filter findings
}

// Repository configures the policy repository (serve --repo and, later, the
// bundle server).
type Repository struct {
	// ProtectedBranches: a branch matching one is served only at commits
	// with enough valid signed approvals (belladonna approve).
	ProtectedBranches []ProtectedBranch `yaml:"protected_branches" json:"protected_branches"`
}

// ProtectedBranch is one protection rule; the first matching rule applies.
type ProtectedBranch struct {
	Pattern   string `yaml:"pattern" json:"pattern"`     // path.Match glob on the branch name
	Approvals int    `yaml:"approvals" json:"approvals"` // distinct valid approvers required
	KeysDir   string `yaml:"keys_dir" json:"keys_dir"`   // approvers' public keys (belladonna approvals verify --keys)
}

// Bundles configures an edge: serve pulls signed bundles from a bundle
// server or an OCI registry, verifies them and activates them.
type Bundles struct {
	Source          string `yaml:"source" json:"source"`         // http(s)://HOST/bundles/REF or oci://REGISTRY/REPO:TAG
	Name            string `yaml:"name" json:"name"`             // bundle name in status reports
	TokenFile       string `yaml:"token_file" json:"token_file"` // bearer token (or registry password)
	RegistryUser    string `yaml:"registry_username" json:"registry_username"`
	CAFile          string `yaml:"ca_file" json:"ca_file"`     // CA of the source's TLS certificate
	CertFile        string `yaml:"cert_file" json:"cert_file"` // client certificate (mutual TLS)
	KeyFile         string `yaml:"key_file" json:"key_file"`
	VerificationKey string `yaml:"verification_key" json:"verification_key"` // PEM public key of the bundle signer
	KeyID           string `yaml:"key_id" json:"key_id"`
	Scope           string `yaml:"scope" json:"scope"`
	AttestationKey  string `yaml:"attestation_key" json:"attestation_key"` // PEM public key: attestations required
	Repository      string `yaml:"repository" json:"repository"`           // expected in the attestation
	Branch          string `yaml:"branch" json:"branch"`
	MinDelay        string `yaml:"min_delay" json:"min_delay"`
	MaxDelay        string `yaml:"max_delay" json:"max_delay"`
	LongPoll        string `yaml:"long_poll" json:"long_poll"`
	Timeout         string `yaml:"timeout" json:"timeout"`
	MaxAge          string `yaml:"max_age" json:"max_age"`
	StatusURL       string `yaml:"status_url" json:"status_url"` // OPA status API endpoint (bundle server /status)
	StatusInterval  string `yaml:"status_interval" json:"status_interval"`
	EdgeID          string `yaml:"edge_id" json:"edge_id"`
}

// Default returns the configuration used when belladonna.yaml sets nothing.
func Default() Config {
	return Config{
		DataDir: "./belladonna-data",
		Log:     Log{Level: "info", Format: "text"},
		Server: Server{
			Addr:            "127.0.0.1:8181",
			MaxRequestBytes: 1 << 20,
			ResultCache:     100_000,
			ExtAuthz:        ExtAuthz{Path: "envoy/authz/allow"},
			Authentication:  Authentication{Mode: "none"},
			RateLimit:       RateLimit{Enabled: false, RequestsPerSecond: 1000, Burst: 2000},
		},
		Audit: Audit{
			Enabled:       true,
			TamperEvident: true,
			Mask:          []string{"/input/token", "/input/api_key", "/input/password", "/input/headers/authorization"},
			Decisions:     "all",
			SampleRate:    0.1,
			OnFailure:     "closed",
			Retention:     Retention{Interval: "1h"},
		},
		Validate: Validate{FailOn: "error"},
		Bundles:  Bundles{MinDelay: "10s", MaxDelay: "60s", Timeout: "30s", StatusInterval: "30s"},
	}
}
