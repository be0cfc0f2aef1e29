package mapping

import (
	"bytes"
	"fmt"
	"math"
	"net/netip"
	"strings"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/dsp"
)

// OutKind says where an Output goes.
type OutKind uint8

// Output kinds.
const (
	OutMIDI OutKind = iota + 1 // a MIDI message to output ports (do = "midi-out")
	OutOSC                     // an OSC message to clients (do = "osc-out")
)

// Dest says which OSC clients an OSC Output goes to.
type Dest uint8

// OSC destinations.
const (
	// DestAll is every client and configured feedback host, except the
	// client that sent the event when it came from OSC (so a forwarded
	// message is not echoed to where it came from).
	DestAll Dest = iota
	// DestSender is the OSC client that sent the event.
	DestSender
	// DestHost is the fixed address Output.Host.
	DestHost
)

// Output is a message a map rule sends out of Chronus rather than to the
// synth: MIDI to output ports (LEDs, motor faders, external synths) or OSC to
// clients, so that Chronus bridges MIDI to OSC and back. Session.ApplyOut
// and Map.ApplyOut append them (Session.SyncOut the note-offs of a reload);
// the caller sends them (package mapping does no I/O). An Output is a plain value with fixed-size fields, so a slice of
// them is reused without allocating.
type Output struct {
	Kind OutKind

	// OutMIDI: the message, Len bytes of MIDI, for every output port whose
	// name contains Port, ignoring case ("" = every output port). Port is
	// lower-case.
	MIDI [3]byte
	Len  uint8
	Port string

	// OutOSC: the address, its arguments (their strings in Str, as in
	// controllers.Event) and where it goes.
	Addr    [controllers.MaxAddr]byte
	AddrLen uint8
	NArgs   uint8
	Args    [controllers.MaxArgs]controllers.Arg
	Str     [controllers.MaxStr]byte
	StrLen  uint8
	Dest    Dest
	Host    netip.AddrPort // DestHost

	// The event's origin: FromOSC says whether Source is an OSC client id
	// (for DestSender and DestAll) or a MIDI input.
	FromOSC bool
	Source  uint16
}

// Message returns the MIDI bytes of an OutMIDI Output.
func (o *Output) Message() []byte { return o.MIDI[:min(int(o.Len), len(o.MIDI))] }

// Address returns the OSC address (allocates).
func (o *Output) Address() string { return string(o.Addr[:o.AddrLen]) }

// String returns the first string argument (allocates).
func (o *Output) String() string { return string(o.Str[:o.StrLen]) }

// midiType is a midi-out target's message type.
type midiType uint8

const (
	midiEvent midiType = iota // the event itself, on the target's channel
	midiNote
	midiCC
	midiProgram
	midiBend
	midiPressure
)

var midiTypeNames = map[string]midiType{
	"event": midiEvent, "note": midiNote, "cc": midiCC, "control": midiCC,
	"program": midiProgram, "bend": midiBend, "pitch-bend": midiBend,
	"pressure": midiPressure, "aftertouch": midiPressure,
}

// oscArgs says what an osc-out target sends as arguments.
type oscArgs uint8

const (
	argsValue oscArgs = iota // one float: the position through range and curve
	argsInt                  // one int32: the same, rounded
	argsEvent                // the OSC event's own arguments
	argsNone                 // no argument
)

var oscArgNames = map[string]oscArgs{"value": argsValue, "float": argsValue, "int": argsInt, "event": argsEvent, "none": argsNone}

// outSpec is the compiled part of a midi-out or osc-out target that other
// targets do not need.
type outSpec struct {
	// midi-out
	port string
	typ  midiType
	vel  uint8 // fixed note velocity; 0 = from the value
	// osc-out
	addr      []byte // nil: the event's own address; may hold placeholder bytes (tmpl)
	tmpl      bool   // addr holds placeholders to fill from the event
	args      oscArgs
	dest      Dest
	host      netip.AddrPort
	eventAddr bool
}

