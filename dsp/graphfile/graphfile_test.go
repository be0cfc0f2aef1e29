package graphfile

import (
	"io/fs"
	"math"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
)

func shippedPatches(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := fs.Glob(Shipped(), "patches/*.toml")
	if err != nil || len(names) < 3 {
		t.Fatalf("shipped patches: %v %v", names, err)
	}
	out := map[string][]byte{}
	for _, n := range names {
		src, err := fs.ReadFile(Shipped(), n)
		if err != nil {
			t.Fatal(err)
		}
		out[n] = src
	}
	return out
}

// TestShippedPatches: every shipped patch parses, compiles, plays and
// survives an encode/parse round trip unchanged.
func TestShippedPatches(t *testing.T) {
	for name, src := range shippedPatches(t) {
		t.Run(name, func(t *testing.T) {
			g, err := Parse(name, src)
			if err != nil {
				t.Fatal(err)
			}
			base := strings.TrimSuffix(strings.TrimPrefix(name, "patches/"), ".toml")
			if g.NameString() != base {
				t.Errorf("name %q, want %q", g.NameString(), base)
			}
			var p dsp.GraphProgram
			if err := dsp.Compile(&g, &p); err != nil {
				t.Fatal(err)
			}
			var r dsp.GraphRenderer
			r.Init(48000)
			var v dsp.GraphVoice
			r.NoteOn(&p, &v, 60, 0.8, 1)
			x := make([]float32, 24000)
			for i := 0; i < len(x); i += 64 {
				r.Render(&p, &v, dsp.VoiceInput{Mod: 0.5}, x[i:i+64])
			}
			peak := 0.0
			for _, s := range x {
				peak = max(peak, math.Abs(float64(s)))
			}
			if peak < 0.01 || peak > 2 {
				t.Errorf("peak %g", peak)
			}
			back, err := Parse(name, Encode(&g))
			if err != nil {
				t.Fatalf("re-parse: %v\n%s", err, Encode(&g))
			}
			if back != g {
				t.Errorf("round trip changed the graph:\n%s", Encode(&g))
			}
		})
	}
}

// TestRoundTripBuilt: a graph built in code (every kind, enums, a mul
// route, awkward numbers) comes back from Encode and Parse unchanged.
func TestRoundTripBuilt(t *testing.T) {
	var g dsp.Graph
	g.SetName(`odd "name" \ é`)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(g.AddModule("o", dsp.KindOsc))
	must(g.AddModule("n", dsp.KindNoise))
	must(g.AddModule("m", dsp.KindMix))
	must(g.AddModule("f", dsp.KindFilter))
	must(g.AddModule("e", dsp.KindEnv))
	must(g.AddModule("l", dsp.KindLFO))
	must(g.AddModule("v", dsp.KindInput))
	must(g.AddModule("a", dsp.KindAmp))
	must(g.SetParamName("o", "wave", "triangle"))
	must(g.SetParam("o", "detune", 0.1+0.2)) // 0.30000000000000004
	must(g.SetParam("o", "semi", -12))
	must(g.SetParamName("n", "color", "pink"))
	must(g.SetParam("f", "cutoff", 1e-300+20))
	must(g.SetParamName("f", "type", "notch"))
	must(g.SetParam("e", "attack", 1.0/3))
	must(g.SetParamName("l", "shape", "samplehold"))
	must(g.SetParamName("v", "source", "pressure"))
	must(g.Connect("o", "m.in1", 1, dsp.RouteAdd))
	must(g.Connect("n", "m.in4", 0.25, dsp.RouteAdd))
	must(g.Connect("m", "f.in", 1e-7, dsp.RouteAdd))
	must(g.Connect("f", "a.in", 1, dsp.RouteAdd))
	must(g.Connect("e", "a.gain", -1.5, dsp.RouteAdd))
	must(g.Connect("v", "a.gain", 0.5, dsp.RouteMul))
	must(g.Connect("l", "f.cutoff", 2, dsp.RouteAdd))
	must(g.SetOut("a"))
	src := Encode(&g)
	back, err := Parse("built.toml", src)
	if err != nil {
		t.Fatalf("%v\n%s", err, src)
	}
	if back != g {
		t.Errorf("round trip changed the graph:\n%s", src)
	}
}

