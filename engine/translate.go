package engine

import (
	"unsafe"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// paramTable turns worker commands into synth events. It holds no state yet;
// it is the seam where a per-worker parameter cache would go.
type paramTable struct{}

func (paramTable) init() {}

// nameView returns the name's bytes as a string without copying. The string
// must not outlive the command it points into. Render thread only.
func nameView(n *proto.Name) string {
	l := n.Len()
	if l == 0 {
		return ""
	}
	return unsafe.String(&n[0], l)
}

// voiceOps pairs each channel-voice op with the synth event kind it
// becomes: the one table for both directions (workers turn ops into events,
// `chronus play` turns a file's events into ops).
var voiceOps = [...]struct {
	op   proto.Op
	kind dsp.EventKind
}{
	{proto.OpNoteOn, dsp.NoteOn},
	{proto.OpNoteOff, dsp.NoteOff},
	{proto.OpControl, dsp.Control},
	{proto.OpPitchBend, dsp.PitchBend},
	{proto.OpPressure, dsp.Pressure},
	{proto.OpProgram, dsp.Program},
	{proto.OpAllNotesOff, dsp.AllNotesOff},
	{proto.OpAllSoundOff, dsp.AllSoundOff},
	{proto.OpResetControllers, dsp.ResetControllers},
	{proto.OpPatchSelect, dsp.GraphSelect},
	{proto.OpPatchProgram, dsp.ProgramToGraph},
}

// opKind and kindOp index voiceOps; filled by init, read-only after.
var (
	opKind [256]dsp.EventKind
	kindOp [256]proto.Op
)

func init() {
	for _, p := range voiceOps {
		opKind[p.op], kindOp[p.kind] = p.kind, p.op
	}
	opKind[proto.OpReset] = dsp.AllSoundOff // a reset also silences at once
}

// Command returns the worker command that the workers translate back into
// ev, for ev.Frame exactly (FlagAbsolute), or false for a kind that has no
// command (SetParam and the graph edits are sent by name and by op).
// Any goroutine.
func Command(ev dsp.Event) (proto.Command, bool) {
	op := kindOp[ev.Kind]
	c := proto.Command{Op: op, Frame: ev.Frame, Flags: proto.FlagAbsolute, Channel: ev.Channel, Key: ev.Key, Value: ev.Value}
	return c, op != 0
}

// event translates one decoded command. Render thread only: no allocation.
func (paramTable) event(c *proto.Command) (dsp.Event, bool) {
	ev := dsp.Event{Frame: c.Frame, Channel: c.Channel, Key: c.Key, Value: c.Value}
	if k := opKind[c.Op]; k != 0 {
		ev.Kind = k
		return ev, true
	}
	if c.Op != proto.OpSet {
		return ev, false
	}
	p, ok := dsp.ParamByName(nameView(&c.Module), nameView(&c.Param))
	if !ok {
		return ev, false
	}
	ev.Kind, ev.Param = dsp.SetParam, p
	return ev, true
}

// patchEdits maps the staging ops to the synth's edits (0: not one).
var patchEdits = [256]dsp.PatchEdit{
	proto.OpPatchAbort:      dsp.PatchAbort,
	proto.OpPatchCreate:     dsp.PatchCreate,
	proto.OpPatchSet:        dsp.PatchSet,
	proto.OpPatchConnect:    dsp.PatchConnect,
	proto.OpPatchDisconnect: dsp.PatchDisconnect,
	proto.OpPatchAmount:     dsp.PatchAmount,
}

// apply hands one decoded worker command to s: staging edits apply at
// once (they only change the staged graph), a commit compiles the staged
// graph at once, in command order, and switches its slot at its frame,
// everything else is an event at its frame. base is the engine frame at
// which s's frame count is 0; a frame before it is late and applies at
// once. Both workers and the reference render go through here, so they
// agree. Render thread only: no allocation.
func (pt paramTable) apply(s *dsp.Synth, c *proto.Command, base uint64) {
	frame := c.Frame - min(c.Frame, base)
	if e := patchEdits[c.Op]; e != 0 {
		s.StagePatch(e, nameView(&c.Module), nameView(&c.Param), c.Key, c.Value, c.Voice)
		return
	}
	switch c.Op {
	case proto.OpPatchCommit:
		s.CommitPatch(frame, nameView(&c.Module), c.Key, c.Channel)
		return
	case proto.OpKitBegin:
		s.StageKitBegin()
		return
	case proto.OpKitSound:
		s.StageKitSound(nameView(&c.Module), c.Key, uint8(min(c.Voice, proto.MaxKey)), c.Value)
		return
	case proto.OpKitCommit:
		s.CommitKit(frame, c.Channel)
		return
	case proto.OpKitSelect:
		s.SelectKit(frame, c.Channel, c.Value >= 0.5)
		return
	}
	if ev, ok := pt.event(c); ok {
		ev.Frame = frame
		s.Schedule(ev)
	}
}