// passKinds are the events a midi-out target can pass on as they are.
const passKinds = noteKinds | 1<<controllers.Control | 1<<controllers.PitchBend | 1<<controllers.Pressure |
	1<<controllers.PolyPressure | 1<<controllers.Program

// midiOut compiles a do = "midi-out" target.
func (c *compiler) midiOut(t table, r *rule, tg *target) {
	tg.act, tg.out = actMIDIOut, &outSpec{}
	o := tg.out
	if s, ok := c.str(t, "port"); ok {
		o.port = strings.ToLower(s)
	}
	if tg.ch == chAll {
		c.errf(t.at("channel"), `channel = "all" does not apply to do = "midi-out"; give "event" or 1..16`)
	}
	typ := "event"
	if s, ok := c.str(t, "type"); ok {
		typ = s
		k, known := midiTypeNames[s]
		if !known {
			c.errf(t.at("type"), `type must be "note", "cc", "program", "bend", "pressure" or "event", not %q`, s)
			return
		}
		o.typ = k
	} else if !t.has("type") && (r.kinds&^passKinds != 0 || r.kinds == 0) {
		c.errf(t.path, `do = "midi-out" needs type = "note", "cc", "program", "bend" or "pressure" (only MIDI note, control, bend, pressure and program events pass on as they are)`)
		return
	}
	notFor := func(keys ...string) {
		for _, k := range keys {
			if t.has(k) {
				c.errf(t.at(k), "%s does not apply to type = %q", k, typ)
			}
		}
	}
	switch o.typ {
	case midiEvent:
		notFor("number", "velocity", "range", "curve", "steps", "arg", "in")
		if r.kinds&^passKinds != 0 {
			c.errf(t.at("type"), `type = "event" passes MIDI note, control, bend, pressure and program events on as they are, but the rule matches other events`)
		}
	case midiNote:
		c.numberSource(t, "number", r, tg, false)
		if v, ok := c.integer(t, "velocity", 1, 127); ok {
			o.vel = uint8(v)
		}
		c.shape(t, tg, dsp.ParamNone, 0, 127, false)
	case midiCC:
		notFor("velocity")
		c.numberSource(t, "number", r, tg, false)
		c.shape(t, tg, dsp.ParamNone, 0, 127, false)
	case midiProgram:
		notFor("velocity")
		c.numberSource(t, "number", r, tg, true)
		if tg.mode == numValue {
			c.shape(t, tg, dsp.ParamNone, 0, 127, false)
		} else {
			notFor("range", "curve", "steps")
		}
	case midiBend:
		notFor("number", "velocity")
		// -8192..8192 maps the centre to 8192 and a bend event through
		// unchanged; the top (8192) is sent as 8191.
		c.shape(t, tg, dsp.ParamNone, -8192, 8192, false)
	case midiPressure:
		notFor("number", "velocity")
		c.shape(t, tg, dsp.ParamNone, 0, 127, false)
	}
}

