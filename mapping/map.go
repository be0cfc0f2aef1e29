package mapping

import (
	"bytes"
	"math"
	"path"
	"strings"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
)

// kindMask has one bit per controllers.Kind.
type kindMask uint32

const numKinds = int(controllers.OSC) + 1

func bit(k controllers.Kind) kindMask { return 1 << k }

// Kind groups used by the validator and Apply.
const (
	noteKinds     = kindMask(1<<controllers.NoteOn | 1<<controllers.NoteOff)
	numberedKinds = noteKinds | 1<<controllers.Control | 1<<controllers.Program | 1<<controllers.PolyPressure
)

// action is what a target does.
type action uint8

const (
	actNote action = iota + 1
	actSet
	actToggle
	actTrigger
	actControl
	actBend
	actPressure
	actProgram
	actRecord
	actOp      // a fixed op on press: record-start/-stop, all-notes-off, ...
	actMIDIOut // an Output to a MIDI port (output.go)
	actOSCOut  // an Output to OSC clients (output.go)
)

// numMode says where a note, controller or program number comes from.
type numMode uint8

const (
	numFixed numMode = iota
	numEvent         // the event's Number (MIDI note, CC, program)
	numSeg           // a numeric segment of the OSC address ("$3")
	numArg           // an OSC argument (key_arg)
	numValue         // the source value through the curve (program only)
)

// when says which events fire a one-shot target.
type when uint8

const (
	whenPress   when = iota // a press: note-on, a value >= 0.5, a message without the argument
	whenRelease             // a release
	whenAny                 // every event the rule matches (MIDI channel-mode messages carry 0)
)

// fires reports whether a one-shot target fires for a press or release.
func (w when) fires(press bool) bool {
	switch w {
	case whenRelease:
		return !press
	case whenAny:
		return true
	}
	return press
}

// chAll marks a target that addresses all 16 channels.
const chAll = 0xff

// target is one compiled command template.
type target struct {
	act      action
	op       proto.Op // actOp
	chEvent  bool     // channel from the event
	ch       uint8    // fixed channel, or chAll
	module   proto.Name
	param    proto.Name
	curve    curve
	mode     numMode
	num      uint8 // fixed note / controller / program
	idx      uint8 // segment or argument index for numSeg / numArg
	trans    int16 // note transpose
	velValue bool  // velocity from the source value
	vel      float64
	value    float64 // trigger value
	latch    int     // latch slot, -1 if none
	when     when
	ownInput bool // arg or in given on the target: read the event again
	arg      uint8
	hasIn    bool
	inLo     float64
	inHi     float64
	onOff    [2]float64
	out      *outSpec // actMIDIOut, actOSCOut
}

// rule is one compiled [[rule]]: a filter and its targets.
type rule struct {
	name    string
	kinds   kindMask
	device  string // lower-case substring; "" = any
	addr    []byte // OSC address pattern; nil = any
	literal bool   // addr holds no pattern characters
	prefix  []byte // addr up to its first pattern character: a quick reject
	nseg    int    // addr's segment count
	chLo    uint8
	chHi    uint8
	noteLo  uint8
	noteHi  uint8
	ccLo    uint8
	ccHi    uint8
	progLo  uint8
	progHi  uint8
	hasVal  bool
	valLo   float64
	valHi   float64
	arg     uint8
	hasIn   bool
	inLo    float64
	inHi    float64
	final   bool
	targets []target
}

// Map is one compiled map file: an ordered list of rules, each a filter on
// controller events and the commands it produces. A Map is immutable once
// Compile returns it, so any number of goroutines may call its methods at
// once; reloading builds a new Map.
type Map struct {
	name    string // file base name: the identity used for layering
	file    string // where it was read from, for messages
	desc    string
	enabled bool
	rules   []rule
	byKind  [numKinds][]uint16
	exact   map[string][]uint16 // OSC rules by literal address
	pattern []uint16            // OSC rules with a pattern or no address
	latches int
	device  bool // some rule filters on the device name
}

// Name returns the map's file name ("generic-keyboard.toml"): a user file
// with the same name replaces a shipped one.
func (m *Map) Name() string { return m.name }

// File returns where the map was read from, as used in error messages.
func (m *Map) File() string { return m.file }

// Description returns the [map] description.
func (m *Map) Description() string { return m.desc }

