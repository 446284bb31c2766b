package bbolt

import (
	"bytes"
	"encoding"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/raxx-app/rotabot/rotation"
)

// runMemo keeps the runs last read or written, decoded, each beside the bytes
// it stands for. A run is read back some fifty times in its life — every step,
// every destination's outcome and every gesture reads it in a transaction and
// writes it back — and decoding its JSON each time was the largest part of the
// machine time a run costs. An entry is used only when the bytes in the reading
// transaction are exactly its bytes, so the memo can never give a run other than
// the one stored, whatever was committed or rolled back since it was made; what
// it hands out is a copy the caller may change.
//
// The retired index has a memo of its own (retiredMemo).
type runMemo struct{ runs bounded[memoRun] }

// memoRuns is how many runs the memo keeps: the runs in flight at once, with room.
const memoRuns = 32

// memoRun is one entry. Neither part is changed once made.
type memoRun struct {
	raw []byte
	run *rotation.Run
}

// get returns a copy of the run stored as raw under k, if the memo has it.
func (m *runMemo) get(k, raw []byte) (*rotation.Run, bool) {
	e, ok := m.runs.get(string(k))
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	return plainCopy(e.run), true
}

// put keeps r as what raw decodes to, under k. raw must not change afterwards.
// A run the memo cannot copy as decoding would give it is forgotten instead.
func (m *runMemo) put(k, raw []byte, r *rotation.Run) {
	if !runsMemoable {
		return
	}
	c, ok := decodedCopy(r)
	if !ok {
		m.runs.forget(string(k))
		return
	}
	m.runs.put(string(k), memoRun{raw: raw, run: c}, memoRuns)
}

// retiredMemo keeps the retired index's entries last read or written, each as
// what RetiredBy reads of it (retiredPart) beside the exact bytes it stands for,
// with runMemo's rule: an entry is used only when the bytes in the reading
// transaction are its bytes. Every token pasted and every value written is
// checked against each of the secret's retired runs in turn, and decoding them
// all, every time, grew with the secret's history (0.9 ms for 125 runs).
type retiredMemo struct{ entries bounded[retiredEntry] }

// memoRetired is how many entries the retired memo keeps: a thousand runs'
// worth, some 900 bytes each.
const memoRetired = 1024

// retiredEntry is one entry of the retired memo: its bytes and retiredPart of it.
type retiredEntry struct {
	raw                                        []byte
	id, secret, digest, fingerprint, digestKey string
	state                                      rotation.State
	updated, revoked                           time.Time
	revokeAttempted, revokeSent, revokeStep    bool
	revokeState                                rotation.StepState
}

// get returns retiredPart of the entry stored as raw under k, if the memo has it.
func (m *retiredMemo) get(k, raw []byte) (*rotation.Run, bool) {
	e, ok := m.entries.get(string(k))
	if !ok || !bytes.Equal(e.raw, raw) {
		return nil, false
	}
	r := &rotation.Run{ID: e.id, Secret: e.secret, State: e.state, Updated: e.updated, RevokeAttempted: e.revokeAttempted,
		RevokeSent: e.revokeSent, OldDigest: e.digest, OldFingerprint: e.fingerprint, DigestKey: e.digestKey}
	if e.revokeStep {
		r.Steps = []rotation.StepRecord{{Name: rotation.StepRevoke, State: e.revokeState, Finished: e.revoked}}
	}
	return r, true
}

// put keeps part, which must be retiredPart of what raw decodes to, under k.
// raw must not change afterwards.
func (m *retiredMemo) put(k, raw []byte, part *rotation.Run) {
	e := retiredEntry{raw: raw, id: part.ID, secret: part.Secret, digest: part.OldDigest, fingerprint: part.OldFingerprint,
		digestKey: part.DigestKey, state: part.State, updated: asDecodedTime(part.Updated), revokeAttempted: part.RevokeAttempted, revokeSent: part.RevokeSent}
	if st := part.Step(rotation.StepRevoke); st != nil {
		e.revokeStep, e.revokeState, e.revoked = true, st.State, asDecodedTime(st.Finished)
	}
	m.entries.put(string(k), e, memoRetired)
}

// bounded is a map that keeps its newest entries, as many as put is told,
// the oldest going first; it is safe for concurrent use.
type bounded[V any] struct {
	mu    sync.Mutex
	m     map[string]V
	order []string // keys, oldest entry first
}

func (b *bounded[V]) get(k string) (V, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	v, ok := b.m[k]
	return v, ok
}

// put keeps v under k, and forgets the oldest entries past size.
func (b *bounded[V]) put(k string, v V, size int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil {
		b.m = map[string]V{}
	}
	if _, had := b.m[k]; !had {
		b.order = append(b.order, k)
		for len(b.order) > size {
			delete(b.m, b.order[0])
			b.order = b.order[1:]
		}
	}
	b.m[k] = v
}

