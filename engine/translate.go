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
	default:
		return ev, false
	}
	return ev, true
}
