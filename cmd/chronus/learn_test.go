package main

import (
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/mapping"
)

// Each learned rule compiles, and the map it makes turns the very event it
// learned from into the expected command.
func TestLearnedRulesCompileAndMatch(t *testing.T) {
	osc := controllers.Event{Kind: controllers.OSC, NArgs: 1}
	osc.AddrLen = uint8(copy(osc.Addr[:], "/1/fader3"))
	osc.Args[0] = controllers.Arg{Type: 'f', F: 0.5}
	for _, tc := range []struct {
		ev     controllers.Event
		device string
		want   proto.Op
		text   string
	}{
		{osc, "", proto.OpSet, `address = "/1/fader3"`},
		{controllers.Event{Kind: controllers.NoteOn, Channel: 2, Number: 61, Raw: 100, Norm: 100.0 / 127}, "Keystation 49", proto.OpNoteOn, `note = 61`},
		{controllers.Event{Kind: controllers.Control, Channel: 0, Number: 74, Raw: 64, Norm: 64.0 / 127}, "", proto.OpSet, `cc = 74`},
		{controllers.Event{Kind: controllers.PitchBend, Channel: 1, Raw: 12000, Norm: 0.46}, "", proto.OpSet, `kind = "pitch-bend"`},
		{controllers.Event{Kind: controllers.Pressure, Channel: 1, Raw: 90, Norm: 90.0 / 127}, "", proto.OpSet, `kind = "pressure"`},
		{controllers.Event{Kind: controllers.Program, Channel: 0, Number: 5, Raw: 5}, "", proto.OpSet, `program = 5`},
	} {
		rule := learnRule(&tc.ev, tc.device, "filter/cutoff")
		if !strings.Contains(rule, tc.text) {
			t.Errorf("rule for %v lacks %q:\n%s", tc.ev.Kind, tc.text, rule)
		}
		m, err := mapping.Compile("learned.toml", []byte(rule))
		if err != nil {
			t.Fatalf("rule for %v does not compile: %v\n%s", tc.ev.Kind, err, rule)
		}
		cmds := m.ApplyFrom(&tc.ev, tc.device, nil)
		if len(cmds) != 1 || cmds[0].Op != tc.want {
			t.Errorf("learned rule for %v gives %v, want one %v", tc.ev.Kind, cmds, tc.want)
		}
	}
}