func (b *bounded[V]) forget(k string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, had := b.m[k]; had {
		delete(b.m, k)
		b.order = deleteKey(b.order, k)
	}
}

func (b *bounded[V]) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

func deleteKey(keys []string, key string) []string {
	for i, k := range keys {
		if k == key {
			return append(keys[:i], keys[i+1:]...)
		}
	}
	return keys
}

// decodedCopy is a deep copy of r as decoding r's JSON gives it: nothing in it
// shares memory with r, times carry no monotonic reading and the location JSON
// gives them, an empty slice or map under omitempty is nil, a field JSON skips
// is zero. It reports false when it cannot promise that (a string that is not
// UTF-8, which JSON would change).
func decodedCopy(r *rotation.Run) (*rotation.Run, bool) {
	out := new(rotation.Run)
	ok := runCopier.asDecoded(reflect.ValueOf(out).Elem(), reflect.ValueOf(r).Elem())
	return out, ok
}

// plainCopy is a deep copy of r, which must be a decodedCopy already.
func plainCopy(r *rotation.Run) *rotation.Run {
	out := new(rotation.Run)
	runCopier.plain(reflect.ValueOf(out).Elem(), reflect.ValueOf(r).Elem())
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// copier copies values of one type into zero values of it: asDecoded as a JSON
// round trip gives them (false: it cannot), plain as they are, deeply. Each is
// made once per type, from the type alone, so a copy reads no struct tags.
type copier struct {
	asDecoded func(dst, src reflect.Value) bool
	plain     func(dst, src reflect.Value)
}

var runCopier = copierFor(reflect.TypeFor[rotation.Run](), map[reflect.Type]*copier{})

// flat reports whether a value of t holds no memory of its own to copy (no
// pointer, slice or map in it): assigning it copies it whole.
func flat(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return false
	case reflect.Struct:
		if t == timeType {
			return true
		}
		for i := range t.NumField() {
			if !flat(t.Field(i).Type) {
				return false
			}
		}
	case reflect.Array:
		return flat(t.Elem())
	}
	return true
}

// copierFor makes t's copier; t must be memoable. made holds the ones being
// made, for types that contain themselves.
func copierFor(t reflect.Type, made map[reflect.Type]*copier) *copier {
	if c := made[t]; c != nil {
		return c
	}
	c := &copier{}
	made[t] = c
	set := func(dst, src reflect.Value) { dst.Set(src) }
	switch {
	case t == timeType:
		c.asDecoded = func(dst, src reflect.Value) bool {
			dst.Set(reflect.ValueOf(asDecodedTime(src.Interface().(time.Time))))
			return true
		}
		c.plain = set
	case t.Kind() == reflect.String:
		c.asDecoded = func(dst, src reflect.Value) bool {
			dst.Set(src)
			return utf8.ValidString(src.String())
		}
		c.plain = set
	case t.Kind() == reflect.Pointer:
		elem := copierFor(t.Elem(), made)
		c.asDecoded = func(dst, src reflect.Value) bool {
			if src.IsNil() {
				return true
			}
			p := reflect.New(t.Elem())
			dst.Set(p)
			return elem.asDecoded(p.Elem(), src.Elem())
		}
		c.plain = func(dst, src reflect.Value) {
			if !src.IsNil() {
				p := reflect.New(t.Elem())
				dst.Set(p)
				elem.plain(p.Elem(), src.Elem())
			}
		}
	case t.Kind() == reflect.Slice:
		c.asDecoded, c.plain = sliceCopier(t, made)
	case t.Kind() == reflect.Map:
		c.asDecoded, c.plain = mapCopier(t, made)
	case t.Kind() == reflect.Struct:
		c.asDecoded, c.plain = structCopier(t, made)
	default: // numbers and booleans
		c.asDecoded = func(dst, src reflect.Value) bool { dst.Set(src); return true }
		c.plain = set
	}
	return c
}

// sliceCopier copies a slice of t element by element (a flat element type at
// once, for a plain copy).
func sliceCopier(t reflect.Type, made map[reflect.Type]*copier) (func(dst, src reflect.Value) bool, func(dst, src reflect.Value)) {
	elem, flatElem := copierFor(t.Elem(), made), flat(t.Elem())
	asDecoded := func(dst, src reflect.Value) bool {
		if src.IsNil() {
			return true
		}
		s := reflect.MakeSlice(t, src.Len(), src.Len())
		dst.Set(s)
		for i := range src.Len() {
			if !elem.asDecoded(s.Index(i), src.Index(i)) {
				return false
			}
		}
		return true
	}
	plain := func(dst, src reflect.Value) {
		if src.IsNil() {
			return
		}
		s := reflect.MakeSlice(t, src.Len(), src.Len())
		dst.Set(s)
		if flatElem {
			reflect.Copy(s, src)
			return
		}
		for i := range src.Len() {
			elem.plain(s.Index(i), src.Index(i))
		}
	}
	return asDecoded, plain
}

