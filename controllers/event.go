// Package controllers defines the one event type that every input source
// (MIDI ports, OSC clients, MIDI files) produces, so the mapping layer sees
// all of them alike.
//
// An Event is a plain value with fixed-size fields and no pointers: decoding
// into it and passing it along never allocates, which keeps the process that
// runs the audio callback free of garbage even under an OSC flood.
package controllers

import "time"

// Kind says what an Event is.
type Kind uint8

// Event kinds. MIDI kinds carry Channel and Number; OSC messages carry Addr and Args.
const (
	KindNone Kind = iota
	NoteOn
	NoteOff
	Control      // MIDI CC: Number = controller
	PitchBend    // Norm in -1..1
	Pressure     // channel aftertouch
	PolyPressure // Number = key
	Program      // Number = program
	SysEx        // Raw holds the first bytes, RawLen the full length
	Clock        // MIDI realtime: clock tick
	Start        // MIDI realtime
	Stop         // MIDI realtime
	Continue     // MIDI realtime
	OSC          // an OSC message: Addr, Args
)

var kindNames = [...]string{"none", "note-on", "note-off", "control", "pitch-bend",
	"pressure", "poly-pressure", "program", "sysex", "clock", "start", "stop", "continue", "osc"}

// String names the kind as a musician reads it.
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Limits of the fixed-size fields.
const (
	MaxAddr = 128 // bytes of an OSC address kept
	MaxArgs = 8   // OSC arguments kept
	MaxStr  = 128 // bytes of string arguments kept (all strings that fit, in order)
	MaxRaw  = 16  // bytes of a raw MIDI message kept
)

// ArgType is an OSC argument's type tag.
type ArgType uint8

// Arg is one OSC argument. Numbers are widened: int32/int64 in I (and F),
// float32/float64 in F (and I, truncated); booleans as 0/1; a string has
// I = its length and its bytes in Event.Str at Off, when Kept (see
// Event.StringArg).
type Arg struct {
	Type ArgType // the OSC type tag byte: 'i','h','f','d','s','S','b','T','F','N','I','t','c','r','m'
	Kept bool    // a string whose bytes are in Event.Str (all of them)
	Off  uint8   // a kept string's offset in Event.Str
	F    float64
	I    int64
}

// Event is one input from any source. It is a value: copy it freely.
type Event struct {
	Kind    Kind
	Source  uint16  // index of the sending device or client in its controller's table
	Channel uint8   // MIDI channel 0..15
	Number  uint8   // note, controller or program number
	Raw     int32   // the raw value: velocity 0..127, CC 0..127, bend 0..16383, program
	Norm    float64 // Raw normalised to 0..1, or -1..1 for pitch bend

	Addr    [MaxAddr]byte // OSC address, NUL padded
	AddrLen uint8
	NArgs   uint8
	Args    [MaxArgs]Arg
	Str     [MaxStr]byte // the string arguments that fit, the first one first
	StrLen  uint8        // the first string's length in Str
	StrUsed uint8        // bytes of Str in use

	RawMsg [MaxRaw]byte // the raw MIDI bytes as received
	RawLen uint16       // full length (may exceed MaxRaw for SysEx)

	Arrived time.Time // when it arrived (time.Now in the reader; not gomidi's rounded ms)
	Due     time.Time // for a timetagged OSC bundle: when it should sound; zero = now
}

// Address returns the OSC address as a string. It allocates; hot paths
// compare AddrBytes instead.
func (e *Event) Address() string { return string(e.Addr[:e.AddrLen]) }

// AddrBytes returns the OSC address bytes without copying.
func (e *Event) AddrBytes() []byte { return e.Addr[:e.AddrLen] }

// String returns the first string argument (allocates).
func (e *Event) String() string { return string(e.Str[:e.StrLen]) }

// StringArg returns argument i's string (allocates), and false when
// argument i is not a string or did not fit in Str.
func (e *Event) StringArg(i int) (string, bool) {
	if i < 0 || i >= int(e.NArgs) || i >= MaxArgs {
		return "", false
	}
	a := &e.Args[i]
	if (a.Type != 's' && a.Type != 'S') || !a.Kept {
		return "", false
	}
	return string(e.Str[a.Off : int(a.Off)+int(a.I)]), true
}