// Enabled reports whether the map takes part in a Set ([map] enabled).
func (m *Map) Enabled() bool { return m.enabled }

// Len returns the number of rules.
func (m *Map) Len() int { return len(m.rules) }

// NeedsDevice reports whether some rule filters on the device name, so the
// caller must resolve names (see ApplyFrom).
func (m *Map) NeedsDevice() bool { return m.device }

// Apply appends the commands that ev produces to dst and returns it. Rules
// with a device filter do not match (the device name is unknown; see
// ApplyFrom). Latching toggles have no memory here: each press gives the
// "on" value (a Session remembers them).
//
// Apply is pure: no I/O, clock, goroutines or shared state. It allocates
// nothing when dst has room (a few commands per matching target; a target
// on channel "all" writes 16). Any goroutine may call it.
func (m *Map) Apply(ev *controllers.Event, dst []proto.Command) []proto.Command {
	dst, _ = m.apply(ev, "", nil, dst, nil)
	return dst
}

// ApplyFrom is Apply for an event from the named device (a MIDI port name,
// an OSC client's address): rules with a device filter match when their
// text is a case-insensitive substring of device.
func (m *Map) ApplyFrom(ev *controllers.Event, device string, dst []proto.Command) []proto.Command {
	dst, _ = m.apply(ev, device, nil, dst, nil)
	return dst
}

// ApplyOut is ApplyFrom that also appends the output actions of the
// midi-out and osc-out targets to out (Apply and ApplyFrom leave them out).
// It is pure like Apply and allocates nothing when dst and out have room.
// Any goroutine.
func (m *Map) ApplyOut(ev *controllers.Event, device string, dst []proto.Command, out []Output) ([]proto.Command, []Output) {
	dst, _ = m.apply(ev, device, nil, dst, &out)
	return dst, out
}

// apply runs the rules in order; final reports that a rule with final =
// true matched, which stops later rules and maps. latches holds one bit per
// latch slot, or is nil. outs receives output actions, or is nil to skip
// them.
func (m *Map) apply(ev *controllers.Event, device string, latches []uint64, dst []proto.Command, outs *[]Output) (out []proto.Command, final bool) {
	if int(ev.Kind) >= numKinds || ev.Kind == controllers.KindNone {
		return dst, false
	}
	if ev.Kind != controllers.OSC {
		for _, i := range m.byKind[ev.Kind] {
			if dst, final = m.fire(i, ev, nil, device, latches, dst, outs); final {
				return dst, true
			}
		}
		return dst, false
	}
	a := oscAddr{b: ev.Addr[:min(int(ev.AddrLen), len(ev.Addr))]}
	a.pattern = hasPatternChars(a.b)
	a.nseg = countSegments(a.b)
	if a.pattern {
		// The client sent a pattern: OSC semantics match it against every
		// rule's literal address. Checked first, so a malformed one
		// matches nothing.
		if checkPattern(a.b) != "" {
			return dst, false
		}
		for i := range m.rules {
			if m.rules[i].kinds&bit(controllers.OSC) == 0 {
				continue
			}
			if dst, final = m.fire(uint16(i), ev, &a, device, latches, dst, outs); final {
				return dst, true
			}
		}
		return dst, false
	}
	// Rules with this exact address and pattern rules, merged in file order.
	exact := m.exact[string(a.b)] // no allocation: the compiler does not copy for a map index
	pat := m.pattern
	for len(exact) > 0 || len(pat) > 0 {
		var i uint16
		if len(pat) == 0 || (len(exact) > 0 && exact[0] < pat[0]) {
			i, exact = exact[0], exact[1:]
		} else {
			i, pat = pat[0], pat[1:]
		}
		if dst, final = m.fire(i, ev, &a, device, latches, dst, outs); final {
			return dst, true
		}
	}
	return dst, false
}

// oscAddr is an incoming OSC address, examined once per event.
type oscAddr struct {
	b       []byte
	pattern bool // the client sent a pattern
	nseg    int
}

// input is what a rule reads from an event.
type input struct {
	x     float64 // the raw source value (velocity, CC value, OSC argument)
	u     float64 // x normalised to 0..1
	has   bool    // the event carries a value (an OSC argument may be missing)
	junk  bool    // the OSC argument is there but is no value: ignore the message
	press bool    // a button press, note-on, or value >= 0.5
}

