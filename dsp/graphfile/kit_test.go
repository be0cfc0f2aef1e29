package graphfile

import (
	"io/fs"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
)

// TestShippedKit: kits/drums.toml covers every key as the preset kit
// does (same sound names, one-shots, choke groups and pans), fits a
// synth in 61 programs (the two clicks share one), round-trips through
// EncodeKit, and is not among the patch files a loader of Shipped reads.
func TestShippedKit(t *testing.T) {
	k := shippedKit(t)
	if k.Name != "drums" {
		t.Errorf("name %q", k.Name)
	}
	for key := 0; key < 128; key++ {
		sd, pt := k.Sound(uint8(key)), dsp.DrumPatch(uint8(key))
		if sd == nil {
			t.Errorf("key %d: no sound", key)
			continue
		}
		if sd.Name != pt.NameString() || sd.Graph.OneShot != pt.OneShot || sd.Graph.Choke != pt.Choke || sd.Pan != pt.Pan {
			t.Errorf("key %d: %q one_shot %v choke %d pan %g; preset %q %v %d %g", key, sd.Name, sd.Graph.OneShot, sd.Graph.Choke, sd.Pan,
				pt.NameString(), pt.OneShot, pt.Choke, pt.Pan)
		}
	}
	if len(k.Templates) > 10 {
		t.Errorf("%d templates", len(k.Templates))
	}
	back, err := ParseKit("drums.toml", EncodeKit(k))
	if err != nil {
		t.Fatalf("encoded kit does not parse: %v", err)
	}
	if !reflect.DeepEqual(back, k) {
		t.Error("EncodeKit/ParseKit round trip changed the kit")
	}
	s := mSynth(t)
	n, err := s.LoadKit(k.KitSounds(), 0, dsp.DrumChannel)
	if err != nil {
		t.Fatal(err)
	}
	mRender(s, mNote{key: 60}, 10, 10) // apply the commit
	if got := s.KitPrograms(); got != 61 {
		t.Errorf("%d programs, want 61", got)
	}
	t.Logf("the kit stages in %d commands into %d programs", n, s.KitPrograms())
	if m, _ := fs.Glob(Shipped(), "presets/drums*"); len(m) != 0 {
		t.Errorf("a kit among the preset patches: %v", m)
	}
}

