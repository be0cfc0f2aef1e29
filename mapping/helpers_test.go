package mapping

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
)

// midiEv builds a MIDI event as controllers/midi does (channel 0-based).
func midiEv(kind controllers.Kind, ch, num uint8, raw int32) *controllers.Event {
	ev := &controllers.Event{Kind: kind, Channel: ch, Number: num, Raw: raw}
	switch kind {
	case controllers.PitchBend:
		ev.Norm = float64(raw-8192) / 8192
	case controllers.Program:
		ev.Raw = int32(num)
		ev.Norm = float64(num) / 127
	default:
		ev.Norm = float64(raw) / 127
	}
	return ev
}

// oscEv builds an OSC event: float64 → 'f', int → 'i', string → 's',
// bool → 'T'/'F', nil → 'N'.
func oscEv(addr string, args ...any) *controllers.Event {
	ev := &controllers.Event{Kind: controllers.OSC}
	ev.AddrLen = uint8(copy(ev.Addr[:], addr))
	str := false
	for i, a := range args {
		arg := &ev.Args[i]
		switch v := a.(type) {
		case float64:
			arg.Type, arg.F, arg.I = 'f', v, int64(v)
		case int:
			arg.Type, arg.F, arg.I = 'i', float64(v), int64(v)
		case string:
			arg.Type, arg.I = 's', int64(len(v))
			if !str {
				str = true
				ev.StrLen = uint8(copy(ev.Str[:], v))
			}
		case bool:
			arg.Type = 'F'
			if v {
				arg.Type, arg.F, arg.I = 'T', 1, 1
			}
		case nil:
			arg.Type = 'N'
		default:
			panic(fmt.Sprintf("oscEv: %T", a))
		}
	}
	ev.NArgs = uint8(len(args))
	return ev
}

// mustCompile compiles src or fails the test.
func mustCompile(t testing.TB, src string) *Map {
	t.Helper()
	m, err := Compile("test.toml", []byte(src))
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return m
}

// fmtCmds renders commands compactly for comparisons:
// "set ch0 filter/cutoff 632.46", "note-on ch0 k60 0.5", "control ch0 k7 1".
func fmtCmds(cmds []proto.Command) string {
	var b strings.Builder
	for i := range cmds {
		c := &cmds[i]
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%v ch%d", c.Op, c.Channel)
		switch c.Op {
		case proto.OpSet:
			fmt.Fprintf(&b, " %s/%s %s", c.Module.String(), c.Param.String(), num(c.Value))
		case proto.OpNoteOn, proto.OpNoteOff, proto.OpControl:
			fmt.Fprintf(&b, " k%d %s", c.Key, num(c.Value))
		case proto.OpProgram:
			fmt.Fprintf(&b, " k%d", c.Key)
		case proto.OpPitchBend, proto.OpPressure:
			if c.Flags&proto.FlagPerNote != 0 {
				fmt.Fprintf(&b, " k%d", c.Key)
			}
			fmt.Fprintf(&b, " %s", num(c.Value))
		case proto.OpPatchLoad:
			fmt.Fprintf(&b, " %s", c.Module.String())
		}
	}
	return b.String()
}

// num prints a value with 5 significant digits, so expected strings can be
// written from the math rather than copied from a run.
func num(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e9 {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.5g", v)
}

// checkValid fails if any command would not pass the protocol's checks.
func checkValid(t testing.TB, cmds []proto.Command) {
	t.Helper()
	for i := range cmds {
		if err := cmds[i].Validate(); err != nil {
			t.Fatalf("command %d (%v) is invalid: %v", i, cmds[i].String(), err)
		}
	}
}
