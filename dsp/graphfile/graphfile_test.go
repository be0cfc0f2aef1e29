package graphfile

import (
	"io/fs"
	"math"
	"path"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
)

func shippedPatches(t testing.TB) map[string][]byte {
	t.Helper()
	names, err := fs.Glob(Shipped(), "*/*.toml")
	if err != nil || len(names) < 16 {
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
			base := strings.TrimSuffix(path.Base(name), ".toml")
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

// TestFxRoundTrip: a patch with an effects chain (an [[fx]] named after
// its kind, awkward numbers) parses into fx modules after the voice
// modules, in file order, and comes back from Encode unchanged.
func TestFxRoundTrip(t *testing.T) {
	const src = `[patch]
out = "amp"

[[module]]
id = "osc"
kind = "osc"

[[module]]
id = "amp"
kind = "amp"

[[fx]]
kind = "delay"
time = 0.30000000000000004
feedback = 0.5
tone = 2500

[[route]]
from = "osc"
to = "amp.in"

[[fx]]
id = "crunch"
kind = "drive"
amount = 7
mix = 0.25
`
	g, err := Parse("fx.toml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if g.NModules != 4 || g.Modules[2].IDString() != "delay" || g.Modules[3].IDString() != "crunch" ||
		g.Modules[2].Kind != dsp.KindDelay || g.Modules[3].Kind != dsp.KindDrive {
		t.Fatalf("modules %+v", g.Modules[:g.NModules])
	}
	d := &g.Modules[2]
	if x := 0.1; d.Value(dsp.DelayTime) != x+0.2 || d.Value(dsp.DelayFeedback) != 0.5 || d.Value(dsp.DelayTone) != 2500 ||
		d.Value(dsp.DelayMix) != dsp.KindDelay.Param(dsp.DelayMix).Default || d.Set&(1<<dsp.DelayMix) != 0 {
		t.Fatalf("delay %+v", *d)
	}
	enc := Encode(&g)
	back, err := Parse("fx.toml", enc)
	if err != nil {
		t.Fatalf("%v\n%s", err, enc)
	}
	if back != g {
		t.Errorf("round trip changed the graph:\n%s", enc)
	}
	if !strings.Contains(string(enc), "[[fx]]\nid = \"delay\"\nkind = \"delay\"\ntime = 0.30000000000000004\n") {
		t.Errorf("encoding:\n%s", enc)
	}
}

// TestFxParseErrors: mistakes in [[fx]] tables, and effects where they do
// not belong, are reported at their file, line and column.
func TestFxParseErrors(t *testing.T) {
	const head = "[patch]\nout = \"amp\"\n\n[[module]]\nid = \"osc\"\nkind = \"osc\"\n\n[[module]]\nid = \"amp\"\nkind = \"amp\"\n\n[[route]]\nfrom = \"osc\"\nto = \"amp.in\"\n"
	// Lines 16.. hold what each case adds.
	cases := []struct {
		name, add, want string
	}{
		{"ok", "\n[[fx]]\nkind = \"drive\"\n\n[[fx]]\nid = \"echo\"\nkind = \"delay\"\ntime = 1\n", ""},
		{"no kind", "\n[[fx]]\nid = \"echo\"\n", "p.toml:16:3: fx 0 needs kind"},
		{"unknown kind", "\n[[fx]]\nkind = \"reverb\"\n", "p.toml:17:1: fx 0: unknown kind \"reverb\" (want drive or delay)"},
		{"voice kind", "\n[[fx]]\nkind = \"filter\"\n", "p.toml:17:1: fx 0: unknown kind \"filter\""},
		{"fx as module", "\n[[module]]\nid = \"d\"\nkind = \"delay\"\n", "p.toml:18:1: module d: delay is an effect: declare it in [[fx]]"},
		{"unknown param", "\n[[fx]]\nkind = \"delay\"\ndecay = 3\n", "p.toml:18:1: fx delay: delay has no parameter \"decay\" (want time, feedback, mix, tone)"},
		{"out of range", "\n[[fx]]\nid = \"echo\"\nkind = \"delay\"\n  time = 2\n", "p.toml:19:3: echo.time = 2 is out of range 0.001..1"},
		{"feedback", "\n[[fx]]\nkind = \"delay\"\nfeedback = 1\n", "p.toml:18:1: delay.feedback = 1 is out of range 0..0.95"},
		{"drive amount", "\n[[fx]]\nkind = \"drive\"\namount = 0\n", "p.toml:18:1: drive.amount = 0 is out of range 1..100"},
		{"tone", "\n[[fx]]\nkind = \"drive\"\ntone = 50\n", "p.toml:18:1: drive.tone = 50 is out of range 200..20000"},
		{"not a number", "\n[[fx]]\nkind = \"drive\"\nmix = \"wet\"\n", "p.toml:18:1: drive.mix must be a number"},
		{"id type", "\n[[fx]]\nid = 3\nkind = \"drive\"\n", "p.toml:17:1: fx 0: id must be a string"},
		{"duplicate id", "\n[[fx]]\nid = \"osc\"\nkind = \"drive\"\n", "p.toml:17:1: fx 0: module osc exists already"},
		{"duplicate kind", "\n[[fx]]\nkind = \"drive\"\n\n[[fx]]\nkind = \"drive\"\n", "p.toml:20:1: fx 1: module drive exists already"},
		{"two delays", "\n[[fx]]\nkind = \"delay\"\n\n[[fx]]\nid = \"d2\"\nkind = \"delay\"\n", "p.toml:20:1: module \"d2\": more than 1 module of its kind"},
		{"two delays by kind", "\n[[fx]]\nid = \"d1\"\nkind = \"delay\"\n\n[[fx]]\nkind = \"delay\"\nid = \"d2\"\n", "p.toml:22:1: module \"d2\": more than 1 module of its kind"},
		{"too many", strings.Repeat("\n[[fx]]\nkind = \"drive\"\n", 5), "p.toml:28:3: more than 4 effects"},
		{"route to fx", "\n[[fx]]\nkind = \"drive\"\n\n[[route]]\nfrom = \"osc\"\nto = \"drive.amount\"\n", "p.toml:21:1: route 1: \"drive\" is an effect and takes no routes"},
		{"route from fx", "\n[[fx]]\nkind = \"drive\"\n\n[[route]]\nfrom = \"drive\"\nto = \"amp.gain\"\n", "p.toml:20:1: route 1: \"drive\" is an effect and takes no routes"},
		{"fx is a table array", "fx = 3\n", "p.toml:1:1: fx must be an array of tables"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := head + c.add
			if strings.HasPrefix(c.add, "fx") { // a top-level key
				src = c.add + head
			}
			_, err := Parse("p.toml", []byte(src))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("parsed; want %q", c.want)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q\nwant  %q", err.Error(), c.want)
			}
		})
	}
	src := strings.Replace(head, "out = \"amp\"", "out = \"drive\"", 1) + "\n[[fx]]\nkind = \"drive\"\n"
	if _, err := Parse("p.toml", []byte(src)); err == nil || !strings.HasPrefix(err.Error(), "p.toml:2:1: output \"drive\" is an effect") {
		t.Errorf("fx as output: %v", err)
	}
}

// TestPatchOptions: one_shot and choke in [patch] parse into the graph,
// encode and come back; mistakes are reported where they are.
func TestPatchOptions(t *testing.T) {
	const body = "\n[[module]]\nid = \"osc\"\nkind = \"osc\"\n\n[[module]]\nid = \"env\"\nkind = \"env\"\nsustain = 0\n\n" +
		"[[module]]\nid = \"amp\"\nkind = \"amp\"\n\n[[route]]\nfrom = \"osc\"\nto = \"amp.in\"\n\n[[route]]\nfrom = \"env\"\nto = \"amp.gain\"\n"
	g, err := Parse("o.toml", []byte("[patch]\nout = \"amp\"\none_shot = true\nchoke = 3\n"+body))
	if err != nil {
		t.Fatal(err)
	}
	if !g.OneShot || g.Choke != 3 {
		t.Fatalf("options %v %d", g.OneShot, g.Choke)
	}
	enc := Encode(&g)
	if back, err := Parse("o.toml", enc); err != nil || back != g {
		t.Fatalf("round trip: %v\n%s", err, enc)
	}
	if g, err := Parse("o.toml", []byte("[patch]\nout = \"amp\"\none_shot = false\nchoke = 0\n"+body)); err != nil || g.OneShot || g.Choke != 0 ||
		strings.Contains(string(Encode(&g)), "one_shot") || strings.Contains(string(Encode(&g)), "choke") {
		t.Fatalf("options off: %v", err)
	}
	for _, c := range []struct{ patch, body, want string }{
		{"one_shot = 1", body, "o.toml:3:1: patch.one_shot must be true or false"},
		{"choke = 256", body, "o.toml:3:1: patch.choke must be a choke group 0..255"},
		{"choke = \"hats\"", body, "o.toml:3:1: patch.choke must be a choke group"},
		{"one_shot = true", strings.Replace(body, "sustain = 0", "sustain = 0.5", 1),
			"o.toml:3:1: one_shot: envelope \"env\" sustains at 0.5"},
	} {
		_, err := Parse("o.toml", []byte("[patch]\nout = \"amp\"\n"+c.patch+"\n"+c.body))
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: %v\nwant %s", c.patch, err, c.want)
		}
	}
}