// TestShippedKitSounds: every key of the kit sounds on the percussion
// channel, and ends (one-shots).
func TestShippedKitSounds(t *testing.T) {
	k := shippedKit(t)
	s := mSynth(t)
	if _, err := s.LoadKit(k.KitSounds(), 0, dsp.DrumChannel); err != nil {
		t.Fatal(err)
	}
	l, r := make([]float32, 480), make([]float32, 480)
	s.Render(l, r)
	for key := uint8(0); key < 128; key++ {
		f := s.Frame() + uint64(s.Latency())
		s.Schedule(dsp.Event{Frame: f, Kind: dsp.NoteOn, Channel: dsp.DrumChannel, Key: key, Value: 1})
		peak := 0.0
		for range 10 { // 100 ms
			s.Render(l, r)
			for i := range l {
				peak = max(peak, math.Abs(float64(l[i]))+math.Abs(float64(r[i])))
			}
		}
		if peak < 1e-3 {
			t.Errorf("key %d (%s) is silent", key, k.Sound(key).Name)
		}
	}
	for range 500 { // 5 s: the longest sound (crash 2, 1.8 s decay) has ended
		s.Render(l, r)
	}
	if n := s.ActiveVoices(); n != 0 {
		t.Errorf("%d voices still sounding", n)
	}
	if st := s.Stats(); st.NonFinite != 0 || st.PatchRefused != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestShippedKitRenderAllocs: playing the kit allocates nothing.
func TestShippedKitRenderAllocs(t *testing.T) {
	k := shippedKit(t)
	s := mSynth(t)
	if _, err := s.LoadKit(k.KitSounds(), 0, dsp.DrumChannel); err != nil {
		t.Fatal(err)
	}
	l, r := make([]float32, 128), make([]float32, 128)
	i := 0
	allocs := testing.AllocsPerRun(300, func() {
		f := s.Frame() + uint64(s.Latency())
		if i%3 == 0 {
			key := uint8(35 + (i*7)%53)
			s.Schedule(dsp.Event{Frame: f, Kind: dsp.NoteOn, Channel: dsp.DrumChannel, Key: key, Value: 0.9})
			s.Schedule(dsp.Event{Frame: f + 20, Kind: dsp.NoteOff, Channel: dsp.DrumChannel, Key: key})
		}
		s.Render(l, r)
		i++
	})
	if allocs != 0 {
		t.Errorf("%v allocs per block", allocs)
	}
}

const kitSrc = `[kit]
name = "tiny"

[[template]]
name = "beep"
out = "amp"
one_shot = true
[[template.module]]
id = "osc"
kind = "osc"
wave = "sine"
hz = 440
[[template.module]]
id = "env"
kind = "env"
sustain = 0
[[template.module]]
id = "amp"
kind = "amp"
gain = 0
[[template.route]]
from = "osc"
to = "amp.in"
[[template.route]]
from = "env"
to = "amp.gain"
amount = 0.5

[[sound]]
name = "low"
keys = [36, "38-40"]
template = "beep"
set = { "osc.hz" = 110, "osc.wave" = "square", "env->amp.gain" = 0.25 }
pan = -0.5
choke = 2

[[sound]]
keys = 50
out = "amp"
one_shot = true
[[sound.module]]
id = "n"
kind = "noise"
[[sound.module]]
id = "e"
kind = "env"
sustain = 0
[[sound.module]]
id = "amp"
kind = "amp"
[[sound.route]]
from = "n"
to = "amp.in"
[[sound.route]]
from = "e"
to = "amp.gain"
`

// TestParseKit: templates, overrides (parameters, a choice by name, a
// route amount), key lists and ranges, inline graphs, and the round
// trip.
func TestParseKit(t *testing.T) {
	k, err := ParseKit("tiny.toml", []byte(kitSrc))
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Sounds) != 2 || k.Name != "tiny" {
		t.Fatalf("%+v", k)
	}
	low := &k.Sounds[0]
	if !reflect.DeepEqual(low.Keys, []uint8{36, 38, 39, 40}) || low.Pan != -0.5 || low.Graph.Choke != 2 || !low.Graph.OneShot || low.Template != "beep" {
		t.Errorf("low: %+v", low)
	}
	g := &low.Graph
	osc := &g.Modules[g.ModuleIndex("osc")]
	if osc.Value(dsp.OscHz) != 110 || osc.Value(dsp.OscWave) != float64(dsp.Square) || g.Routes[1].Amount != 0.25 || g.NameString() != "low" {
		t.Errorf("overrides not applied: %+v", osc)
	}
	if tg := &k.Templates[0].Graph; tg.Routes[1].Amount != 0.5 || tg.Modules[0].Value(dsp.OscHz) != 440 {
		t.Error("the override changed the template")
	}
	if k.Sounds[1].Name != "sound 1" || k.Sounds[1].Template != "" || k.Sounds[1].Keys[0] != 50 {
		t.Errorf("inline: %+v", k.Sounds[1])
	}
	enc := EncodeKit(k)
	back, err := ParseKit("tiny.toml", enc)
	if err != nil {
		t.Fatalf("%v\n%s", err, enc)
	}
	if !reflect.DeepEqual(back, k) {
		t.Errorf("round trip:\n%s", enc)
	}
	if s := k.KitSounds(); !s[0].HasKey(39) || s[0].HasKey(37) || s[0].Pan != -0.5 {
		t.Errorf("KitSounds: %+v", s[0].Keys)
	}
}

