package config

import "strings"

// maxSuggestLen skips suggestions for absurdly long keys: the distance is
// quadratic and no real key is that long.
const maxSuggestLen = 64

// suggest returns the path of the known key that name most likely meant, or "".
// Siblings in the same section win; failing that, a key of the same (or nearly
// the same) name elsewhere catches a right key put in the wrong section.
//
// Inside a list item only the item's own keys are candidates, and the
// suggestion is the bare key name ("address"): the item's path has an index
// the schema does not know, and a key from elsewhere in the file cannot
// belong in an item.
func suggest(name string, section *field) string {
	if len(name) > maxSuggestLen {
		return ""
	}
	name = strings.ToLower(name)
	best := closest(name, section.children, typoLimit(name))
	if section.isItem {
		if best != nil {
			return best.name
		}
		return ""
	}
	if best != nil {
		return best.path
	}
	// Elsewhere only an exact name counts: a near miss in another section
	// ("log.enable" -> "audit.enabled") would mislead more than help.
	if best := closest(name, schema.all(), 0); best != nil {
		return best.path
	}
	return ""
}

// typoLimit is how many edits still look like a typo of a name this long: a
// third of its length, at least 1 and at most 3 (so "lvl" suggests nothing
// rather than "level").
func typoLimit(name string) int { return min(max(len(name)/3, 1), 3) }

// closest returns the first candidate nearest to name within limit edits, or nil.
func closest(name string, candidates []*field, limit int) *field {
	var best *field
	bestDist := limit + 1
	for _, c := range candidates {
		if d := levenshtein(name, c.name); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// levenshtein is the classic edit distance over bytes (keys are ASCII), with
// one row of memory.
func levenshtein(a, b string) int {
	row := make([]int, len(b)+1)
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		prev := row[0] // row[i-1][j-1]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur := min(row[j]+1, row[j-1]+1, prev+cost)
			prev, row[j] = row[j], cur
		}
	}
	return row[len(b)]
}