// fire applies rule i if it matches ev.
func (m *Map) fire(i uint16, ev *controllers.Event, a *oscAddr, device string, latches []uint64, dst []proto.Command, outs *[]Output) ([]proto.Command, bool) {
	r := &m.rules[i]
	if !r.matches(ev, a, device) {
		return dst, false
	}
	in, ok := r.read(ev)
	if !ok {
		return dst, false
	}
	for t := range r.targets {
		tg := &r.targets[t]
		if tg.ownInput {
			// This target reads another argument or scale (an XY pad's
			// second axis).
			tin := readInput(ev, tg.arg, tg.hasIn, tg.inLo, tg.inHi)
			if !tin.junk {
				dst = tg.emit(ev, &tin, latches, dst, outs)
			}
			continue
		}
		dst = tg.emit(ev, &in, latches, dst, outs)
	}
	return dst, r.final
}

// matches checks everything but the value filter; a is the examined
// address of an OSC event.
func (r *rule) matches(ev *controllers.Event, a *oscAddr, device string) bool {
	if r.kinds&bit(ev.Kind) == 0 {
		return false
	}
	if r.device != "" && !containsFold(device, r.device) {
		return false
	}
	switch ev.Kind {
	case controllers.OSC:
		switch {
		case r.addr == nil:
			return true
		case a.pattern:
			// An incoming pattern matches literal rule addresses; a rule
			// pattern only matches the very same pattern text.
			if r.literal {
				return matchAddress(a.b, r.addr)
			}
			return string(a.b) == string(r.addr)
		case r.literal:
			return string(a.b) == string(r.addr)
		}
		return a.nseg == r.nseg && bytes.HasPrefix(a.b, r.prefix) && matchAddress(r.addr, a.b)
	case controllers.NoteOn, controllers.NoteOff, controllers.PolyPressure:
		if ev.Number < r.noteLo || ev.Number > r.noteHi {
			return false
		}
	case controllers.Control:
		if ev.Number < r.ccLo || ev.Number > r.ccHi {
			return false
		}
	case controllers.Program:
		if ev.Number < r.progLo || ev.Number > r.progHi {
			return false
		}
	}
	ch := ev.Channel & 15
	return ch >= r.chLo && ch <= r.chHi
}

// read extracts the value; ok is false when the value filter rejects it.
func (r *rule) read(ev *controllers.Event) (input, bool) {
	in := readInput(ev, r.arg, r.hasIn, r.inLo, r.inHi)
	if in.junk || r.hasVal && (!in.has || in.x < r.valLo || in.x > r.valHi) {
		return in, false
	}
	return in, true
}

// readInput extracts the value of ev (OSC argument arg) and normalises it,
// through [inLo, inHi] when hasIn.
func readInput(ev *controllers.Event, arg uint8, hasIn bool, inLo, inHi float64) (in input) {
	norm := ev.Norm
	if norm != norm { // NaN
		norm = 0
	}
	in.has = true
	switch ev.Kind {
	case controllers.NoteOn, controllers.NoteOff:
		in.x, in.u = float64(ev.Raw), clamp01(norm)
	case controllers.PitchBend:
		in.x = float64(ev.Raw - 8192)
		in.u = clamp01((math.Max(-1, math.Min(1, norm)) + 1) / 2)
	case controllers.Program:
		in.x, in.u = float64(ev.Number), float64(ev.Number&127)/127
	case controllers.Control, controllers.Pressure, controllers.PolyPressure:
		in.x, in.u = float64(ev.Raw), clamp01(norm)
	case controllers.OSC:
		var st argState
		in.x, st = oscArg(ev, int(arg))
		in.has, in.junk = st == argValue, st == argJunk
		in.u = clamp01(in.x)
		if st == argMissing {
			in.u = 1 // a message without the argument is a press
		}
	default: // clock, start, stop, continue, sysex: a press
		in.x, in.u = 1, 1
	}
	if in.has && hasIn {
		in.u = clamp01((in.x - inLo) / (inHi - inLo))
	}
	switch ev.Kind {
	case controllers.NoteOn, controllers.NoteOff:
		in.press = ev.Kind == controllers.NoteOn && ev.Raw > 0
	case controllers.Program, controllers.Clock, controllers.Start, controllers.Stop,
		controllers.Continue, controllers.SysEx:
		in.press = true
	default:
		in.press = in.u >= 0.5
	}
	return in
}