// stageGraph stages g in s as the wire's patch ops would and commits it
// into slot 0 for channel 0 at frame 0.
func stageGraph(t *testing.T, s *dsp.Synth, g *dsp.Graph) {
	t.Helper()
	ok := s.StagePatch(dsp.PatchAbort, "", "", 0, 0, 0)
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		ok = ok && s.StagePatch(dsp.PatchCreate, m.IDString(), m.Kind.String(), 0, 0, 0)
		for j := 0; j < m.Kind.NumParams(); j++ {
			if m.Set&(1<<uint(j)) != 0 {
				ok = ok && s.StagePatch(dsp.PatchSet, m.IDString(), m.Kind.Param(j).Name, 0, m.Param[j], 0)
			}
		}
	}
	for i := 0; i < int(g.NRoutes); i++ {
		r := &g.Routes[i]
		to := g.ModuleIndex(pad(r.To[:]))
		port := g.Modules[to].Kind.PortIndex(pad(r.Port[:]))
		ok = ok && s.StagePatch(dsp.PatchConnect, pad(r.From[:]), pad(r.To[:]), uint8(port), r.Amount, uint16(r.Op))
	}
	if !ok || !s.CommitPatch(0, g.OutString(), 0, 0) {
		t.Fatal("staging or commit refused")
	}
}

