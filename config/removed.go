package config

import (
	"fmt"
	"strings"
)

// RemovedKey is a key that earlier versions (or their drafts) accepted and
// this one rejects with a pointer to its replacement. Most of them weakened
// security; silently ignoring them after an upgrade would leave an operator
// believing a setting still applies, so they are errors (ErrRemovedKey).
type RemovedKey struct {
	// Key is matched at any depth: a key in the file whose dotted path ends
	// with Key ("insecure_skip_auth" matches "server.insecure_skip_auth" and a
	// top-level "insecure_skip_auth"), because such keys were documented in
	// more than one place and users put them wherever they remembered.
	Key string
	// Since is the Belladonna version that stopped accepting the key.
	Since string
	// Reason says why it went.
	Reason string
	// Instead says what to use now, as an imperative sentence.
	Instead string
}

// message is the text of the problem reported for the key found at path.
func (r RemovedKey) message(path string) string {
	return fmt.Sprintf("key %s was removed in Belladonna %s: %s; %s", quoteKey(path), r.Since, r.Reason, r.Instead)
}

const legacyTokensInstead = "use server.authentication.mode: token with tokens_file (SHA-256 digests) instead"

// removedKeys never share a final segment sequence with a live key (a test
// checks), so a match here can never shadow a real setting.
var removedKeys = []RemovedKey{
	{
		Key:     "allow_legacy_tokens",
		Since:   "0.1",
		Reason:  "legacy unhashed tokens are no longer accepted",
		Instead: legacyTokensInstead,
	},
	{
		Key:     "legacy_tokens",
		Since:   "0.1",
		Reason:  "legacy unhashed tokens are no longer accepted",
		Instead: legacyTokensInstead,
	},
	{
		Key:     "authentication.tokens",
		Since:   "0.1",
		Reason:  "plaintext tokens in the configuration file are no longer accepted",
		Instead: "list the tokens' SHA-256 digests in server.authentication.tokens_file instead",
	},
	{
		Key:     "pseudo_signatures",
		Since:   "0.1",
		Reason:  "bundles must carry real signatures",
		Instead: "sign bundles with a key instead (belladonna bundle build --signing-key)",
	},
	{
		Key:     "insecure_skip_auth",
		Since:   "0.1",
		Reason:  "authentication can no longer be skipped implicitly",
		Instead: "set server.authentication.mode: none explicitly instead, and only with a loopback server.addr",
	},
	{
		Key:     "disable_chain",
		Since:   "0.1",
		Reason:  "the audit log is always hash-chained, so that a rewritten entry is detected",
		Instead: "remove the key",
	},
	{
		Key:     "decision_log.console",
		Since:   "0.1",
		Reason:  "decisions are no longer echoed to the console by a separate switch",
		Instead: "use log.level: debug for verbose console logs instead; decisions themselves go to the audit log (audit.enabled)",
	},
}

// maxRemovedDepth is the number of segments of the longest removed key.
var maxRemovedDepth = func() int {
	n := 0
	for _, r := range removedKeys {
		n = max(n, strings.Count(r.Key, ".")+1)
	}
	return n
}()

// RemovedKeys lists the keys that are rejected with ErrRemovedKey, for
// documentation and `belladonna config` style commands.
func RemovedKeys() []RemovedKey {
	out := make([]RemovedKey, len(removedKeys))
	copy(out, removedKeys)
	return out
}

// hasPathSuffix reports whether the dotted path ends with suffix on a segment
// boundary.
func hasPathSuffix(path, suffix string) bool {
	return path == suffix || strings.HasSuffix(path, "."+suffix)
}

// removedAt returns the removed key that the key at path matches.
func removedAt(path string) (RemovedKey, bool) {
	for _, r := range removedKeys {
		if hasPathSuffix(path, r.Key) {
			return r, true
		}
	}
	return RemovedKey{}, false
}

// removedWithin reports whether path is a section that exists only as the
// parent of removed keys (such as "decision_log"): its children must be
// checked against removedKeys rather than reported as one unknown key, so
// that "decision_log.console" gets its replacement message.
func removedWithin(path string) bool {
	for _, r := range removedKeys {
		prefix := r.Key
		for {
			i := strings.LastIndexByte(prefix, '.')
			if i < 0 {
				break
			}
			prefix = prefix[:i]
			if hasPathSuffix(path, prefix) {
				return true
			}
		}
	}
	return false
}