// argState says what oscArg found.
type argState uint8

const (
	argValue   argState = iota // a usable number
	argMissing                 // no such argument, or nil: the message is a press
	argJunk                    // an argument that is not a value: the rule ignores the message
)

// oscArg returns argument i as a number: numbers as they are, true/false
// and impulse as 1/0/1, and the strings "on"/"off", "true"/"false",
// "yes"/"no" or a decimal number (the prototype sent "on" and "off").
func oscArg(ev *controllers.Event, i int) (float64, argState) {
	n := min(int(ev.NArgs), len(ev.Args))
	if i >= n {
		return 0, argMissing
	}
	a := &ev.Args[i]
	switch a.Type {
	case 'i', 'h', 'f', 'd', 'c':
		if math.IsNaN(a.F) {
			return 0, argJunk
		}
		return a.F, argValue
	case 'T', 'I':
		return 1, argValue
	case 'F':
		return 0, argValue
	case 'N':
		return 0, argMissing
	case 's', 'S':
		// Only the first string argument's text is kept in the event.
		for j := 0; j < i; j++ {
			if t := ev.Args[j].Type; t == 's' || t == 'S' {
				return 0, argJunk
			}
		}
		if v, ok := parseWord(ev.Str[:min(int(ev.StrLen), len(ev.Str))]); ok {
			return v, argValue
		}
	}
	return 0, argJunk
}

// parseWord reads an on/off word or a plain decimal number without
// allocating.
func parseWord(s []byte) (float64, bool) {
	if len(s) > 8 {
		return parseDecimal(s)
	}
	var lower [8]byte
	for i, c := range s {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(s)]) {
	case "on", "true", "yes":
		return 1, true
	case "off", "false", "no":
		return 0, true
	}
	return parseDecimal(s)
}

// parseDecimal parses [+-]digits[.digits]; anything else is no value.
func parseDecimal(s []byte) (float64, bool) {
	if len(s) == 0 || len(s) > 32 {
		return 0, false
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	var v, scale float64 = 0, 0
	digits := 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			v = v*10 + float64(c-'0')
			if scale != 0 {
				scale *= 10
			}
			digits++
		case c == '.' && scale == 0:
			scale = 1
		default:
			return 0, false
		}
	}
	if digits == 0 {
		return 0, false
	}
	if scale > 1 {
		v /= scale
	}
	if neg {
		v = -v
	}
	return v, true
}

// containsFold reports whether sub (already lower-case ASCII) occurs in s,
// ignoring ASCII case. It never allocates.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}

