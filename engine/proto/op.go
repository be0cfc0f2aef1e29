package proto

import "strconv"

// Op says what a command does. Its numbers are wire values: never renumber.
// Ops are plain values, safe on any goroutine including the audio thread.
type Op uint8

// Worker ops: applied by both synth workers at the command's frame.
const (
	// OpSet sets parameter Param of module Module to Value.
	OpSet Op = 0x01
	// OpNoteOn starts note Key on Channel with velocity Value (0..1);
	// Voice optionally names the voice.
	OpNoteOn Op = 0x02
	// OpNoteOff releases note Key on Channel with release velocity Value (0..1).
	OpNoteOff Op = 0x03
	// OpControl is a MIDI-style controller: Key is the CC number, Value 0..1.
	OpControl Op = 0x04
	// OpPitchBend bends Channel (or note Key with FlagPerNote) by Value, -1..1.
	OpPitchBend Op = 0x05
	// OpPressure is channel pressure (or polyphonic pressure on note Key with
	// FlagPerNote), Value 0..1.
	OpPressure Op = 0x06
	// OpProgram selects program Key on Channel.
	OpProgram Op = 0x07
	// OpAllNotesOff releases every note on Channel (envelopes run out).
	OpAllNotesOff Op = 0x08
	// OpAllSoundOff silences Channel at once.
	OpAllSoundOff Op = 0x09
	// OpResetControllers returns Channel's controllers to their defaults.
	OpResetControllers Op = 0x0a
	// OpReset resets the whole synth engine to its initial state.
	OpReset Op = 0x0b
)

// Host ops: handled outside the workers by handlers registered by cmd.
const (
	// OpRecordStart starts recording the output tap.
	OpRecordStart Op = 0x40
	// OpRecordStop stops recording.
	OpRecordStop Op = 0x41
	// OpStatus asks for a status report.
	OpStatus Op = 0x42
	// OpPatchSave saves the current patch under the name in Module.
	OpPatchSave Op = 0x43
	// OpPatchLoad loads the patch named in Module.
	OpPatchLoad Op = 0x44
	// OpPatchList lists the saved patches.
	OpPatchList Op = 0x45
)

// Patch-editing ops: worker ops that build a modular voice graph (package
// dsp's Graph) in a staging area of the synth and commit it. Staging edits
// take effect when a worker reads them (nothing sounds until the commit);
// the commit takes effect at its frame, in both workers alike. A sender
// sends a whole graph as abort, create..., set..., connect..., commit, in
// that order, so that a worker that joins later replays the same sequence.
const (
	// OpPatchCreate stages a new module: Module = its id, Param = its kind
	// ("osc", "filter", ...).
	OpPatchCreate Op = 0x50
	// OpPatchConnect stages a route from module Module to port Key of module
	// Param (the destination kind's port number: its audio inputs first,
	// then its parameters; see dsp.ModuleKind.PortName), with amount Value;
	// Voice 0 adds, 1 multiplies (dsp.RouteOp).
	OpPatchConnect Op = 0x51
	// OpPatchDisconnect removes the staged route from Module to port Key of
	// module Param.
	OpPatchDisconnect Op = 0x52
	// OpPatchSet stages parameter Param of module Module = Value (a choice
	// parameter such as a waveform takes its index).
	OpPatchSet Op = 0x53
	// OpPatchCommit compiles the staged graph, with module Module as its
	// output, into graph slot Key (0..15), and makes Channel play it, at the
	// command's frame. Notes already sounding finish on what they started
	// with. The staged graph stays staged. Voice, when not 0, is a ticket
	// under which each worker publishes whether the synth took the commit
	// (the engine's ConfirmCommit).
	OpPatchCommit Op = 0x54
	// OpPatchAbort clears the staged graph.
	OpPatchAbort Op = 0x55
	// OpPatchSelect makes Channel play graph slot Key from the command's
	// frame; Value 1 returns Channel to its preset instead.
	OpPatchSelect Op = 0x56
	// OpPatchProgram makes a program change to Key on any channel select
	// graph slot Value-1 (Value 1..16) instead of a preset; Value 0 undoes it.
	OpPatchProgram Op = 0x57
	// OpPatchAmount stages the amount Value of the routes from module
	// Module to port Key of module Param, without moving them.
	OpPatchAmount Op = 0x58
)

// Drum-kit staging: a kit maps keys to graphs. A sender sends
// kit-begin, then for each sound the patch edits that make the staged
// graph its graph and a kit-sound for its keys, then kit-commit (see
// dsp.StageKit and engine.KitCommands).
const (
	// OpKitBegin starts a new staged kit, every key silent.
	OpKitBegin Op = 0x60
	// OpKitSound compiles the staged graph, with module Module as its
	// output, into the staged kit for keys Key..Voice, panned by Value
	// (-1..1).
	OpKitSound Op = 0x61
	// OpKitCommit makes the staged kit the playing one at the command's
	// frame, and Channel play it.
	OpKitCommit Op = 0x62
	// OpKitSelect makes Channel play the kit (Value 1) or its preset or
	// graph slot again (Value 0) from the command's frame.
	OpKitSelect Op = 0x63
)