// mapCopier copies a map of t entry by entry (its keys are strings).
func mapCopier(t reflect.Type, made map[reflect.Type]*copier) (func(dst, src reflect.Value) bool, func(dst, src reflect.Value)) {
	elem := copierFor(t.Elem(), made)
	asDecoded := func(dst, src reflect.Value) bool {
		if src.IsNil() {
			return true
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		dst.Set(m)
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(t.Elem()).Elem()
			if !elem.asDecoded(v, it.Value()) || !utf8.ValidString(it.Key().String()) {
				return false
			}
			m.SetMapIndex(it.Key(), v)
		}
		return true
	}
	plain := func(dst, src reflect.Value) {
		if src.IsNil() {
			return
		}
		m := reflect.MakeMapWithSize(t, src.Len())
		dst.Set(m)
		for it := src.MapRange(); it.Next(); {
			v := reflect.New(t.Elem()).Elem()
			elem.plain(v, it.Value())
			m.SetMapIndex(it.Key(), v)
		}
	}
	return asDecoded, plain
}

// structCopier copies a struct field by field: the fields JSON reads and writes
// (an empty slice or map under omitempty stays nil), and for a plain copy, the
// whole struct at once when it is flat.
func structCopier(t reflect.Type, made map[reflect.Type]*copier) (func(dst, src reflect.Value) bool, func(dst, src reflect.Value)) {
	type field struct {
		i         int
		c         *copier
		omitEmpty bool // a slice or map JSON leaves out when empty
		deep      bool // not flat: the plain copy copies it field by field too
	}
	var fields []field
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" && opts == "" {
			continue // JSON neither writes nor reads it
		}
		k := f.Type.Kind()
		fields = append(fields, field{i: i, c: copierFor(f.Type, made),
			omitEmpty: hasOpt(opts, "omitempty") && (k == reflect.Slice || k == reflect.Map), deep: !flat(f.Type)})
	}
	asDecoded := func(dst, src reflect.Value) bool {
		for _, f := range fields {
			sv := src.Field(f.i)
			if f.omitEmpty && sv.Len() == 0 {
				continue
			}
			if !f.c.asDecoded(dst.Field(f.i), sv) {
				return false
			}
		}
		return true
	}
	if flat(t) {
		return asDecoded, func(dst, src reflect.Value) { dst.Set(src) }
	}
	// A plain copy is of a value asDecoded made: its skipped fields are zero
	// already, so the struct is assigned whole and its deep fields copied again.
	return asDecoded, func(dst, src reflect.Value) {
		dst.Set(src)
		for _, f := range fields {
			if f.deep {
				dv := dst.Field(f.i)
				dv.SetZero()
				f.c.plain(dv, src.Field(f.i))
			}
		}
	}
}

func hasOpt(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}

// asDecodedTime is t as its JSON (RFC 3339) decodes: no monotonic reading; UTC
// for a zero offset; the local zone when it has that offset at t, else a zone
// with no name at that offset (time.Parse's rule).
func asDecodedTime(t time.Time) time.Time {
	t = t.Round(0)
	_, off := t.Zone()
	if off == 0 {
		return t.UTC()
	}
	if _, local := t.In(time.Local).Zone(); local == off {
		return t.In(time.Local)
	}
	return t.In(time.FixedZone("", off))
}

// memoable reports whether t's values can be copied as decoding gives them:
// only plain data (no interface, channel or function, no field JSON reads
// through a method of its own, no unexported field but time.Time's). The run
// type is checked once; were it to gain such a field, runs would be decoded
// every time instead, which costs only time.
func memoable(t reflect.Type, seen map[reflect.Type]bool) bool {
	if t == timeType || seen[t] {
		return true
	}
	seen[t] = true
	if t.Implements(reflect.TypeFor[json.Unmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) ||
		t.Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) || reflect.PointerTo(t).Implements(reflect.TypeFor[encoding.TextUnmarshaler]()) ||
		t.Implements(reflect.TypeFor[json.Marshaler]()) || t.Implements(reflect.TypeFor[encoding.TextMarshaler]()) {
		return false
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice:
		return memoable(t.Elem(), seen)
	case reflect.Map:
		return t.Key().Kind() == reflect.String && memoable(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() || !memoable(f.Type, seen) {
				return false
			}
		}
		return true
	case reflect.Array, reflect.Interface, reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer, reflect.Uintptr:
		return false
	}
	return true
}

// runsMemoable is whether rotation.Run is plain data (memoable).
var runsMemoable = memoable(reflect.TypeFor[rotation.Run](), map[reflect.Type]bool{})