// emit appends the commands of target t for input in (or, for an output
// target, its Output to *outs when outs is not nil).
func (t *target) emit(ev *controllers.Event, in *input, latches []uint64, dst []proto.Command, outs *[]Output) []proto.Command {
	var c proto.Command
	switch t.act {
	case actMIDIOut, actOSCOut:
		if outs != nil {
			t.emitOut(ev, in, outs)
		}
		return dst
	case actNote:
		key, ok := t.number(ev, in)
		if !ok {
			return dst
		}
		k := int(key) + int(t.trans)
		if k < 0 || k > proto.MaxKey {
			return dst
		}
		c.Key = uint8(k)
		on := in.press
		vel := t.vel
		if t.velValue {
			vel = in.u
			if ev.Kind != controllers.NoteOn && ev.Kind != controllers.NoteOff {
				on = !in.has || in.u > 0 // velocity-sensitive pads: any value above 0 plays
				if !in.has {
					vel = 1
				}
			}
		}
		if on && vel > 0 {
			c.Op, c.Value = proto.OpNoteOn, clamp01(vel)
		} else {
			c.Op = proto.OpNoteOff
			if ev.Kind == controllers.NoteOff {
				c.Value = in.u // release velocity
			}
		}
	case actSet:
		if !in.has {
			return dst
		}
		c.Op, c.Module, c.Param = proto.OpSet, t.module, t.param
		c.Value = t.value01(in)
	case actToggle:
		on, ok := t.latched(in.press, latches)
		if !ok {
			return dst
		}
		c.Op, c.Module, c.Param = proto.OpSet, t.module, t.param
		c.Value = t.onOff[0]
		if on {
			c.Value = t.onOff[1]
		}
	case actTrigger:
		if !t.when.fires(in.press) {
			return dst
		}
		c.Op, c.Module, c.Param, c.Value = proto.OpSet, t.module, t.param, t.value
	case actControl:
		num, ok := t.number(ev, in)
		if !ok || !in.has {
			return dst
		}
		c.Op, c.Key, c.Value = proto.OpControl, num, t.value01(in)
	case actBend:
		if !in.has {
			return dst
		}
		c.Op, c.Value = proto.OpPitchBend, t.value01(in)
		if ev.Kind == controllers.PitchBend && t.curve.kind == curveLinear && t.curve.steps == 0 &&
			t.curve.lo == -1 && t.curve.hi == 1 {
			c.Value = math.Max(-1, math.Min(1, ev.Norm)) // exact pass-through
			if c.Value != c.Value {
				c.Value = 0
			}
		}
	case actPressure:
		if !in.has {
			return dst
		}
		c.Op, c.Value = proto.OpPressure, t.value01(in)
		if ev.Kind == controllers.PolyPressure {
			c.Flags, c.Key = proto.FlagPerNote, ev.Number&127
		}
	case actProgram:
		switch {
		case t.mode == numValue:
			v := math.Round(t.value01(in))
			if !in.has || !(v >= 0 && v <= proto.MaxKey) {
				return dst
			}
			c.Key = uint8(v)
		case ev.Kind == controllers.Program && t.mode == numEvent:
			c.Key = ev.Number & 127
		default:
			num, ok := t.number(ev, in)
			if !ok || !t.when.fires(in.press) {
				return dst
			}
			c.Key = num
		}
		c.Op = proto.OpProgram
	case actRecord:
		on, ok := t.latched(in.press, latches)
		if !ok {
			return dst
		}
		c.Op = proto.OpRecordStop
		if on {
			c.Op = proto.OpRecordStart
		}
	case actOp:
		if !t.when.fires(in.press) {
			return dst
		}
		c.Op, c.Module = t.op, t.module
	default:
		return dst
	}
	if c.Value != c.Value || math.IsInf(c.Value, 0) {
		return dst
	}
	switch {
	case t.ch == chAll && t.act != actNote:
		for ch := uint8(0); ch < 16; ch++ {
			c.Channel = ch
			dst = append(dst, c)
		}
		return dst
	case t.chEvent:
		c.Channel = ev.Channel & 15
	default:
		c.Channel = t.ch & 15
	}
	return append(dst, c)
}

// value01 evaluates the curve for in (or passes the raw value for curve
// "none").
func (t *target) value01(in *input) float64 {
	if t.curve.kind == curveNone {
		return clampRange(in.x, t.curve.lo, t.curve.hi)
	}
	return t.curve.eval(in.u)
}

// latched returns the switch position after a press or release: a plain
// switch follows the press; a latch flips on each press and ignores
// releases. ok is false when nothing changes.
func (t *target) latched(press bool, latches []uint64) (on, ok bool) {
	if t.latch < 0 {
		return press, true
	}
	if !press {
		return false, false
	}
	if latches == nil || t.latch/64 >= len(latches) {
		return true, true
	}
	w, b := t.latch/64, uint64(1)<<(t.latch%64)
	latches[w] ^= b
	return latches[w]&b != 0, true
}

// number returns the note, controller or program number.
func (t *target) number(ev *controllers.Event, in *input) (uint8, bool) {
	switch t.mode {
	case numEvent:
		return ev.Number & 127, true
	case numSeg:
		addr := ev.Addr[:min(int(ev.AddrLen), len(ev.Addr))]
		v, ok := parseDecimal(segment(addr, int(t.idx)))
		if !ok || v != math.Trunc(v) || v < 0 || v > 127 {
			return 0, false
		}
		return uint8(v), true
	case numArg:
		v, st := oscArg(ev, int(t.idx))
		if st != argValue {
			return 0, false
		}
		v = math.Round(v)
		if v < 0 || v > 127 {
			return 0, false
		}
		return uint8(v), true
	}
	return t.num, true
}

// baseName is the layering identity of a file path.
func baseName(file string) string {
	file = strings.ReplaceAll(file, "\\", "/")
	return path.Base(file)
}