// TestShippedPluckEchoes: the shipped echo-pluck plays through its effects
// chain in a synth: after the note has ended its echo rings on, and that
// tail correlates best (lags d/2..3d/2) with the dry pluck 0.375 s (its
// delay time, d frames) before it.
func TestShippedPluckEchoes(t *testing.T) {
	const rate, n, d = 48000, 36000, 18000 // d = 0.375 s
	g, err := Parse("echo-pluck.toml", shippedPatches(t)["patches/echo-pluck.toml"])
	if err != nil {
		t.Fatal(err)
	}
	dry := g
	for dry.ModuleIndex("echo") >= 0 || dry.ModuleIndex("warmth") >= 0 {
		_ = dry.RemoveModule("echo")
		_ = dry.RemoveModule("warmth")
	}
	play := func(g *dsp.Graph) ([]float32, *dsp.Synth) {
		s, err := dsp.New(dsp.Config{SampleRate: rate})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []dsp.Param{dsp.ParamReverbMix, dsp.ParamDelayMix, dsp.ParamMasterDrive} {
			s.Schedule(dsp.Event{Kind: dsp.SetParam, Param: p, Value: 0})
		}
		stageGraph(t, s, g)
		s.Schedule(dsp.Event{Kind: dsp.NoteOn, Key: 57, Value: 0.9})
		s.Schedule(dsp.Event{Frame: 2400, Kind: dsp.NoteOff, Key: 57})
		l, r := make([]float32, n), make([]float32, n)
		s.Render(l[:16000], r[:16000])
		if st := s.GraphFxStats(); g == &dry && st.Chains != 0 || g != &dry && (st.Chains != 1 || st.DelayLines != 1) {
			t.Fatalf("%+v", st)
		}
		s.Render(l[16000:], r[16000:])
		return l, s
	}
	x, _ := play(&dry)
	y, _ := play(&g)
	last := 0
	for i, v := range x {
		if v != 0 {
			last = i
		}
	}
	tail := 0.0
	for _, v := range y[last+1:] {
		tail = max(tail, float64(v))
	}
	if last > d || tail < 0.01 {
		t.Fatalf("the dry note ends at %d; after it the output peaks at %g", last, tail)
	}
	best, bestLag := 0.0, 0
	for lag := d / 2; lag < d*3/2; lag++ {
		c := 0.0
		for i := max(last+1, lag); i < n; i++ {
			c += float64(y[i]) * float64(x[i-lag])
		}
		if c > best {
			best, bestLag = c, lag
		}
	}
	if bestLag != d {
		t.Fatalf("the output correlates best with the dry note %d frames after it, want %d", bestLag, d)
	}
}
