package correlate

import "time"

// group is one window: the entries of one group key that a rule has seen
// within its window, oldest first, and the group's cooldown.
type group struct {
	key   string
	value string // the group_by value the rule sees as input.group
	by    string // the group_by field it came from

	slots     []*slot
	last      time.Time // newest entry time in the window
	coolUntil time.Time // the rule may fire again for this group from then on

	prev, next *group // LRU list of the rule, head = most recently touched
}

// trim drops entries older than cutoff from the front.
func (g *group) trim(cutoff time.Time) {
	i := 0
	for i < len(g.slots) && g.slots[i].time.Before(cutoff) {
		g.slots[i] = nil
		i++
	}
	if i > 0 {
		g.slots = g.slots[i:]
	}
}

// push appends s and drops the oldest entries beyond max, reporting how many
// it dropped. A re-slice keeps the backing array; append re-allocates it
// once full, copying only the live entries, so a window never holds more
// than about twice max slots.
func (g *group) push(s *slot, max int) int {
	g.slots = append(g.slots, s)
	if s.time.After(g.last) {
		g.last = s.time
	}
	over := len(g.slots) - max
	if over <= 0 {
		return 0
	}
	for i := range over {
		g.slots[i] = nil
	}
	g.slots = g.slots[over:]
	return over
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
	r.unlink(g)
	delete(r.groups, g.key)
}
