// Package presets reads synth presets from TOML files: the shipped ones,
// embedded in the binary from this folder, and the user's, which add to or
// replace them by name. One file holds one preset; its name is the file
// name without ".toml".
//
// A file looks like this (every key optional; see pad.toml and the others
// for complete examples):
//
//	[osc1]       wave = "saw", level = 0.5, semi = 0, detune = -8, pw = 0, hz = 0
//	[osc2]       (the same keys)
//	[noise]      level = 0, color = "white" | "pink"
//	[filter]     type = "lowpass" | "highpass" | "bandpass" | "notch", cutoff = 1400 (Hz),
//	             resonance = 0.9 (Q), env_amount = 1 (octaves), key_track = 0.5, velocity = 0.5 (octaves)
//	[amp_env]    attack, decay, release (seconds), sustain (0..1), curve = "linear" | "exponential"
//	[filter_env] (the same keys)
//	[pitch_env]  amount (semitones at note-on), decay (seconds)
//	[lfo]        shape = "sine" | "triangle" | "square" | "saw" | "samplehold", rate (Hz),
//	             depth, dest = "pitch" | "cutoff" | "amp", mod_depth (added at full mod wheel)
//	[voice]      velocity (sensitivity 0..1), drive, gain, pan (-1..1), kit, one_shot, choke
//
// Errors name the file, line and column: "pad.toml:3:8: unknown wave "sawx"".
package presets

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/chronus-audio/chronus/dsp"
)

//go:embed *.toml
var shipped embed.FS

// Shipped returns the presets embedded in the binary.
func Shipped() fs.FS { return shipped }

type oscFile struct {
	Wave   string  `toml:"wave"`
	Level  float64 `toml:"level"`
	Semi   float64 `toml:"semi"`
	Detune float64 `toml:"detune"`
	PW     float64 `toml:"pw"`
	Hz     float64 `toml:"hz"`
}

type envFile struct {
	Attack  float64 `toml:"attack"`
	Decay   float64 `toml:"decay"`
	Sustain float64 `toml:"sustain"`
	Release float64 `toml:"release"`
	Curve   string  `toml:"curve"`
}

type file struct {
	Osc1  oscFile `toml:"osc1"`
	Osc2  oscFile `toml:"osc2"`
	Noise struct {
		Level float64 `toml:"level"`
		Color string  `toml:"color"`
	} `toml:"noise"`
	Filter struct {
		Type      string  `toml:"type"`
		Cutoff    float64 `toml:"cutoff"`
		Resonance float64 `toml:"resonance"`
		EnvAmount float64 `toml:"env_amount"`
		KeyTrack  float64 `toml:"key_track"`
		Velocity  float64 `toml:"velocity"`
	} `toml:"filter"`
	AmpEnv    envFile `toml:"amp_env"`
	FilterEnv envFile `toml:"filter_env"`
	PitchEnv  struct {
		Amount float64 `toml:"amount"`
		Decay  float64 `toml:"decay"`
	} `toml:"pitch_env"`
	LFO struct {
		Shape    string  `toml:"shape"`
		Rate     float64 `toml:"rate"`
		Depth    float64 `toml:"depth"`
		Dest     string  `toml:"dest"`
		ModDepth float64 `toml:"mod_depth"`
	} `toml:"lfo"`
	Voice struct {
		Velocity float64 `toml:"velocity"`
		Drive    float64 `toml:"drive"`
		Gain     float64 `toml:"gain"`
		Pan      float64 `toml:"pan"`
		Kit      bool    `toml:"kit"`
		OneShot  bool    `toml:"one_shot"`
		Choke    uint8   `toml:"choke"`
	} `toml:"voice"`
}

