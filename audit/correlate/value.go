package correlate

import (
	"bytes"
	"strconv"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/belladonna-dev/belladonna/audit"
)

// slot is an entry as the rules see it, built once and shared by every
// window that holds the entry. Windows keep slots, never the audit.Entry.
type slot struct {
	index uint64
	time  time.Time
	term  *ast.Term // the entry as a JSON object
	size  int64     // approximate bytes held, for the memory bound
}

// Memory estimate of a slot: a fixed part for the entry object and its
// scalars, and a factor for the parsed input and result, whose terms take
// several times the bytes of their JSON. Calibrated by TestSlotSizeEstimate.
const (
	slotOverhead   = 1024
	slotJSONFactor = 8
)

// view wraps the entry being processed and computes, at most once and only
// when a rule needs it, the parsed decision input, the resolved subject and
// the slot. Most entries match no rule and never pay for any of it.
type view struct {
	e    *audit.Entry
	keys *keyCache

	typ string

	inputDone bool
	input     ast.Value // nil: no input, erased, or not JSON

	subjectDone bool
	subject     string

	timeT *ast.Term
	slot  *slot
}

func newView(e *audit.Entry, keys *keyCache) *view {
	v := &view{e: e, typ: e.Type, keys: keys}
	if v.typ == "" && e.Kind == audit.KindDecision {
		v.typ = string(audit.KindDecision)
	}
	return v
}

func (v *view) parsedInput() ast.Value {
	if !v.inputDone {
		v.inputDone = true
		v.input = parseJSON(v.e.Input, v.keys)
	}
	return v.input
}

// subjectOf returns the entry's subject: Entry.Subject as the caller set it,
// else input.subject.id, else input.user from a decision's input.
func (v *view) subjectOf() string {
	if v.subjectDone {
		return v.subject
	}
	v.subjectDone = true
	v.subject = v.e.Subject
	if v.subject != "" || v.e.Kind != audit.KindDecision || len(v.e.Input) == 0 {
		return v.subject
	}
	obj, ok := v.parsedInput().(ast.Object)
	if !ok {
		return ""
	}
	if st := obj.Get(keySubject); st != nil {
		if s, ok := st.Value.(ast.Object); ok {
			if id := scalarString(s.Get(keyID)); id != "" {
				v.subject = id
				return id
			}
		}
	}
	v.subject = scalarString(obj.Get(keyUser))
	return v.subject
}

// scalarString renders a string or number term as a group key.
func scalarString(t *ast.Term) string {
	if t == nil {
		return ""
	}
	switch x := t.Value.(type) {
	case ast.String:
		return string(x)
	case ast.Number:
		return string(x)
	}
	return ""
}

// timeTerm is the entry's time as RFC 3339, the way audit.Entry marshals it.
func (v *view) timeTerm() *ast.Term {
	if v.timeT == nil {
		v.timeT = ast.StringTerm(v.e.Time.Format(time.RFC3339Nano))
	}
	return v.timeT
}

// field returns the value of a group_by or match field for this entry.
func (v *view) field(f fieldRef) string {
	e := v.e
	switch f.kind {
	case fieldKind:
		return string(e.Kind)
	case fieldType:
		return v.typ
	case fieldSeverity:
		return e.Severity
	case fieldOutcome:
		return e.Outcome
	case fieldPath:
		return e.Path
	case fieldRevision:
		return e.Revision
	case fieldCaller:
		return e.Caller
	case fieldSubject:
		return v.subjectOf()
	case fieldAttr:
		return e.Attrs[f.attr]
	}
	return ""
}

