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

// event translates one decoded command. Render thread only: no allocation.
func (paramTable) event(c *proto.Command) (dsp.Event, bool) {
	ev := dsp.Event{Frame: c.Frame, Channel: c.Channel, Key: c.Key, Value: c.Value}
	switch c.Op {
	case proto.OpNoteOn:
		ev.Kind = dsp.NoteOn
	case proto.OpNoteOff:
		ev.Kind = dsp.NoteOff
	case proto.OpControl:
		ev.Kind = dsp.Control
	case proto.OpPitchBend:
		ev.Kind = dsp.PitchBend
	case proto.OpPressure:
		ev.Kind = dsp.Pressure
	case proto.OpProgram:
		ev.Kind = dsp.Program
	case proto.OpAllNotesOff:
		ev.Kind = dsp.AllNotesOff
	case proto.OpAllSoundOff, proto.OpReset:
		ev.Kind = dsp.AllSoundOff
	case proto.OpResetControllers:
		ev.Kind = dsp.ResetControllers
	case proto.OpSet:
		p, ok := dsp.ParamByName(nameView(&c.Module), nameView(&c.Param))
		if !ok {
			return ev, false
		}
		ev.Kind, ev.Param = dsp.SetParam, p
	case proto.OpPatchSelect:
		ev.Kind = dsp.GraphSelect
	case proto.OpPatchProgram:
		ev.Kind = dsp.ProgramToGraph
	default:
		return ev, false
	}
	return ev, true
}

// patchEdits maps the staging ops to the synth's edits (0: not one).
var patchEdits = [256]dsp.PatchEdit{
	proto.OpPatchAbort:      dsp.PatchAbort,
	proto.OpPatchCreate:     dsp.PatchCreate,
	proto.OpPatchSet:        dsp.PatchSet,
	proto.OpPatchConnect:    dsp.PatchConnect,
	proto.OpPatchDisconnect: dsp.PatchDisconnect,
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
	if c.Op == proto.OpPatchCommit {
		s.CommitPatch(frame, nameView(&c.Module), c.Key, c.Channel)
		return
	}
	if ev, ok := pt.event(c); ok {
		ev.Frame = frame
		s.Schedule(ev)
	}
}
