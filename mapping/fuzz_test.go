package mapping

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"math"
	"testing"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/maps"
)

func shippedSources(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	names, err := fs.Glob(maps.FS(), "*.toml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no shipped maps: %v", err)
	}
	for _, n := range names {
		b, err := fs.ReadFile(maps.FS(), n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// FuzzCompile: arbitrary bytes never panic the compiler; a failure is an
// *Error with a position inside the file; a success gives a Map whose
// commands are all valid protocol commands.
func FuzzCompile(f *testing.F) {
	for _, b := range shippedSources(f) {
		f.Add(b)
	}
	f.Add([]byte(kitchenSink))
	f.Add([]byte(bridgeMap))
	f.Add([]byte("[[rule]]\naddress = \"/a/{b,c}/[!x-z]*\"\nto = { do = \"note\", key = \"$2\" }\n"))
	f.Add([]byte("[[rule]\n"))
	f.Add([]byte("[map]\nchannel = 17\n"))
	f.Add([]byte("to = [[1, {a = 2}], {b = [3]}]\n[[rule]]\n[[rule.to]]\n"))
	events := allocEvents()
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Compile("fuzz.toml", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" || e.Line < 0 || e.Col < 0 {
				t.Fatalf("error %T %q is not a positioned *Error", err, err)
			}
			return
		}
		dst := make([]proto.Command, 0, 64)
		var outs []Output
		for _, ev := range events {
			dst, outs = m.ApplyOut(ev, "nanoKEY", dst[:0], outs[:0])
			checkValid(t, dst)
			checkOutputs(t, outs)
		}
	})
}

// fuzzEvent builds an event from arbitrary bytes, including lengths beyond
// the fixed arrays, NaN and infinite values and odd type tags.
func fuzzEvent(data []byte) *controllers.Event {
	var ev controllers.Event
	take := func(n int) []byte {
		if len(data) < n {
			b := make([]byte, n)
			copy(b, data)
			data = nil
			return b
		}
		b := data[:n]
		data = data[n:]
		return b
	}
	h := take(12)
	ev.Kind = controllers.Kind(h[0] % 16)
	if h[0]&0x80 != 0 {
		ev.Kind = controllers.OSC
	}
	ev.Channel, ev.Number = h[1], h[2]
	ev.Raw = int32(binary.LittleEndian.Uint32(h[3:7]))
	ev.Norm = float64(int8(h[7])) / 64
	switch h[8] % 8 {
	case 0:
		ev.Norm = math.NaN()
	case 1:
		ev.Norm = math.Inf(1)
	}
	ev.AddrLen, ev.NArgs, ev.StrLen = h[9], h[10], h[11]
	prefixes := []string{"/synth/cutoff", "/gate/adsr", "/4/multitoggle/3/", "/mod/sine/", "/chronus/keyboard", "/3/xy", "/2/push", "/1/fader", "/grid/"}
	addr := prefixes[int(h[9])%len(prefixes)] + string(take(int(h[10]%12)))
	if h[11]&1 == 0 {
		ev.AddrLen = uint8(copy(ev.Addr[:], addr))
	} else {
		copy(ev.Addr[:], addr) // AddrLen stays arbitrary, possibly past the array
	}
	types := []byte{'i', 'h', 'f', 'd', 's', 'S', 'T', 'F', 'N', 'I', 'b', 't', 'c', 'r', 'm', 0, 'x'}
	for i := range ev.Args {
		b := take(9)
		ev.Args[i].Type = controllers.ArgType(types[int(b[0])%len(types)])
		bits := binary.LittleEndian.Uint64(b[1:])
		ev.Args[i].F = math.Float64frombits(bits)
		ev.Args[i].I = int64(bits)
	}
	copy(ev.Str[:], take(controllers.MaxStr))
	return &ev
}

// FuzzApply: arbitrary events never panic Apply, on the shipped maps and a
// map using every feature, and every command produced is valid.
func FuzzApply(f *testing.F) {
	var all []*Map
	for n, b := range shippedSources(f) {
		m, err := Compile(n, b)
		if err != nil {
			f.Fatal(err)
		}
		all = append(all, m)
	}
	all = append(all, mustCompile(f, kitchenSink), mustCompile(f, bridgeMap))
	sess := NewSession(NewLive(NewSet(all...)), func(*controllers.Event) string { return "nanoKEY" })
	f.Add([]byte{byte(controllers.NoteOn), 0, 60, 100, 0, 0, 0, 50, 2, 0, 0, 0})
	f.Add([]byte{0x80, 0, 0, 0, 0, 0, 0, 0, 2, 0, 1, 0, 'f', 0, 0, 0, 0, 0, 0, 0xe0, 0x3f})
	f.Add([]byte{0x81, 0, 0, 0, 0, 0, 0, 0, 2, 1, 3, 0, 's', 'o', 'f', 'f'})
	f.Add([]byte{0x82, 0, 0, 0, 0, 0, 0, 0, 3, 2, 1, 0, 's', '3', 0, 0, 0, 0, 0, 0, 0, 0, 'x', 'o', 'n'})
	f.Add([]byte{0xff, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255})
	dst := make([]proto.Command, 0, 64)
	var outs []Output
	f.Fuzz(func(t *testing.T, data []byte) {
		ev := fuzzEvent(data)
		for _, m := range all {
			dst, outs = m.ApplyOut(ev, "nanoKEY", dst[:0], outs[:0])
			checkValid(t, dst)
			checkOutputs(t, outs)
		}
		dst = sess.Apply(ev, dst[:0])
		checkValid(t, dst)
	})
}

// checkOutputs fails on a MIDI output that is not one well-formed channel
// message, or an OSC output without an address.
func checkOutputs(t *testing.T, outs []Output) {
	t.Helper()
	for i := range outs {
		o := &outs[i]
		switch o.Kind {
		case OutMIDI:
			msg := o.Message()
			want := 3
			if s := msg[0] & 0xF0; s == 0xC0 || s == 0xD0 {
				want = 2
			}
			if len(msg) != want || msg[0] < 0x80 || msg[0] >= 0xF0 || msg[1] >= 0x80 || len(msg) == 3 && msg[2] >= 0x80 {
				t.Fatalf("output %d is not a MIDI channel message: % x", i, msg)
			}
		case OutOSC:
			if o.AddrLen == 0 || o.Addr[0] != '/' || int(o.NArgs) > len(o.Args) {
				t.Fatalf("output %d: OSC address %q, %d args", i, o.Address(), o.NArgs)
			}
		default:
			t.Fatalf("output %d has kind %d", i, o.Kind)
		}
	}
}
