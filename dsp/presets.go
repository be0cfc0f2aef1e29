package dsp

// The built-in presets, held as data. Levels are set so that a chord of a
// few voices stays well below full scale before the master limiter.
var presets = [...]Patch{
	named("sine", Patch{
		Osc:       [2]OscParams{{Wave: Sine, Level: 1}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 18000, Resonance: 0.707},
		AmpEnv:    ADSRConfig{Attack: 0.005, Decay: 0.1, Sustain: 0.9, Release: 0.15},
		FilterEnv: ADSRConfig{Sustain: 1},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5.5, Dest: LFOToPitch, ModDepth: 0.5},
		Velocity:  0.6, Gain: 0.3,
	}),
	named("pad", Patch{
		Osc:       [2]OscParams{{Wave: Saw, Level: 0.5, Detune: -8}, {Wave: Saw, Level: 0.5, Detune: 8}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 1400, Resonance: 0.9, EnvAmount: 1, KeyTrack: 0.5, Velocity: 0.5},
		FilterEnv: ADSRConfig{Attack: 0.8, Decay: 1.5, Sustain: 0.4, Release: 1.5, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.6, Decay: 1, Sustain: 0.85, Release: 1.5, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOTriangle, Rate: 0.25, Depth: 0.4, Dest: LFOToCutoff, ModDepth: 1},
		Velocity:  0.4, Gain: 0.35,
	}),
	named("bass", Patch{
		Osc:       [2]OscParams{{Wave: Saw, Level: 0.7}, {Wave: Square, Level: 0.5, Semi: -12}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 320, Resonance: 2.2, EnvAmount: 3, KeyTrack: 0.3, Velocity: 1},
		FilterEnv: ADSRConfig{Attack: 0.001, Decay: 0.25, Sustain: 0.15, Release: 0.1, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.002, Decay: 0.4, Sustain: 0.75, Release: 0.08, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5, Dest: LFOToPitch, ModDepth: 0.3},
		Drive:     1.6, Velocity: 0.6, Gain: 0.4,
	}),
	named("lead", Patch{
		Osc:       [2]OscParams{{Wave: Saw, Level: 0.6}, {Wave: Square, Level: 0.4, Detune: 6, PW: 0.45}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 2600, Resonance: 1.6, EnvAmount: 1.5, KeyTrack: 0.6, Velocity: 0.8},
		FilterEnv: ADSRConfig{Attack: 0.002, Decay: 0.3, Sustain: 0.5, Release: 0.2, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.004, Decay: 0.2, Sustain: 0.85, Release: 0.18, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5.5, Dest: LFOToPitch, ModDepth: 0.6},
		Drive:     1.2, Velocity: 0.5, Gain: 0.28,
	}),
	named("pluck", Patch{
		Osc:       [2]OscParams{{Wave: Saw, Level: 0.7}, {Wave: Triangle, Level: 0.5, Semi: 12}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 600, Resonance: 1.3, EnvAmount: 4, KeyTrack: 0.7, Velocity: 1.5},
		FilterEnv: ADSRConfig{Attack: 0.001, Decay: 0.18, Sustain: 0, Release: 0.2, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.001, Decay: 0.9, Sustain: 0, Release: 0.25, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5, Dest: LFOToPitch, ModDepth: 0.3},
		Velocity:  0.7, Gain: 0.6,
	}),
	named("organ", Patch{
		Osc:       [2]OscParams{{Wave: Sine, Level: 0.6}, {Wave: Triangle, Level: 0.4, Semi: 12}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 6000, Resonance: 0.7, KeyTrack: 0.5},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    ADSRConfig{Attack: 0.004, Decay: 0.05, Sustain: 1, Release: 0.04},
		LFO:       LFOParams{Shape: LFOSine, Rate: 6, Depth: 0.08, Dest: LFOToAmp, ModDepth: 0.3},
		Drive:     1.2, Velocity: 0.2, Gain: 0.26,
	}),
	named("keys", Patch{
		Osc:       [2]OscParams{{Wave: Sine, Level: 0.8}, {Wave: Sine, Level: 0.3, Semi: 24}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 900, Resonance: 0.8, EnvAmount: 3, KeyTrack: 1, Velocity: 1.5},
		FilterEnv: ADSRConfig{Attack: 0.001, Decay: 0.4, Sustain: 0, Release: 0.3, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.002, Decay: 2.5, Sustain: 0.25, Release: 0.35, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 4.5, Dest: LFOToAmp, ModDepth: 0.5},
		Drive:     1.1, Velocity: 0.8, Gain: 0.45,
	}),
	named("strings", Patch{
		Osc:       [2]OscParams{{Wave: Saw, Level: 0.5, Detune: -6}, {Wave: Saw, Level: 0.5, Detune: 7}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 3200, Resonance: 0.8, EnvAmount: 0.5, KeyTrack: 0.5, Velocity: 0.8},
		FilterEnv: ADSRConfig{Attack: 0.3, Decay: 1, Sustain: 0.7, Release: 0.6, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.22, Decay: 0.5, Sustain: 0.9, Release: 0.45, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5.3, Depth: 0.06, Dest: LFOToPitch, ModDepth: 0.3},
		Velocity:  0.5, Gain: 0.32,
	}),
	named("brass", Patch{
		Osc:       [2]OscParams{{Wave: Saw, Level: 0.6}, {Wave: Saw, Level: 0.4, Detune: 5}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 700, Resonance: 1.2, EnvAmount: 2.2, KeyTrack: 0.6, Velocity: 1.2},
		FilterEnv: ADSRConfig{Attack: 0.06, Decay: 0.35, Sustain: 0.55, Release: 0.2, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.035, Decay: 0.2, Sustain: 0.85, Release: 0.15, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5, Dest: LFOToPitch, ModDepth: 0.35},
		Drive:     1.1, Velocity: 0.6, Gain: 0.3,
	}),
	named("bell", Patch{
		// 1 : 3.5 partials (12·log2(3.5) = 21.688 semitones), a classic FM-bell ratio.
		Osc:       [2]OscParams{{Wave: Sine, Level: 0.7}, {Wave: Sine, Level: 0.45, Semi: 21.688}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 9000, Resonance: 0.7, KeyTrack: 0.5},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    ADSRConfig{Attack: 0.001, Decay: 3, Sustain: 0, Release: 1.5, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5, Dest: LFOToPitch, ModDepth: 0.2},
		Velocity:  0.7, Gain: 0.28,
	}),
	named("flute", Patch{
		Osc:   [2]OscParams{{Wave: Triangle, Level: 0.8}, {Wave: Sine, Level: 0.15, Semi: 12}},
		Noise: 0.12, NoiseWave: WhiteNoise,
		Filter:    FilterParams{Type: LowPass, Cutoff: 2500, Resonance: 0.8, EnvAmount: 0.8, KeyTrack: 0.8},
		FilterEnv: ADSRConfig{Attack: 0.05, Decay: 0.3, Sustain: 0.6, Release: 0.2},
		AmpEnv:    ADSRConfig{Attack: 0.06, Decay: 0.2, Sustain: 0.85, Release: 0.15, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOSine, Rate: 5, Depth: 0.05, Dest: LFOToPitch, ModDepth: 0.4},
		Velocity:  0.5, Gain: 0.3,
	}),
	named("mallet", Patch{
		Osc:   [2]OscParams{{Wave: Sine, Level: 0.8}, {Wave: Sine, Level: 0.3, Semi: 24}},
		Noise: 0.05, NoiseWave: WhiteNoise,
		Filter:    FilterParams{Type: LowPass, Cutoff: 3000, Resonance: 0.7, EnvAmount: 2, KeyTrack: 0.8},
		FilterEnv: ADSRConfig{Attack: 0, Decay: 0.05, Sustain: 0, Release: 0.05, Curve: Exponential},
		AmpEnv:    ADSRConfig{Attack: 0.001, Decay: 0.5, Sustain: 0, Release: 0.3, Curve: Exponential},
		PitchEnv:  0.5, PitchDecay: 0.01,
		LFO:      LFOParams{Shape: LFOSine, Rate: 5, Dest: LFOToPitch, ModDepth: 0.2},
		Velocity: 0.7, Gain: 0.6,
	}),
	named("fx", Patch{
		Osc:   [2]OscParams{{Wave: Sine, Level: 0.2}},
		Noise: 0.8, NoiseWave: PinkNoise,
		Filter:    FilterParams{Type: BandPass, Cutoff: 1200, Resonance: 1.5, KeyTrack: 1},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    ADSRConfig{Attack: 0.4, Decay: 0.5, Sustain: 0.8, Release: 1.2, Curve: Exponential},
		LFO:       LFOParams{Shape: LFOTriangle, Rate: 0.3, Depth: 1.5, Dest: LFOToCutoff, ModDepth: 1},
		Velocity:  0.4, Gain: 1,
	}),
	named("drums", Patch{
		// The kit: each key plays drumKit[key]; these fields only matter
		// for sounds that SetParam turns into a melodic patch.
		Osc:       [2]OscParams{{Wave: Sine, Level: 1}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 18000, Resonance: 0.707},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    ADSRConfig{Attack: 0.001, Decay: 0.3, Sustain: 0, Release: 0.1, Curve: Exponential},
		Velocity:  0.7, Gain: 0.5, Kit: true, OneShot: true,
	}),
}