// oscOut compiles a do = "osc-out" target.
func (c *compiler) oscOut(t table, r *rule, tg *target) {
	tg.act, tg.out = actOSCOut, &outSpec{}
	o := tg.out
	onlyOSC := r.kinds == bit(controllers.OSC)
	switch s, ok := c.str(t, "address"); {
	case !ok:
		if !t.has("address") {
			c.errf(t.path, `do = "osc-out" needs the address to send to, e.g. address = "/1/fader1", or "event" for the message's own address`)
		}
	case s == "event":
		o.eventAddr = true
		if !onlyOSC {
			c.errf(t.at("address"), `address = "event" sends on the OSC message's own address, but the rule does not match only OSC messages`)
		}
	default:
		c.oscAddress(t, r, o, s)
	}
	if s, ok := c.str(t, "args"); ok {
		a, known := oscArgNames[s]
		switch {
		case !known:
			c.errf(t.at("args"), `args must be "value", "int", "event" or "none", not %q`, s)
		case a == argsEvent && !onlyOSC:
			c.errf(t.at("args"), `args = "event" passes the OSC message's arguments on, but the rule does not match only OSC messages`)
		}
		o.args = a
	}
	if s, ok := c.str(t, "dest"); ok {
		switch s {
		case "all":
			o.dest = DestAll
		case "sender":
			o.dest = DestSender
			if !onlyOSC {
				c.errf(t.at("dest"), `dest = "sender" answers the OSC client that sent the message, but the rule does not match only OSC messages`)
			}
		default:
			ap, err := netip.ParseAddrPort(s)
			if err != nil || ap.Port() == 0 {
				c.errf(t.at("dest"), `dest must be "all", "sender" or an IP address and port like "192.168.1.20:9000", not %q`, s)
			}
			o.dest, o.host = DestHost, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		}
	}
	if o.args == argsValue || o.args == argsInt {
		// Any output range is fine for OSC: the default is TouchOSC's 0..1.
		lo, hi := 0.0, 1.0
		if a, b, ok := rawPair(t, "range"); ok {
			lo, hi = math.Min(a, b), math.Max(a, b)
		}
		c.shape(t, tg, dsp.ParamNone, lo, hi, false)
		return
	}
	for _, k := range []string{"range", "curve", "steps"} {
		if t.has(k) {
			c.errf(t.at(k), `%s only applies to args = "value" or "int"`, k)
		}
	}
}

// Placeholders of an osc-out address. The compiled address keeps each as
// one of these bytes: an address is printable ASCII, so they cannot clash.
const (
	phNumber  = 1 // {number}: the event's note, controller or program number, 0-127
	phChannel = 2 // {channel}: the event's MIDI channel, 1-16 (OSC and realtime messages: 1)
)

var placeholders = map[string]byte{"number": phNumber, "channel": phChannel}

// phWidth is the most bytes each placeholder writes.
var phWidth = [...]int{phNumber: 3, phChannel: 2}

// oscAddress compiles a fixed osc-out address, which may hold the
// placeholders {number} and {channel}.
func (c *compiler) oscAddress(t table, r *rule, o *outSpec, s string) {
	at := t.at("address")
	addr := make([]byte, 0, len(s))
	sample := make([]byte, 0, len(s)) // every placeholder as "0", to check the rest as an address
	longest, nph := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] != '{' {
			addr, sample = append(addr, s[i]), append(sample, s[i])
			longest++
			continue
		}
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			c.errf(at, `address %q has a "{" without its "}"; an osc-out address takes the placeholders {number} and {channel}`, s)
			return
		}
		name := s[i+1 : i+j]
		ph, known := placeholders[name]
		if !known {
			msg := fmt.Sprintf("address %q: unknown placeholder {%s}", s, name)
			if g := suggest(name, sortedKeys(placeholders)); g != "" {
				msg += fmt.Sprintf("; did you mean {%s}?", g)
			} else {
				msg += " (an osc-out address takes {number} and {channel}, and no patterns)"
			}
			c.errf(at, "%s", msg)
			return
		}
		if ph == phNumber && (r.kinds == 0 || r.kinds&^numberedKinds != 0) {
			c.errf(at, "address %q: {number} needs events with a number (note, control, program, poly-pressure), but the rule matches others", s)
			return
		}
		addr, sample = append(addr, ph), append(sample, '0')
		longest += phWidth[ph]
		nph++
		i += j
	}
	switch {
	case !bytes.HasPrefix(sample, []byte("/")) || hasPatternChars(sample) || checkPattern(sample) != "":
		c.errf(at, `address %q must be a plain OSC address: "/" and printable ASCII without spaces, "#" or pattern characters`, s)
	case longest > controllers.MaxAddr && nph == 0:
		c.errf(at, "address %q is longer than %d bytes", s, controllers.MaxAddr)
	case longest > controllers.MaxAddr:
		// Decided here, once, rather than dropping messages while playing:
		// the placeholders' widths are bounded.
		c.errf(at, "address %q can expand to %d bytes, more than the %d an OSC address may have", s, longest, controllers.MaxAddr)
	default:
		o.addr, o.tmpl = addr, nph > 0
	}
}