// opInfo is what the codec knows about one op; the zero value marks an
// unknown op.
type opInfo struct {
	name       string
	workers    bool    // goes to the synth workers
	value      bool    // Value must be finite
	lo, hi     float64 // Value range when ranged
	ranged     bool
	needModule bool
	needParam  bool
}

// ops is indexed by Op so every lookup is one bounds-check-free load.
var ops = [256]opInfo{
	OpSet:              {name: "set", workers: true, value: true, needModule: true, needParam: true},
	OpNoteOn:           {name: "note-on", workers: true, value: true, ranged: true, lo: 0, hi: 1},
	OpNoteOff:          {name: "note-off", workers: true, value: true, ranged: true, lo: 0, hi: 1},
	OpControl:          {name: "control", workers: true, value: true, ranged: true, lo: 0, hi: 1},
	OpPitchBend:        {name: "pitch-bend", workers: true, value: true, ranged: true, lo: -1, hi: 1},
	OpPressure:         {name: "pressure", workers: true, value: true, ranged: true, lo: 0, hi: 1},
	OpProgram:          {name: "program", workers: true},
	OpAllNotesOff:      {name: "all-notes-off", workers: true},
	OpAllSoundOff:      {name: "all-sound-off", workers: true},
	OpResetControllers: {name: "reset-controllers", workers: true},
	OpReset:            {name: "reset", workers: true},

	OpRecordStart: {name: "record-start"},
	OpRecordStop:  {name: "record-stop"},
	OpStatus:      {name: "status"},
	OpPatchSave:   {name: "patch-save", needModule: true},
	OpPatchLoad:   {name: "patch-load", needModule: true},
	OpPatchList:   {name: "patch-list"},

	OpPatchCreate:     {name: "patch-create", workers: true, needModule: true, needParam: true},
	OpPatchConnect:    {name: "patch-connect", workers: true, value: true, needModule: true, needParam: true},
	OpPatchDisconnect: {name: "patch-disconnect", workers: true, needModule: true, needParam: true},
	OpPatchSet:        {name: "patch-set", workers: true, value: true, needModule: true, needParam: true},
	OpPatchCommit:     {name: "patch-commit", workers: true, needModule: true},
	OpPatchAbort:      {name: "patch-abort", workers: true},
	OpPatchSelect:     {name: "patch-select", workers: true, value: true, ranged: true, lo: 0, hi: 1},
	OpPatchProgram:    {name: "patch-program", workers: true, value: true, ranged: true, lo: 0, hi: 16},
	OpPatchAmount:     {name: "patch-amount", workers: true, value: true, needModule: true, needParam: true},
	OpKitBegin:        {name: "kit-begin", workers: true},
	OpKitSound:        {name: "kit-sound", workers: true, value: true, ranged: true, lo: -1, hi: 1, needModule: true},
	OpKitCommit:       {name: "kit-commit", workers: true},
	OpKitSelect:       {name: "kit-select", workers: true, value: true, ranged: true, lo: 0, hi: 1},
}

// allOps lists every defined op in numeric order.
var allOps = [...]Op{
	OpSet, OpNoteOn, OpNoteOff, OpControl, OpPitchBend, OpPressure, OpProgram,
	OpAllNotesOff, OpAllSoundOff, OpResetControllers, OpReset,
	OpRecordStart, OpRecordStop, OpStatus, OpPatchSave, OpPatchLoad, OpPatchList,
	OpPatchCreate, OpPatchConnect, OpPatchDisconnect, OpPatchSet, OpPatchCommit, OpPatchAbort,
	OpPatchSelect, OpPatchProgram, OpPatchAmount, OpKitBegin, OpKitSound, OpKitCommit, OpKitSelect,
}

// Valid reports whether o is a defined op. Any goroutine.
func (o Op) Valid() bool { return ops[o].name != "" }

// ForWorkers reports whether o goes to the synth workers (true) or to a
// handler registered by cmd (false). Unknown ops report false. Any goroutine.
func (o Op) ForWorkers() bool { return ops[o].workers }

// String returns the op's name ("note-on"), or "op(0xNN)" for an unknown op;
// only the unknown case allocates.
func (o Op) String() string {
	if n := ops[o].name; n != "" {
		return n
	}
	return "op(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// AllOps returns every defined op in numeric order, in a new slice.
func AllOps() []Op {
	s := allOps
	return s[:]
}

// ParseOp returns the op whose String is s. It does not allocate on success;
// the error is ErrOp. Any goroutine.
func ParseOp(s string) (Op, error) {
	for _, o := range allOps {
		if ops[o].name == s {
			return o, nil
		}
	}
	return 0, ErrOp
}