// named sets p's name (table construction only).
func named(name string, p Patch) Patch {
	p.SetName(name)
	p.sanitize()
	return p
}

// Presets returns a copy of the built-in presets: sine, pad, bass, lead,
// pluck, organ, keys (e-piano), strings, brass, bell, flute, mallet, fx and
// drums (a General MIDI kit for the percussion channel). Any thread; not
// for the audio thread (it allocates).
func Presets() []Patch {
	out := make([]Patch, len(presets))
	copy(out, presets[:])
	return out
}

// NumPresets is the number of built-in presets.
const NumPresets = len(presets)

// PresetIndex returns the index of the preset called name (exact,
// lower-case names as listed by Presets).
func PresetIndex(name string) (int, bool) {
	for i := range presets {
		if presets[i].NameString() == name {
			return i, true
		}
	}
	return 0, false
}

// Preset returns built-in preset i (0 <= i < NumPresets); out-of-range
// indices give preset 0. It does not allocate: any thread.
func Preset(i int) Patch {
	if i < 0 || i >= len(presets) {
		i = 0
	}
	return presets[i]
}

// mustPreset is PresetIndex for names the package itself uses.
func mustPreset(name string) int {
	i, ok := PresetIndex(name)
	if !ok {
		panic("dsp: no preset " + name)
	}
	return i
}
