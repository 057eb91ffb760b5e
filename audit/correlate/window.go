package correlate

import (
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

// group is one window: the entries of one group key that a rule has seen
// within its window, oldest first, and the group's cooldown.
type group struct {
	key   string
	value string // the group_by value the rule sees as input.group
	by    string // the group_by field it came from
	term  *ast.Term

	slots     []*slot
	bytes     int64     // approximate memory the slots hold
	last      time.Time // newest entry time in the window
	coolUntil time.Time // the rule may fire again for this group from then on

	prev, next *group // LRU list of the rule, head = most recently touched
}

// valueTerm is the group's value as the rules' input.group.
func (g *group) valueTerm() *ast.Term {
	if g.term == nil {
		g.term = ast.StringTerm(g.value)
	}
	return g.term
}

// trim drops entries older than cutoff from the front of g.
func (r *rule) trim(g *group, cutoff time.Time) {
	i := 0
	for i < len(g.slots) && g.slots[i].time.Before(cutoff) {
		i++
	}
	r.dropOldest(g, i)
}

// dropOldest drops the n oldest entries of g.
func (r *rule) dropOldest(g *group, n int) {
	for i := range n {
		g.bytes -= g.slots[i].size
		r.bytes -= g.slots[i].size
		g.slots[i] = nil
	}
	// A re-slice keeps the backing array; append re-allocates it once
	// full, copying only the live entries, so a window never holds more
	// than about twice its bound.
	g.slots = g.slots[n:]
}

// push appends s to g and drops the oldest entries beyond max, reporting
// how many it dropped.
func (r *rule) push(g *group, s *slot, max int) int {
	g.slots = append(g.slots, s)
	g.bytes += s.size
	r.bytes += s.size
	if s.time.After(g.last) {
		g.last = s.time
	}
	over := len(g.slots) - max
	if over <= 0 {
		return 0
	}
	r.dropOldest(g, over)
	return over
}

// shrink evicts least recently active groups other than g, then g's oldest
// entries, until the rule is within maxBytes, and reports how many groups
// and entries went. The newest entry always stays.
func (r *rule) shrink(g *group, maxBytes int64) (groups, entries int) {
	for r.bytes > maxBytes {
		switch {
		case r.tail != nil && r.tail != g:
			r.remove(r.tail)
			groups++
		case len(g.slots) > 1:
			r.dropOldest(g, 1)
			entries++
		default:
			return groups, entries
		}
	}
	return groups, entries
}

// lookup returns the group for key, creating it at the head of the LRU list.
// evicted is true when creating it pushed the least recently touched group
// out because the rule already held max groups.
func (r *rule) lookup(key, value, by string, max int) (g *group, evicted bool) {
	if g = r.groups[key]; g != nil {
		r.moveToFront(g)
		return g, false
	}
	if len(r.groups) >= max && r.tail != nil {
		r.remove(r.tail)
		evicted = true
	}
	g = &group{key: key, value: value, by: by}
	r.groups[key] = g
	r.pushFront(g)
	return g, evicted
}

// expire removes groups from the LRU tail whose every entry is older than
// cutoff and whose cooldown has passed: they can neither fire nor suppress.
func (r *rule) expire(cutoff, now time.Time) {
	for g := r.tail; g != nil && g.last.Before(cutoff) && !now.Before(g.coolUntil); g = r.tail {
		r.remove(g)
	}
}

func (r *rule) pushFront(g *group) {
	g.prev, g.next = nil, r.head
	if r.head != nil {
		r.head.prev = g
	}
	r.head = g
	if r.tail == nil {
		r.tail = g
	}
}

func (r *rule) unlink(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		r.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		r.tail = g.prev
	}
	g.prev, g.next = nil, nil
}

func (r *rule) moveToFront(g *group) {
	if r.head == g {
		return
	}
	r.unlink(g)
	r.pushFront(g)
}

func (r *rule) remove(g *group) {
	r.bytes -= g.bytes
	r.unlink(g)
	delete(r.groups, g.key)
}