// getSlot builds the entry's JSON object directly as an ast.Object: the same
// keys audit.Entry marshals to, with the resolved subject, and with input
// and result parsed once rather than re-marshalled per rule and evaluation.
func (v *view) getSlot() *slot {
	if v.slot != nil {
		return v.slot
	}
	e := v.e
	kv := make([][2]*ast.Term, 0, 12)
	add := func(k *ast.Term, val *ast.Term) { kv = append(kv, [2]*ast.Term{k, val}) }
	str := func(k *ast.Term, s string) {
		if s != "" {
			add(k, ast.StringTerm(s))
		}
	}
	// Fields with few distinct values share their terms across entries.
	common := func(k *ast.Term, s string) {
		if s != "" {
			add(k, v.keys.term(s))
		}
	}
	add(keyIndex, ast.UIntNumberTerm(e.Index))
	add(keyTime, v.timeTerm())
	common(keyKind, string(e.Kind))
	common(keyType, v.typ)
	common(keySeverity, e.Severity)
	str(keyDecisionID, e.DecisionID)
	common(keyRevision, e.Revision)
	common(keyPath, e.Path)
	if in := v.parsedInput(); in != nil {
		add(keyInput, ast.NewTerm(in))
	}
	if res := parseJSON(e.Result, v.keys); res != nil {
		add(keyResult, ast.NewTerm(res))
	}
	common(keyOutcome, e.Outcome)
	if e.Defined {
		add(keyDefined, ast.InternedTerm(true))
	}
	if e.LatencyNS != 0 {
		add(keyLatencyNS, ast.IntNumberTerm(int(e.LatencyNS)))
	}
	common(keyCaller, e.Caller)
	str(keySubject, v.subjectOf())
	str(keyMessage, e.Message)
	str(keyError, e.Error)
	if len(e.Attrs) > 0 {
		attrs := make([][2]*ast.Term, 0, len(e.Attrs))
		for k, a := range e.Attrs {
			attrs = append(attrs, [2]*ast.Term{ast.StringTerm(k), ast.StringTerm(a)})
		}
		add(keyAttrs, ast.ObjectTerm(attrs...))
	}
	if e.Erased {
		add(keyErased, ast.InternedTerm(true))
	}
	size := slotOverhead + slotJSONFactor*(len(e.Input)+len(e.Result)) + 2*(len(e.Message)+len(e.Error))
	for k, a := range e.Attrs {
		size += 64 + 2*(len(k)+len(a))
	}
	v.slot = &slot{index: e.Index, time: e.Time, term: ast.ObjectTerm(kv...), size: int64(size)}
	return v.slot
}

// parseJSON parses a stored input or result. Anything that is not JSON is
// left out of the rule's view rather than failing the whole entry: the log
// already accepted it, and correlation must keep up with the log.
func parseJSON(raw []byte, keys *keyCache) ast.Value {
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	val, err := jsonToValue(raw, keys)
	if err != nil {
		return nil
	}
	return val
}

// Interned keys of the entry object and the rule input.
var (
	keyIndex      = ast.StringTerm("index")
	keyTime       = ast.StringTerm("time")
	keyKind       = ast.StringTerm("kind")
	keyType       = ast.StringTerm("type")
	keySeverity   = ast.StringTerm("severity")
	keyDecisionID = ast.StringTerm("decision_id")
	keyRevision   = ast.StringTerm("revision")
	keyPath       = ast.StringTerm("path")
	keyInput      = ast.StringTerm("input")
	keyResult     = ast.StringTerm("result")
	keyOutcome    = ast.StringTerm("outcome")
	keyDefined    = ast.StringTerm("defined")
	keyLatencyNS  = ast.StringTerm("latency_ns")
	keyCaller     = ast.StringTerm("caller")
	keySubject    = ast.StringTerm("subject")
	keyMessage    = ast.StringTerm("message")
	keyError      = ast.StringTerm("error")
	keyAttrs      = ast.StringTerm("attrs")
	keyErased     = ast.StringTerm("erased")
	keyID         = ast.StringTerm("id")
	keyUser       = ast.StringTerm("user")

	keyEvent  = ast.StringTerm("event")
	keyWindow = ast.StringTerm("window")
	keyNow    = ast.StringTerm("now")
	keyGroup  = ast.StringTerm("group")
)

// formatIndexes renders indexes as the incident's "indexes" attribute.
func formatIndexes(idx []uint64) string {
	b := make([]byte, 0, len(idx)*8)
	for i, n := range idx {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendUint(b, n, 10)
	}
	return string(b)
}