// Parse reads one preset; name is its file name, used in errors and as the
// preset's name.
func Parse(name string, src []byte) (dsp.Patch, error) {
	var f file
	dec := toml.NewDecoder(bytes.NewReader(src)).DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		var se *toml.StrictMissingError
		if errors.As(err, &se) && len(se.Errors) > 0 {
			line, col := se.Errors[0].Position()
			return dsp.Patch{}, fmt.Errorf("%s:%d:%d: unknown key %q", name, line, col, strings.Join(se.Errors[0].Key(), "."))
		}
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return dsp.Patch{}, fmt.Errorf("%s:%d:%d: %s", name, line, col, de.Error())
		}
		return dsp.Patch{}, fmt.Errorf("%s: %w", name, err)
	}
	var p dsp.Patch
	base := strings.TrimSuffix(path.Base(name), ".toml")
	if base == "" || len(base) > len(p.Name) {
		return p, fmt.Errorf("%s: a preset name must be 1..%d bytes", name, len(p.Name))
	}
	p.SetName(base)
	bad := func(table, key, val, want string) error {
		line, col := locate(src, table, key)
		return fmt.Errorf("%s:%d:%d: %s.%s: unknown value %q (want %s)", name, line, col, table, key, val, want)
	}
	for i, o := range []oscFile{f.Osc1, f.Osc2} {
		table := fmt.Sprintf("osc%d", i+1)
		w, ok := dsp.Sine, true
		if o.Wave != "" {
			w, ok = dsp.ParseWave(o.Wave)
		}
		if !ok {
			return p, bad(table, "wave", o.Wave, "sine, saw, square, triangle, white or pink")
		}
		p.Osc[i] = dsp.OscParams{Wave: w, Level: o.Level, Semi: o.Semi, Detune: o.Detune, PW: o.PW, Hz: o.Hz}
	}
	p.Noise = f.Noise.Level
	switch f.Noise.Color {
	case "", "white":
		p.NoiseWave = dsp.WhiteNoise
	case "pink":
		p.NoiseWave = dsp.PinkNoise
	default:
		return p, bad("noise", "color", f.Noise.Color, "white or pink")
	}
	ft, ok := enumIndex(f.Filter.Type, "lowpass", []string{"lowpass", "highpass", "bandpass", "notch"})
	if !ok {
		return p, bad("filter", "type", f.Filter.Type, "lowpass, highpass, bandpass or notch")
	}
	p.Filter = dsp.FilterParams{Type: dsp.FilterType(ft), Cutoff: f.Filter.Cutoff, Resonance: f.Filter.Resonance,
		EnvAmount: f.Filter.EnvAmount, KeyTrack: f.Filter.KeyTrack, Velocity: f.Filter.Velocity}
	for _, e := range []struct {
		table string
		in    envFile
		out   *dsp.ADSRConfig
	}{{"amp_env", f.AmpEnv, &p.AmpEnv}, {"filter_env", f.FilterEnv, &p.FilterEnv}} {
		c, ok := enumIndex(e.in.Curve, "linear", []string{"linear", "exponential"})
		if !ok {
			return p, bad(e.table, "curve", e.in.Curve, "linear or exponential")
		}
		*e.out = dsp.ADSRConfig{Attack: e.in.Attack, Decay: e.in.Decay, Sustain: e.in.Sustain, Release: e.in.Release, Curve: dsp.Curve(c)}
	}
	p.PitchEnv, p.PitchDecay = f.PitchEnv.Amount, f.PitchEnv.Decay
	sh, ok := enumIndex(f.LFO.Shape, "sine", []string{"sine", "triangle", "square", "saw", "samplehold"})
	if !ok {
		return p, bad("lfo", "shape", f.LFO.Shape, "sine, triangle, square, saw or samplehold")
	}
	dst, ok := enumIndex(f.LFO.Dest, "pitch", []string{"pitch", "cutoff", "amp"})
	if !ok {
		return p, bad("lfo", "dest", f.LFO.Dest, "pitch, cutoff or amp")
	}
	p.LFO = dsp.LFOParams{Shape: dsp.LFOShape(sh), Rate: f.LFO.Rate, Depth: f.LFO.Depth, Dest: dsp.LFODest(dst), ModDepth: f.LFO.ModDepth}
	v := f.Voice
	p.Velocity, p.Drive, p.Gain, p.Pan, p.Kit, p.OneShot, p.Choke = v.Velocity, v.Drive, v.Gain, v.Pan, v.Kit, v.OneShot, v.Choke
	return p, nil
}

func enumIndex(v, def string, names []string) (int, bool) {
	if v == "" {
		v = def
	}
	for i, n := range names {
		if n == v {
			return i, true
		}
	}
	return 0, false
}

// locate finds the line and column of key inside [table] in src, for
// errors the TOML decoder cannot place (a value it parsed fine but we
// refuse). 1-based; 0,0 if not found.
func locate(src []byte, table, key string) (int, int) {
	in := false
	for i, ln := range strings.Split(string(src), "\n") {
		t := strings.TrimSpace(ln)
		if strings.HasPrefix(t, "[") {
			in = strings.TrimSpace(strings.Trim(t, "[]")) == table
			continue
		}
		if in && strings.HasPrefix(t, key) && strings.HasPrefix(strings.TrimSpace(t[len(key):]), "=") {
			return i + 1, strings.Index(ln, key) + 1
		}
	}
	return 0, 0
}

// Load reads every *.toml preset of each fsys in order; a later file with
// the same name replaces an earlier one (the user's directory overrides the
// shipped presets). The result is sorted by name, except that the order of
// the shipped bank is kept where names survive, so program numbers stay
// stable. A broken file is an error naming it.
func Load(fsyss ...fs.FS) ([]dsp.Patch, error) {
	var order []string
	byName := map[string]dsp.Patch{}
	for _, fsys := range fsyss {
		if fsys == nil {
			continue
		}
		names, err := fs.Glob(fsys, "*.toml")
		if err != nil {
			return nil, err
		}
		sort.Strings(names)
		for _, n := range names {
			src, err := fs.ReadFile(fsys, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			p, err := Parse(displayName(fsys, n), src)
			if err != nil {
				return nil, err
			}
			key := p.NameString()
			if _, seen := byName[key]; !seen {
				order = append(order, key)
			}
			byName[key] = p
		}
	}
	if len(order) > dsp.MaxPresets {
		return nil, fmt.Errorf("presets: %d presets is more than the %d a bank holds", len(order), dsp.MaxPresets)
	}
	out := make([]dsp.Patch, 0, len(order))
	for _, k := range order {
		out = append(out, byName[k])
	}
	return out, nil
}

// displayName prefixes a user file with its directory so errors point at it.
func displayName(fsys fs.FS, name string) string {
	if d, ok := fsys.(dirFS); ok {
		return filepath.Join(string(d), name)
	}
	return name
}

type dirFS string

func (d dirFS) Open(name string) (fs.File, error) { return os.DirFS(string(d)).Open(name) }

// Dir returns the user's preset folder as a file system, or nil when it does
// not exist (no user presets is not an error).
func Dir(configDir string) fs.FS {
	d := filepath.Join(configDir, "presets")
	if st, err := os.Stat(d); err != nil || !st.IsDir() {
		return nil
	}
	return dirFS(d)
}

// Bank loads the shipped presets plus the user's from configDir/presets.
func Bank(configDir string) ([]dsp.Patch, error) {
	return Load(Shipped(), Dir(configDir))
}
