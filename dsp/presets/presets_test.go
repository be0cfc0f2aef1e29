package presets

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
)

var update = flag.Bool("update", false, "rewrite the shipped .toml files from dsp's built-in table")

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// encode writes a preset in the file format (used to generate the shipped
// files from the built-in table, which the test then holds them to).
func encode(p dsp.Patch) string {
	var b strings.Builder
	osc := func(i int) {
		o := p.Osc[i]
		fmt.Fprintf(&b, "[osc%d]\nwave = %q\nlevel = %s\nsemi = %s\ndetune = %s\npw = %s\nhz = %s\n\n",
			i+1, o.Wave.String(), num(o.Level), num(o.Semi), num(o.Detune), num(o.PW), num(o.Hz))
	}
	osc(0)
	osc(1)
	color := "white"
	if p.NoiseWave == dsp.PinkNoise {
		color = "pink"
	}
	fmt.Fprintf(&b, "[noise]\nlevel = %s\ncolor = %q\n\n", num(p.Noise), color)
	f := p.Filter
	fmt.Fprintf(&b, "[filter]\ntype = %q\ncutoff = %s\nresonance = %s\nenv_amount = %s\nkey_track = %s\nvelocity = %s\n\n",
		f.Type.String(), num(f.Cutoff), num(f.Resonance), num(f.EnvAmount), num(f.KeyTrack), num(f.Velocity))
	env := func(name string, e dsp.ADSRConfig) {
		curve := "linear"
		if e.Curve == dsp.Exponential {
			curve = "exponential"
		}
		fmt.Fprintf(&b, "[%s]\nattack = %s\ndecay = %s\nsustain = %s\nrelease = %s\ncurve = %q\n\n",
			name, num(e.Attack), num(e.Decay), num(e.Sustain), num(e.Release), curve)
	}
	env("amp_env", p.AmpEnv)
	env("filter_env", p.FilterEnv)
	fmt.Fprintf(&b, "[pitch_env]\namount = %s\ndecay = %s\n\n", num(p.PitchEnv), num(p.PitchDecay))
	l := p.LFO
	fmt.Fprintf(&b, "[lfo]\nshape = %q\nrate = %s\ndepth = %s\ndest = %q\nmod_depth = %s\n\n",
		l.Shape.String(), num(l.Rate), num(l.Depth), l.Dest.String(), num(l.ModDepth))
	fmt.Fprintf(&b, "[voice]\nvelocity = %s\ndrive = %s\ngain = %s\npan = %s\nkit = %t\none_shot = %t\nchoke = %d\n",
		num(p.Velocity), num(p.Drive), num(p.Gain), num(p.Pan), p.Kit, p.OneShot, p.Choke)
	return b.String()
}

func TestShippedMatchBuiltIn(t *testing.T) {
	builtin := dsp.Presets()
	if *update {
		for _, p := range builtin {
			if err := os.WriteFile(p.NameString()+".toml", []byte(encode(p)), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got, err := Load(Shipped())
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]dsp.Patch{}
	for _, p := range got {
		byName[p.NameString()] = p
	}
	if len(got) != len(builtin) {
		t.Fatalf("%d shipped files, %d built-in presets", len(got), len(builtin))
	}
	for _, want := range builtin {
		p, ok := byName[want.NameString()]
		if !ok {
			t.Fatalf("no shipped file for preset %q", want.NameString())
		}
		if p != want {
			t.Errorf("%s.toml differs from the built-in preset:\n got %+v\nwant %+v", want.NameString(), p, want)
		}
	}
	// The shipped bank makes a synth identical to the built-in one.
	s, err := dsp.New(dsp.Config{Presets: got})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(s.Presets()); n != len(builtin) {
		t.Fatalf("bank of %d presets", n)
	}
}

func TestUserOverridesAndAdds(t *testing.T) {
	dir := t.TempDir()
	pd := filepath.Join(dir, "presets")
	os.Mkdir(pd, 0o755)
	os.WriteFile(filepath.Join(pd, "pad.toml"), []byte("[voice]\ngain = 0.5\n[osc1]\nwave = \"square\"\nlevel = 1\n"), 0o644)
	os.WriteFile(filepath.Join(pd, "zap.toml"), []byte("[osc1]\nwave = \"saw\"\nlevel = 1\n[voice]\ngain = 0.2\n"), 0o644)
	ps, err := Bank(dir)
	if err != nil {
		t.Fatal(err)
	}
	shipped, _ := Load(Shipped())
	if len(ps) != len(shipped)+1 {
		t.Fatalf("%d presets, want %d", len(ps), len(shipped)+1)
	}
	for i, p := range ps {
		switch p.NameString() {
		case "pad":
			if p.Gain != 0.5 || p.Osc[0].Wave != dsp.Square || shipped[i].NameString() != "pad" {
				t.Fatalf("pad not replaced in place: %+v", p)
			}
		case "zap":
			if i != len(ps)-1 {
				t.Fatalf("new preset at %d, want last", i)
			}
		}
	}
	if Dir(filepath.Join(dir, "nope")) != nil {
		t.Fatal("a missing user folder must mean no user presets")
	}
}

func TestErrorsNameFileLineColumn(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"[osc1]\nwave = \"sawx\"\n", "bad.toml:2:1: osc1.wave: unknown value \"sawx\""},
		{"[filter]\n  type = \"comb\"\n", "bad.toml:2:3: filter.type"},
		{"[osc1]\nlevel = \"loud\"\n", "bad.toml:2:"},
		{"[osc1]\nwaev = \"saw\"\n", "bad.toml:2:1: unknown key \"osc1.waev\""},
		{"[osc1\n", "bad.toml:1:"},
		{"[lfo]\ndest = \"pan\"\n", "lfo.dest"},
	} {
		_, err := Parse("bad.toml", []byte(tc.src))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want it to contain %q", tc.src, err, tc.want)
		}
	}
	dir := t.TempDir()
	pd := filepath.Join(dir, "presets")
	os.Mkdir(pd, 0o755)
	os.WriteFile(filepath.Join(pd, "x.toml"), []byte("[voice]\ngain = true\n"), 0o644)
	if _, err := Bank(dir); err == nil || !strings.Contains(err.Error(), filepath.Join(pd, "x.toml")+":2:") {
		t.Fatalf("user file error %v does not name the file and line", err)
	}
}

func FuzzParse(f *testing.F) {
	for _, p := range dsp.Presets() {
		f.Add([]byte(encode(p)))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse("fuzz.toml", src)
		if err != nil {
			return
		}
		// Whatever parses must be usable in a synth.
		if _, err := dsp.New(dsp.Config{Presets: []dsp.Patch{p}}); err != nil && !strings.Contains(err.Error(), "melodic") {
			t.Fatalf("parsed preset refused by the synth: %v", err)
		}
	})
}