// TestParseKitErrors: each mistake is reported at the file, line and
// column of the key that is wrong.
func TestParseKitErrors(t *testing.T) {
	cases := []struct{ from, to, want string }{
		{`name = "tiny"`, `nom = "tiny"`, `unknown key "nom" in [kit] (want name)`},
		{`keys = [36, "38-40"]`, `keys = [36, "40-38"]`, `keys must be MIDI keys 0..127 or "lo-hi" ranges with lo <= hi`},
		{`keys = [36, "38-40"]`, `keys = [36, 128]`, `keys must be MIDI keys 0..127 or "lo-hi" ranges with lo <= hi`},
		{`keys = [36, "38-40"]`, `keys = [36, "35-37"]`, `key 36 is named twice`},
		{`keys = 50`, `keys = 39`, `key 39 is played by sound "low" already`},
		{`template = "beep"`, `template = "bop"`, `no template "bop"`},
		{`set = { "osc.hz" = 110,`, `set = { "osc.hz" = 30000,`, `osc.hz = 30000 is out of range 0..20000`},
		{`set = { "osc.hz" = 110,`, `set = { "osc.hertz" = 110,`, `osc: osc has no parameter "hertz" (want wave, level, semi, detune, pw, hz)`},
		{`set = { "osc.hz" = 110,`, `set = { "lfo.rate" = 110,`, `template "beep" has no module "lfo"`},
		{`"osc.wave" = "square"`, `"osc.wave" = "sqr"`, `osc.wave: unknown value "sqr" (want sine, saw, square, triangle)`},
		{`"env->amp.gain" = 0.25`, `"osc->amp.gain" = 0.25`, `template "beep" has no route from "osc" to "amp.gain"`},
		{`"env->amp.gain" = 0.25`, `"env->amp.gain" = 5000`, `sound "low": route 1 (env -> amp.gain): amount 5000 is out of range`},
		{`pan = -0.5`, `pan = -2`, `pan must be a number -1..1`},
		{`choke = 2`, `choke = 256`, `choke must be a choke group 0..255 (0: none)`},
		{"[[sound]]\nkeys = 50\nout", "[[sound]]\nkeys = 50\ntemplate = \"beep\"\nout", `sound 1 has its own modules: it takes no template`},
		{"set = {", "out = \"amp\"\nset = {", `sound 0 plays a template: it takes no out (change the template's parameters with set)`},
		{`kind = "noise"`, `kind = "delay"`, `module n: delay is an effect: declare it in [[fx]]`},
		{"[[sound.route]]\nfrom = \"n\"", "[[sound.route]]\nfrom = \"x\"", `route 0: unknown module "x"`},
		{`name = "beep"`, `name = "beep2"`, `no template "beep"`},
		{"[[template]]\nname = \"beep\"\nout = \"amp\"\none_shot = true", "[[template]]\nname = \"beep\"\nout = \"amp\"\none_shot = true\nfoo = 1", `unknown key "foo" in [[template]] (want name, out, one_shot, choke, module or route)`},
	}
	for _, c := range cases {
		at := strings.Index(kitSrc, c.from)
		if at < 0 {
			t.Fatalf("%q not in the source", c.from)
		}
		bad := strings.Replace(kitSrc, c.from, c.to, 1)
		_, err := ParseKit("tiny.toml", []byte(bad))
		if err == nil {
			t.Errorf("%q: no error", c.to)
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Line == 0 || !strings.HasPrefix(err.Error(), "tiny.toml:") || !strings.Contains(e.Msg, c.want) {
			t.Errorf("%q: got %v\nwant ...%s", c.to, err, c.want)
			continue
		}
		// The position is within the edited text.
		line := 1 + strings.Count(kitSrc[:at], "\n")
		if e.Line < line || e.Line > line+strings.Count(c.to, "\n")+1 && !strings.Contains(c.want, "no template") {
			t.Errorf("%q: line %d, the edit is at line %d", c.to, e.Line, line)
		}
	}
	// Too many distinct sounds.
	var b strings.Builder
	b.WriteString(kitSrc[:strings.Index(kitSrc, "[[sound]]")])
	for i := 0; i <= dsp.MaxKitPrograms; i++ {
		b.WriteString("\n[[sound]]\nkeys = " + strconv.Itoa(i) + "\ntemplate = \"beep\"\nset = { \"osc.hz\" = " + strconv.Itoa(100+i) + " }\n")
	}
	_, err := ParseKit("big.toml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "more than 64 distinct sounds in a kit") {
		t.Errorf("65 sounds: %v", err)
	}
	if e, ok := err.(*Error); ok && e.Line != strings.Count(b.String()[:strings.LastIndex(b.String(), "[[sound]]")], "\n")+1 {
		t.Errorf("65 sounds: at line %d, want the last [[sound]]", e.Line)
	}
}

// BenchmarkDrumKit: a synth playing the kit file (a hit every 16 blocks
// cycling over the GM keys, so a dozen sounds overlap) against the same
// notes on the preset kit, per 128-frame block.
func BenchmarkDrumKit(b *testing.B) {
	k := shippedKit(b)
	for _, graph := range []bool{false, true} {
		name := "preset"
		if graph {
			name = "graph"
		}
		b.Run(name, func(b *testing.B) {
			s := mSynth(b)
			if graph {
				if _, err := s.LoadKit(k.KitSounds(), 0, dsp.DrumChannel); err != nil {
					b.Fatal(err)
				}
			}
			l, r := make([]float32, 128), make([]float32, 128)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%16 == 0 {
					key := uint8(35 + (i/16*7)%53)
					s.Schedule(dsp.Event{Frame: s.Frame() + uint64(s.Latency()), Kind: dsp.NoteOn, Channel: dsp.DrumChannel, Key: key, Value: 0.9})
				}
				s.Render(l, r)
			}
		})
	}
}