// expandAddr writes the address template tmpl, filled from ev, into addr
// and returns its length; ok is false if it does not fit (the compiler
// rejects templates that could overflow, so only a hand-made template
// can). It never allocates.
func expandAddr(addr *[controllers.MaxAddr]byte, tmpl []byte, ev *controllers.Event) (n uint8, ok bool) {
	i := 0
	for _, b := range tmpl {
		var w int
		switch b {
		case phNumber:
			w = putDecimal(addr[i:], ev.Number&127)
		case phChannel:
			w = putDecimal(addr[i:], ev.Channel&15+1)
		default:
			if i < len(addr) {
				addr[i], w = b, 1
			}
		}
		if w == 0 {
			return 0, false
		}
		i += w
	}
	return uint8(i), true
}

// putDecimal writes v in decimal at the start of dst and returns how many
// bytes it wrote, or 0 if dst is too short.
func putDecimal(dst []byte, v uint8) int {
	var buf [3]byte
	k := len(buf)
	for {
		k--
		buf[k] = '0' + v%10
		if v /= 10; v == 0 {
			break
		}
	}
	if len(dst) < len(buf)-k {
		return 0
	}
	return copy(dst, buf[k:])
}

// rawPair reads [a, b] without reporting anything (shape reports).
func rawPair(t table, key string) (a, b float64, ok bool) {
	arr, isArr := t.m[key].([]any)
	if !isArr || len(arr) != 2 {
		return 0, 0, false
	}
	a, ok1 := asFloat(arr[0])
	b, ok2 := asFloat(arr[1])
	return a, b, ok1 && ok2
}

// emitOut appends the Output of a midi-out or osc-out target, if the event
// gives one.
func (t *target) emitOut(ev *controllers.Event, in *input, outs *[]Output) {
	if t.act == actMIDIOut {
		msg, n, ok := t.midiMessage(ev, in)
		if !ok {
			return
		}
		o := appendOutput(outs, ev)
		o.Kind, o.MIDI, o.Len, o.Port = OutMIDI, msg, n, t.out.port
		return
	}
	s := t.out
	var v float64
	if s.args == argsValue || s.args == argsInt {
		if !in.has {
			return
		}
		if v = t.value01(in); v != v || math.IsInf(v, 0) {
			return
		}
	}
	if s.eventAddr && ev.Kind != controllers.OSC || s.dest == DestSender && ev.Kind != controllers.OSC {
		return
	}
	o := appendOutput(outs, ev)
	o.Kind, o.Dest, o.Host = OutOSC, s.dest, s.host
	switch {
	case s.eventAddr:
		o.AddrLen = uint8(copy(o.Addr[:], ev.Addr[:min(int(ev.AddrLen), len(ev.Addr))]))
	case s.tmpl:
		var ok bool
		if o.AddrLen, ok = expandAddr(&o.Addr, s.addr, ev); !ok {
			*outs = (*outs)[:len(*outs)-1]
			return
		}
	default:
		o.AddrLen = uint8(copy(o.Addr[:], s.addr))
	}
	switch s.args {
	case argsValue:
		o.NArgs, o.Args[0] = 1, controllers.Arg{Type: 'f', F: v, I: int64(v)}
	case argsInt:
		r := math.Round(math.Max(math.MinInt32, math.Min(math.MaxInt32, v)))
		o.NArgs, o.Args[0] = 1, controllers.Arg{Type: 'i', F: r, I: int64(r)}
	case argsEvent:
		o.NArgs = uint8(min(int(ev.NArgs), len(ev.Args)))
		o.Args = ev.Args
		o.Str, o.StrLen = ev.Str, ev.StrLen
	}
}

