package midi

import (
	"testing"

	"github.com/chronus-audio/chronus/controllers"
)

// TestWholeMessageSysExBound feeds the listener callback whole messages, as
// RtMidi read without gomidi's reader does (cmd/chronus's quietIn): a SysEx
// of any length must neither panic nor reach the handler when it is longer
// than SysExMax, and must be counted; one at the bound and the messages
// around it still arrive, in order.
func TestWholeMessageSysExBound(t *testing.T) {
	fd := &fakeDriver{}
	in := fd.plugIn("Synth")
	c, h, _ := start(t, fd, Config{SysEx: true, SysExMax: 1000})
	in.mu.Lock()
	onMsg := in.onMsg
	in.mu.Unlock()
	if onMsg == nil {
		t.Fatal("the controller did not listen on the port")
	}
	for _, tc := range []struct {
		name      string
		msg       []byte
		kind      controllers.Kind
		delivered bool
	}{
		{"note before", []byte{0x90, 60, 100}, controllers.NoteOn, true},
		{"1 MiB SysEx", sysex(1 << 20), controllers.SysEx, false},
		{"SysEx one over the bound", sysex(1001), controllers.SysEx, false},
		{"SysEx at the bound", sysex(1000), controllers.SysEx, true},
		{"unterminated 70 KiB SysEx", sysex(70 << 10)[:70<<10-1], controllers.SysEx, false},
		{"note after", []byte{0x80, 60, 0}, controllers.NoteOff, true},
	} {
		onMsg(tc.msg, 0)
		c.sync()
		evs := h.take()
		if !tc.delivered {
			if len(evs) != 0 {
				t.Errorf("%s: %d events, want none", tc.name, len(evs))
			}
			continue
		}
		if len(evs) != 1 || evs[0].Kind != tc.kind || int(evs[0].RawLen) != len(tc.msg) {
			t.Errorf("%s: events %+v, want one %v of %d bytes", tc.name, evs, tc.kind, len(tc.msg))
		}
	}
	if s := c.Stats(); s.Oversized != 3 || s.DriverPanics != 0 || s.Messages != 3 {
		t.Errorf("Stats = %+v, want 3 oversized, 3 messages, no panics", s)
	}
}
