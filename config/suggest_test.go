package config

import "testing"

func TestLevenshtein(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "", 3},
		{"", "abc", 3},
		{"kitten", "sitting", 3},
		{"authentcation", "authentication", 1},
		{"fromat", "format", 2},
		{"addr", "addr", 0},
	} {
		if got := levenshtein(tc.a, tc.b); got != tc.want {
			t.Errorf("levenshtein(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		section, name, want string
	}{
		{"server", "authentcation", "server.authentication"},
		{"server", "max_request_byte", "server.max_request_bytes"},
		{"server.rate_limit", "requests_per_sec", "server.rate_limit.requests_per_second"}, // a few edits
		{"server.rate_limit", "rps", ""},                                                   // too far: no guess
		{"server.rate_limit", "requests_per_secnod", "server.rate_limit.requests_per_second"},
		{"log", "lvl", ""},                              // too short to guess
		{"log", "LEVEL", "log.level"},                   // case slip
		{"", "tls", "server.tls"},                       // right key, wrong section
		{"log", "enable", ""},                           // near misses elsewhere do not count
		{"", string(make([]byte, maxSuggestLen+1)), ""}, // absurd keys are not compared
	} {
		sec := schema
		if tc.section != "" {
			sec = lookup(tc.section)
		}
		if got := suggest(tc.name, sec); got != tc.want {
			t.Errorf("suggest(%q in %q) = %q, want %q", tc.name, tc.section, got, tc.want)
		}
	}
	// Inside a list item: the item's own keys only, by bare name.
	item := lookup("audit.sinks").item
	for _, tc := range []struct{ name, want string }{
		{"adress", "address"},
		{"Batch_Size", "batch_size"},
		{"flush", ""},
		{"enabled", ""}, // audit.enabled exists, but not in an item
		{"mode", ""},
	} {
		if got := suggest(tc.name, item); got != tc.want {
			t.Errorf("suggest(%q in a sink) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
