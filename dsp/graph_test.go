package dsp

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// graphBuild builds a graph from a compact description for tests:
// modules "id:kind", params "id.param=value" (enums by name), routes
// "from>to.port*amount" (optional *amount, +mul for RouteMul) and the
// output id. It fails the test on a builder error (not a Compile error).
func graphBuild(t testing.TB, out string, items ...string) *Graph {
	t.Helper()
	g := new(Graph)
	g.SetName("test")
	for _, it := range items {
		var err error
		switch {
		case strings.Contains(it, ">"):
			from, to, _ := strings.Cut(it, ">")
			op := RouteAdd
			if strings.HasSuffix(to, "+mul") {
				op, to = RouteMul, strings.TrimSuffix(to, "+mul")
			}
			amt := 1.0
			if a, b, ok := strings.Cut(to, "*"); ok {
				to = a
				amt = parseF(t, b)
			}
			err = g.Connect(from, to, amt, op)
		case strings.Contains(it, "="):
			lhs, val, _ := strings.Cut(it, "=")
			id, param, _ := strings.Cut(lhs, ".")
			if val[0] >= 'a' && val[0] <= 'z' {
				err = g.SetParamName(id, param, val)
			} else {
				err = g.SetParam(id, param, parseF(t, val))
			}
		default:
			id, kind, _ := strings.Cut(it, ":")
			k, ok := ParseModuleKind(kind)
			if !ok {
				k = ModuleKind(200)
			}
			g.Modules[g.NModules] = Module{Kind: k}
			copy(g.Modules[g.NModules].ID[:], id)
			g.NModules++
		}
		if err != nil {
			t.Fatalf("%s: %v", it, err)
		}
	}
	copy(g.Out[:], out)
	return g
}

func parseF(t testing.TB, s string) float64 {
	t.Helper()
	var v float64
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	for _, c := range whole {
		v = v*10 + float64(c-'0')
	}
	sc := 0.1
	for _, c := range frac {
		v += float64(c-'0') * sc
		sc /= 10
	}
	if neg {
		v = -v
	}
	return v
}

// graphSub6 is the benchmark's 6-module subtractive patch: two saws into
// a mixer, a resonant low-pass whose cutoff one envelope opens, and an
// amplifier driven by the same envelope.
func graphSub6(t testing.TB) *Graph {
	return graphBuild(t, "amp1",
		"osc1:osc", "osc2:osc", "mix1:mix", "filt1:filter", "env1:env", "amp1:amp",
		"osc1.wave=saw", "osc1.level=0.5", "osc1.detune=-8",
		"osc2.wave=saw", "osc2.level=0.5", "osc2.detune=8",
		"filt1.cutoff=1400", "filt1.q=0.9",
		"env1.attack=0.01", "env1.decay=0.3", "env1.sustain=0.6", "env1.release=0.2", "env1.curve=exponential",
		"amp1.gain=0",
		"osc1>mix1.in1", "osc2>mix1.in2", "mix1>filt1.in", "filt1>amp1.in",
		"env1>filt1.cutoff*2", "env1>amp1.gain*0.35",
	)
}