// appendOutput appends a zero Output stamped with ev's origin and returns
// it for filling in.
func appendOutput(outs *[]Output, ev *controllers.Event) *Output {
	*outs = append(*outs, Output{})
	o := &(*outs)[len(*outs)-1]
	o.FromOSC, o.Source = ev.Kind == controllers.OSC, ev.Source
	return o
}

// midiMessage builds a midi-out target's message.
func (t *target) midiMessage(ev *controllers.Event, in *input) (msg [3]byte, n uint8, ok bool) {
	ch := t.ch & 15
	if t.chEvent {
		ch = ev.Channel & 15
	}
	data := func(v, hi float64) (uint8, bool) {
		v = math.Round(v)
		if !(v >= 0) { // NaN too
			return 0, v == v
		}
		return uint8(math.Min(v, hi)), true
	}
	switch t.out.typ {
	case midiEvent:
		raw := uint8(max(0, min(ev.Raw, 127)))
		switch ev.Kind {
		case controllers.NoteOn:
			return [3]byte{0x90 | ch, ev.Number & 127, raw}, 3, true
		case controllers.NoteOff:
			return [3]byte{0x80 | ch, ev.Number & 127, raw}, 3, true
		case controllers.Control:
			return [3]byte{0xB0 | ch, ev.Number & 127, raw}, 3, true
		case controllers.PolyPressure:
			return [3]byte{0xA0 | ch, ev.Number & 127, raw}, 3, true
		case controllers.Pressure:
			return [3]byte{0xD0 | ch, raw}, 2, true
		case controllers.Program:
			return [3]byte{0xC0 | ch, ev.Number & 127}, 2, true
		case controllers.PitchBend:
			b := max(0, min(ev.Raw, 16383))
			return [3]byte{0xE0 | ch, uint8(b & 127), uint8(b >> 7)}, 3, true
		}
		return msg, 0, false
	case midiNote:
		key, ok := t.number(ev, in)
		if !ok {
			return msg, 0, false
		}
		if !in.press {
			return [3]byte{0x80 | ch, key, 0}, 3, true
		}
		vel := t.out.vel
		if vel == 0 {
			v, ok := data(t.value01(in), 127)
			if !ok {
				return msg, 0, false
			}
			vel = max(v, 1) // a press is a press, however soft
		}
		return [3]byte{0x90 | ch, key, vel}, 3, true
	case midiCC:
		num, ok := t.number(ev, in)
		if !ok || !in.has {
			return msg, 0, false
		}
		v, ok := data(t.value01(in), 127)
		return [3]byte{0xB0 | ch, num, v}, 3, ok
	case midiProgram:
		var num uint8
		switch {
		case t.mode == numValue:
			v, ok := data(t.value01(in), 127)
			if !in.has || !ok {
				return msg, 0, false
			}
			num = v
		case ev.Kind == controllers.Program && t.mode == numEvent:
			num = ev.Number & 127
		default:
			k, ok := t.number(ev, in)
			if !ok || !in.press {
				return msg, 0, false
			}
			num = k
		}
		return [3]byte{0xC0 | ch, num}, 2, true
	case midiBend:
		if !in.has {
			return msg, 0, false
		}
		v := math.Round(t.value01(in) + 8192)
		if v != v {
			return msg, 0, false
		}
		w := uint16(math.Max(0, math.Min(16383, v)))
		return [3]byte{0xE0 | ch, uint8(w & 127), uint8(w >> 7)}, 3, true
	case midiPressure:
		if !in.has {
			return msg, 0, false
		}
		v, ok := data(t.value01(in), 127)
		return [3]byte{0xD0 | ch, v}, 2, ok
	}
	return msg, 0, false
}
