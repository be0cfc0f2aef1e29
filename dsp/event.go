package dsp

// EventKind says what an Event does.
type EventKind uint8

// Event kinds. Channel messages follow MIDI 1.0; SetParam addresses the
// synth's parameters directly (see Param).
const (
	// NoteOn starts a note: Key = note number, Value = velocity 0..1
	// (velocity 0 is a NoteOff, as in MIDI).
	NoteOn EventKind = iota + 1
	// NoteOff releases a note (held on while the sustain pedal is down).
	NoteOff
	// Control is a MIDI control change: Key = controller number, Value 0..1.
	Control
	// PitchBend: Value -1..1 is scaled by the channel's bend range.
	PitchBend
	// Pressure is channel aftertouch, Value 0..1.
	Pressure
	// Program selects the preset nearest to General MIDI program Key
	// (GMPreset); the percussion channel (9) keeps its drum kit.
	Program
	// AllNotesOff releases every note of the channel, pedal or not.
	AllNotesOff
	// AllSoundOff fades every voice of the channel out within a few
	// milliseconds (effect tails, shared by all channels, keep ringing).
	AllSoundOff
	// ResetControllers resets modulation, bend, pressure, expression and
	// the sustain pedal (MIDI RP-015; volume, pan and sound controllers
	// stay).
	ResetControllers
	// SetParam sets Param to Value in the parameter's native unit.
	SetParam
	// GraphSelect makes the channel play graph slot Key (0..GraphSlots-1)
	// from the event's frame; Value >= 0.5 returns it to its preset. A
	// slot still empty plays the preset until a commit fills it.
	GraphSelect
	// ProgramToGraph makes a Program event with program number Key, on any
	// channel, select graph slot Value-1 (Value 1..GraphSlots) instead of
	// a preset; Value 0 undoes it. Channel is ignored.
	ProgramToGraph
	numEventKinds

	// graphCommit switches a graph slot to the program instance that
	// CommitPatch compiled (Value) and makes Channel play slot Key. Only
	// CommitPatch queues it (Schedule refuses it).
	graphCommit = numEventKinds
)

var eventKindNames = [numEventKinds]string{"", "noteon", "noteoff", "control", "pitchbend", "pressure", "program", "allnotesoff", "allsoundoff", "resetcontrollers", "setparam", "graphselect", "programtograph"}

// String returns the kind's lower-case name.
func (k EventKind) String() string {
	if k > 0 && k < numEventKinds {
		return eventKindNames[k]
	}
	return "event(" + itoa(int(k)) + ")"
}

// Channels is the number of MIDI channels; channel 9 (MIDI channel 10) is
// the percussion channel.
const Channels = 16

// DrumChannel is the General MIDI percussion channel (MIDI channel 10).
const DrumChannel = 9

// MaxPending is the capacity of the synth's event queue.
const MaxPending = 4096

// Event is one frame-stamped instruction for the synth. It is a plain
// value (pointer-free) so it can travel through shared memory.
type Event struct {
	// Frame is the absolute output frame at which the event takes effect,
	// exactly (Render splits its blocks there). A frame earlier than
	// Frame()+Latency() applies as soon as possible and is counted as late.
	Frame uint64
	Kind  EventKind
	// Channel is 0..15. For every kind except NoteOn and NoteOff, a
	// channel >= Channels addresses all channels at once.
	Channel uint8
	// Key is the note number, controller number or program number.
	Key uint8
	// Value: velocity 0..1, controller 0..1, bend -1..1, pressure 0..1, or
	// the SetParam value in the parameter's unit.
	Value float64
	// Param is the parameter a SetParam event sets.
	Param Param
}

// queue is the pending-event ring, kept in frame order (stable for equal
// frames). Pointer-free, so it is part of every snapshot.
type queue struct {
	ev   [MaxPending]Event
	head int
	n    int
}

// push inserts ev after every queued event with a frame <= ev.Frame. Events
// nearly always arrive in frame order, so the scan from the tail stops at
// once.
func (q *queue) push(ev Event) bool {
	if q.n == MaxPending {
		return false
	}
	pos := q.n // insertion point, relative to head
	for pos > 0 && q.ev[(q.head+pos-1)%MaxPending].Frame > ev.Frame {
		pos--
	}
	for k := q.n; k > pos; k-- {
		q.ev[(q.head+k)%MaxPending] = q.ev[(q.head+k-1)%MaxPending]
	}
	q.ev[(q.head+pos)%MaxPending] = ev
	q.n++
	return true
}

// peek returns the earliest event; q.n must be > 0.
func (q *queue) peek() *Event { return &q.ev[q.head] }

// pop removes the earliest event.
func (q *queue) pop() {
	q.head++
	if q.head == MaxPending {
		q.head = 0
	}
	q.n--
}

// valid reports whether ev is well formed: a known kind, a finite value, a
// note channel below Channels and a known parameter.
func validEvent(ev *Event) bool {
	if ev.Kind == 0 || ev.Kind >= numEventKinds {
		return false
	}
	if !finite64(ev.Value) {
		return false
	}
	switch ev.Kind {
	case NoteOn, NoteOff:
		return ev.Channel < Channels && ev.Key < 128
	case Control, Program:
		return ev.Key < 128
	case SetParam:
		return ev.Param > 0 && ev.Param < numParams
	case GraphSelect:
		return ev.Key < GraphSlots
	case ProgramToGraph:
		return ev.Key < 128 && ev.Value >= 0 && ev.Value <= GraphSlots
	}
	return true
}