func mustCompile(t testing.TB, g *Graph) *GraphProgram {
	t.Helper()
	p := new(GraphProgram)
	if err := Compile(g, p); err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

// graphRender plays key for hold frames, releases it and renders rel
// more frames, in blocks of blk frames.
func graphRender(t testing.TB, p *GraphProgram, key uint8, vel float64, hold, rel, blk int) []float32 {
	t.Helper()
	var r GraphRenderer
	r.Init(48000)
	var v GraphVoice
	r.NoteOn(p, &v, key, vel, 1)
	out := make([]float32, hold+rel)
	for i := 0; i < len(out); {
		if i == hold {
			r.NoteOff(p, &v)
		}
		e := min(i+blk, len(out))
		if i < hold {
			e = min(e, hold)
		}
		r.Render(p, &v, VoiceInput{}, out[i:e])
		i = e
	}
	return out
}

func TestGraphCompileSub6(t *testing.T) {
	p := mustCompile(t, graphSub6(t))
	if !p.Valid() || p.nops != 6 || p.naud != 5 || p.nctl != 1 {
		t.Fatalf("ops %d (audio %d, control %d)", p.nops, p.naud, p.nctl)
	}
	// The oscillators add straight into the mixer's buffer; the filter
	// and the amplifier work in place: one buffer in all.
	if p.nbuf != 1 {
		t.Errorf("%d buffers, want 1", p.nbuf)
	}
	x := graphRender(t, p, 57, 1, 24000, 24000, 64)
	if rms := synRMS(x[4800:24000]); rms < 0.02 || rms > 0.5 {
		t.Errorf("sustain rms %g", rms)
	}
	if rms := synRMS(x[len(x)-4800:]); rms != 0 {
		t.Errorf("after the release rms %g, want 0", rms)
	}
}

// TestGraphValidation checks that Compile refuses every kind of broken
// graph with an error that names the module and port.
func TestGraphValidation(t *testing.T) {
	base := []string{"osc1:osc", "amp1:amp", "osc1>amp1.in"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	cases := []struct {
		name  string
		out   string
		items []string
		code  GraphErrorCode
		want  string // substring of the message
	}{
		{"ok", "amp1", base, ErrNone, ""},
		{"no out", "", base, ErrNoOut, "no output module"},
		{"unknown out", "amp9", base, ErrUnknownOut, `output "amp9" is not a module`},
		{"control out", "env1", with("env1:env", "env1>amp1.gain"), ErrOutNotAudio, `output "env1" is a control module`},
		{"unknown kind", "amp1", with("vcf1:vcf"), ErrUnknownKind, `module "vcf1": unknown kind`},
		{"bad id", "amp1", with("1osc:osc"), ErrBadID, `bad id "1osc"`},
		{"duplicate id", "amp1", with("osc1:noise"), ErrDuplicateID, `module "osc1" is defined twice`},
		{"param range", "amp1", with("osc1.semi=60"), ErrParamRange, `module "osc1": semi = 60 is out of range -48..48`},
		{"dangling from", "amp1", with("osc9>amp1.gain"), ErrUnknownFrom, `route 1 (osc9 -> amp1.gain): unknown module "osc9"`},
		{"dangling to", "amp1", with("osc1>amp9.in"), ErrUnknownTo, `route 1 (osc1 -> amp9.in): unknown module "amp9"`},
		{"unknown param", "amp1", with("env1:env", "env1>amp1.volume"), ErrUnknownPort, `module "amp1" has no input or parameter "volume"`},
		{"missing input", "amp1", []string{"amp1:amp", "filt1:filter", "filt1>amp1.in"}, ErrMissingInput, `module "filt1": input in is not connected`},
		{"mix without inputs", "amp1", []string{"mix1:mix", "amp1:amp", "mix1>amp1.in"}, ErrMissingInput, `module "mix1": input in1 is not connected`},
		{"input taken", "amp1", with("osc2:osc", "osc2>amp1.in"), ErrInputTaken, `amp1.in is connected twice (also from "osc1")`},
		{"audio to param", "amp1", with("osc2:osc", "osc2>amp1.gain"), ErrAudioToParam, `route 1 (osc2 -> amp1.gain): an audio output cannot modulate`},
		{"control to audio", "amp1", []string{"env1:env", "amp1:amp", "env1>amp1.in"}, ErrControlToAudio, `a control output cannot feed an audio input`},
		{"fixed param", "amp1", with("env1:env", "env1>osc1.wave"), ErrNotModulatable, `parameter wave cannot be modulated`},
		{"mul on cutoff", "amp1", []string{"osc1:osc", "f:filter", "amp1:amp", "e:env", "osc1>f.in", "f>amp1.in", "e>f.cutoff+mul"}, ErrBadOp, "not allowed here"},
		{"amount", "amp1", with("env1:env", "env1>amp1.gain*5000"), ErrAmount, "amount 5000 is out of range"},
		{"unused", "amp1", with("osc2:osc"), ErrUnused, `module "osc2": its output reaches no output`},
		{"unused env", "amp1", with("env1:env"), ErrUnused, `module "env1": its output reaches no output`},
		{"self loop", "amp1", with("l:lfo", "l>l.rate"), ErrCycle, "cycle: l -> l"},
		{"audio cycle", "amp2", []string{"osc1:osc", "m:mix", "f:filter", "amp2:amp", "osc1>m.in1", "m>f.in", "f>m.in2", "f>amp2.in"},
			ErrCycle, "cycle: m -> f -> m"},
		{"control cycle", "amp1", with("l1:lfo", "l2:lfo", "l1>l2.rate", "l2>l1.depth", "l1>amp1.gain"), ErrCycle, "cycle: l1 -> l2 -> l1"},
		{"too many oscs", "m", []string{"o1:osc", "o2:osc", "o3:osc", "o4:noise", "o5:osc", "o6:osc", "o7:osc", "m:mix", "m2:mix",
			"o1>m.in1", "o2>m.in2", "o3>m.in3", "o4>m.in4", "o5>m2.in1", "o6>m2.in2", "o7>m2.in3", "m2>m.in1"}, ErrKindLimit, `module "o7": more than 6 modules of its kind`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := graphBuild(t, c.out, c.items...)
			var p GraphProgram
			err := Compile(g, &p)
			if c.code == ErrNone {
				if err != nil || !p.Valid() {
					t.Fatalf("err %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("compiled")
			}
			if p.Valid() {
				t.Error("program valid after an error")
			}
			ge, ok := err.(*GraphError)
			if !ok || ge.Code != c.code {
				t.Fatalf("err %v (%T), want code %d", err, err, c.code)
			}
			if !strings.HasPrefix(err.Error(), "dsp: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("message %q, want it to contain %q", err.Error(), c.want)
			}
		})
	}

	// Limits that the builder refuses are still checked by Compile.
	g := graphBuild(t, "amp1", base...)
	g.NModules = MaxModules + 1
	var p GraphProgram
	if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrTooManyModules {
		t.Errorf("17 modules: %v", err)
	}
	g = graphBuild(t, "amp1", base...)
	g.NRoutes = MaxRoutes + 1
	if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrTooManyRoutes {
		t.Errorf("33 routes: %v", err)
	}
	g = graphBuild(t, "amp1", base...)
	g.Modules[0].Set |= 1 << 7 // osc has 6 parameters
	if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrUnknownParam {
		t.Errorf("unknown parameter bit: %v", err)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		g = graphBuild(t, "amp1", base...)
		g.Modules[1].Param[AmpGain], g.Modules[1].Set = bad, 1
		if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrParamRange {
			t.Errorf("gain %v: %v", bad, err)
		}
		g = graphBuild(t, "amp1", append(base, "e:env", "e>amp1.gain")...)
		g.Routes[1].Amount = bad
		if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrAmount {
			t.Errorf("amount %v: %v", bad, err)
		}
	}
	g = graphBuild(t, "amp1", append(base, "osc1.wave=1.5")...)
	if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrParamRange {
		t.Errorf("wave 1.5: %v", err)
	}
}

// TestGraphCompileAllocs: Compile allocates nothing, on success or on
// failure (the error lives in the program).
func TestGraphCompileAllocs(t *testing.T) {
	good := graphSub6(t)
	bad := graphBuild(t, "amp2", "osc1:osc", "m:mix", "f:filter", "amp2:amp", "osc1>m.in1", "m>f.in", "f>m.in2", "f>amp2.in")
	var p GraphProgram
	if a := testing.AllocsPerRun(100, func() {
		if Compile(good, &p) != nil {
			t.Fatal("good graph refused")
		}
	}); a != 0 {
		t.Errorf("Compile: %v allocs", a)
	}
	if a := testing.AllocsPerRun(100, func() {
		if Compile(bad, &p) == nil {
			t.Fatal("cycle accepted")
		}
	}); a != 0 {
		t.Errorf("Compile with an error: %v allocs", a)
	}
}

// TestGraphRenderAllocs: note-on, rendering and note-off allocate nothing.
func TestGraphRenderAllocs(t *testing.T) {
	p := mustCompile(t, graphLFOPatch(t))
	var r GraphRenderer
	r.Init(48000)
	var v GraphVoice
	out := make([]float32, 64)
	k := 0
	if a := testing.AllocsPerRun(200, func() {
		if k%50 == 0 {
			r.NoteOn(p, &v, uint8(40+k%30), 0.8, uint64(k))
		}
		if k%50 == 40 {
			r.NoteOff(p, &v)
		}
		r.Render(p, &v, VoiceInput{Bend: 0.5, Mod: 0.3}, out)
		k++
	}); a != 0 {
		t.Errorf("render: %v allocs", a)
	}
}

// graphLFOPatch exercises every kind: noise, two oscillators (one
// vibrato'd by an LFO whose depth the mod wheel adds), a mixer, a
// band-pass with key tracking and an envelope, an amplifier with
// velocity and an envelope, and a high-pass after it.
func graphLFOPatch(t testing.TB) *Graph {
	return graphBuild(t, "hp",
		"o1:osc", "o2:osc", "n:noise", "m:mix", "f:filter", "a:amp", "hp:filter",
		"e1:env", "e2:env", "l:lfo", "key:input", "vel:input", "mw:input",
		"o1.wave=square", "o1.pw=0.3", "o2.wave=triangle", "o2.semi=12", "n.color=pink", "n.level=0.2",
		"m.level2=0.5", "f.type=bandpass", "f.cutoff=800", "f.q=2", "hp.type=highpass", "hp.cutoff=80",
		"e1.attack=0.002", "e1.decay=0.05", "e1.sustain=0.3", "e1.release=0.03",
		"e2.attack=0.02", "e2.decay=0.1", "e2.sustain=0.7", "e2.release=0.05", "e2.curve=exponential",
		"l.shape=triangle", "l.rate=6", "l.depth=0.2", "a.gain=0",
		"key.source=key", "vel.source=velocity2", "mw.source=mod",
		"o1>m.in1", "o2>m.in2", "n>m.in3", "m>f.in", "f>a.in", "a>hp.in",
		"l>o1.semi", "l>o2.pw*0.2", "mw>l.depth*0.5", "e1>f.cutoff*3", "key>f.cutoff*0.5",
		"e2>a.gain*0.5", "vel>a.gain*0.5+mul", "l>m.level1*0.1",
	)
}

// TestGraphPointerFree: the program, the voice and the renderer hold no
// pointers, slices, maps or strings, so a synth can keep them in its
// snapshot state.
func TestGraphPointerFree(t *testing.T) {
	var walk func(tp reflect.Type, path string)
	walk = func(tp reflect.Type, path string) {
		switch tp.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64:
		case reflect.Array:
			walk(tp.Elem(), path+"[]")
		case reflect.Struct:
			for i := 0; i < tp.NumField(); i++ {
				walk(tp.Field(i).Type, path+"."+tp.Field(i).Name)
			}
		default:
			t.Errorf("%s is a %v", path, tp.Kind())
		}
	}
	for _, v := range []any{Graph{}, GraphProgram{}, GraphVoice{}, GraphRenderer{}} {
		walk(reflect.TypeOf(v), reflect.TypeOf(v).Name())
	}
	// The synth's graph state: slots, instances, voices, effects chains
	// and delay lines.
	walk(reflect.TypeFor[graphState](), "graphState")
	t.Logf("sizeof Graph %d, GraphProgram %d, GraphVoice %d, GraphRenderer %d, hand voice %d bytes",
		unsafe.Sizeof(Graph{}), unsafe.Sizeof(GraphProgram{}), unsafe.Sizeof(GraphVoice{}), unsafe.Sizeof(GraphRenderer{}), unsafe.Sizeof(voice{}))
}