// TestParseErrors: every kind of mistake is reported at its file, line
// and column.
func TestParseErrors(t *testing.T) {
	const head = "[patch]\nout = \"amp\"\n\n[[module]]\nid = \"osc\"\nkind = \"osc\"\n\n[[module]]\nid = \"amp\"\nkind = \"amp\"\n\n[[route]]\nfrom = \"osc\"\nto = \"amp.in\"\n"
	// head's lines: 1 [patch], 2 out, 4 [[module]], 5 id osc, 6 kind, 8 [[module]], 9 id amp, 10 kind, 12 [[route]], 13 from, 14 to
	cases := []struct {
		name, src, want string
	}{
		{"ok", head, ""},
		{"syntax", head + "\n[[module]\n", "p.toml:16:"},
		{"unknown table", head + "\n[voice]\ngain = 1\n", "p.toml:16:2: unknown table \"voice\""},
		{"unknown patch key", strings.Replace(head, "out = \"amp\"", "out = \"amp\"\ngain = 3", 1), "p.toml:3:1: unknown key \"gain\" in [patch]"},
		{"unknown kind", strings.Replace(head, "kind = \"osc\"", "kind = \"vco\"", 1), "p.toml:6:1: module osc: unknown kind \"vco\""},
		{"unknown param", strings.Replace(head, "kind = \"osc\"", "kind = \"osc\"\nwaveform = \"saw\"", 1), "p.toml:7:1: module osc: osc has no parameter \"waveform\""},
		{"bad enum", strings.Replace(head, "kind = \"osc\"", "kind = \"osc\"\nwave = \"sawx\"", 1), "p.toml:7:1: osc.wave: unknown value \"sawx\" (want sine, saw, square, triangle)"},
		{"enum as number", strings.Replace(head, "kind = \"osc\"", "kind = \"osc\"\nwave = 1", 1), "p.toml:7:1: osc.wave must be one of"},
		{"out of range", strings.Replace(head, "kind = \"osc\"", "kind = \"osc\"\n  semi = 99", 1), "p.toml:7:3: osc.semi = 99 is out of range -48..48"},
		{"nan", strings.Replace(head, "kind = \"osc\"", "kind = \"osc\"\nlevel = nan", 1), "p.toml:7:1: osc.level = nan is out of range 0..1"},
		{"wrong type", strings.Replace(head, "kind = \"amp\"", "kind = \"amp\"\ngain = true", 1), "p.toml:11:1: amp.gain must be a number"},
		{"bad id", strings.Replace(head, "id = \"osc\"", "id = \"9osc\"", 1), "p.toml:5:1: bad module id \"9osc\""},
		{"duplicate id", strings.Replace(head, "id = \"amp\"", "id = \"osc\"", 1), "p.toml:9:1: module osc exists already"},
		{"unknown from", strings.Replace(head, "from = \"osc\"", "from = \"osc9\"", 1), "p.toml:13:1: route 0: unknown module \"osc9\""},
		{"unknown to", strings.Replace(head, "to = \"amp.in\"", "to = \"amp9.in\"", 1), "p.toml:14:1: route 0: unknown module \"amp9\""},
		{"not module.port", strings.Replace(head, "to = \"amp.in\"", "to = \"amp\"", 1), "p.toml:14:1: route 0: to = \"amp\" is not module.port"},
		{"unknown port", strings.Replace(head, "to = \"amp.in\"", "to = \"amp.input\"", 1), "p.toml:14:1: route 0 (osc -> amp.input): module \"amp\" has no input or parameter \"input\""},
		{"unknown route key", head + "gain = 2\n", "p.toml:15:1: route 0: unknown key \"gain\""},
		{"bad op", head + "op = \"times\"\n", "p.toml:15:1: route 0: unknown op \"times\""},
		{"mul on an input", head + "op = \"mul\"\n", "p.toml:15:1: route 0 (osc -> amp.in): operation 1 is not allowed here"},
		{"amount type", head + "amount = \"x\"\n", "p.toml:15:1: route 0: amount must be a number"},
		{"no out", strings.Replace(head, "out = \"amp\"\n", "", 1), "p.toml:1:2: no output"},
		{"unknown out", strings.Replace(head, "out = \"amp\"", "out = \"vca\"", 1), "p.toml:2:1: output \"vca\" is not a module"},
		{"audio to param", head + "\n[[module]]\nid = \"f\"\nkind = \"filter\"\n\n[[route]]\nfrom = \"f\"\nto = \"amp.gain\"\n",
			"p.toml:21:1: route 1 (f -> amp.gain): an audio output cannot modulate a parameter"},
		{"unconnected filter", strings.Replace(head, "to = \"amp.in\"", "to = \"f.in\"", 1) + "\n[[module]]\nid = \"f\"\nkind = \"filter\"\n",
			"p.toml:9:1: module \"amp\": input in is not connected"},
		{"cycle", head + "\n[[module]]\nid = \"l1\"\nkind = \"lfo\"\n\n[[module]]\nid = \"l2\"\nkind = \"lfo\"\n\n" +
			"[[route]]\nfrom = \"l1\"\nto = \"l2.rate\"\n\n[[route]]\nfrom = \"l2\"\nto = \"l1.rate\"\n\n[[route]]\nfrom = \"l1\"\nto = \"amp.gain\"\n",
			"p.toml:17:1: cycle: l1 -> l2 -> l1"},
		{"unused", head + "\n[[module]]\nid = \"spare\"\nkind = \"noise\"\n", "p.toml:17:1: module \"spare\": its output reaches no output"},
		{"long name", strings.Replace(head, "out = \"amp\"", "out = \"amp\"\nname = \"abcdefghijklmnopqrstuvwxyz\"", 1), "p.toml:3:1: the patch name is longer than 24 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p.toml", []byte(c.src))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed; want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) && !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q\nwant  %q", err.Error(), c.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Errorf("error is a %T", err)
			}
		})
	}
}
