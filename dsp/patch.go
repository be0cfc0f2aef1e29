package dsp

// LFODest selects what a patch's LFO modulates; the LFO depth is in the
// destination's unit.
type LFODest uint8

// LFO destinations.
const (
	LFOToPitch  LFODest = iota // depth in semitones (vibrato)
	LFOToCutoff                // depth in octaves (wah)
	LFOToAmp                   // depth 0..1 (tremolo: the gain dips to 1-depth)
	numLFODests
)

var lfoDestNames = [numLFODests]string{"pitch", "cutoff", "amp"}

// String returns the destination's name.
func (d LFODest) String() string {
	if d < numLFODests {
		return lfoDestNames[d]
	}
	return "lfodest(" + itoa(int(d)) + ")"
}

// OscParams configures one of a voice's two oscillators.
type OscParams struct {
	Wave   Wave
	Level  float64 // mix level 0..1; 0 switches the oscillator off
	Semi   float64 // transposition in semitones (fractions give inharmonic partials)
	Detune float64 // cents
	PW     float64 // pulse width of Square, 0.02..0.98 (0 means 0.5)
	Hz     float64 // fixed frequency in Hz whatever the key; 0 follows the key
}

// FilterParams configures a voice's biquad filter. The cutoff in Hz is
// Cutoff · 2^(EnvAmount·filterEnvelope + KeyTrack·(key-60)/12 +
// Velocity·(velocity-1) + channel brightness + LFO), so Cutoff is the
// cutoff of middle C at full velocity with the filter envelope at zero.
type FilterParams struct {
	Type      FilterType
	Cutoff    float64 // Hz
	Resonance float64 // Q (0.707 = flat Butterworth)
	EnvAmount float64 // octaves at filter-envelope level 1
	KeyTrack  float64 // 0..1; 1 makes the cutoff follow the pitch
	Velocity  float64 // octaves between velocity 0 and 1
}

// LFOParams configures a voice's LFO. It restarts at phase 0 on every
// note-on (so a note sounds the same whenever it is played) and runs only
// while its depth (Depth plus the mod wheel's or pressure's share) is above
// 0, so vibrato brought in with the wheel starts smoothly at phase 0.
type LFOParams struct {
	Shape LFOShape
	Rate  float64 // Hz
	Depth float64 // in the destination's unit (see LFODest)
	Dest  LFODest
	// ModDepth is added to Depth at full mod wheel (CC1) or full channel
	// pressure, whichever is larger.
	ModDepth float64
}

// Patch is a complete voice configuration, a plain pointer-free value. A
// voice copies its channel's patch at note-on; SetParam events change the
// channel's patch and the voices sounding on it.
type Patch struct {
	Name      [24]byte // NUL padded, see NameString
	Osc       [2]OscParams
	Noise     float64 // noise level 0..1
	NoiseWave Wave    // WhiteNoise or PinkNoise
	Filter    FilterParams
	AmpEnv    ADSRConfig
	FilterEnv ADSRConfig
	// PitchEnv is a pitch offset in semitones at note-on that decays
	// exponentially with time constant PitchDecay seconds (drums, plucks).
	PitchEnv   float64
	PitchDecay float64
	LFO        LFOParams
	Velocity   float64 // velocity sensitivity 0..1 (gain = 1-v+v·velocity²)
	Drive      float64 // per-voice saturation before the filter; 0 = off, >1 drives harder
	Gain       float64 // linear voice gain
	Pan        float64 // -1 (left) .. 1 (right), added to the channel's pan
	Kit        bool    // a drum kit: every key plays its own General MIDI drum sound
	OneShot    bool    // note-off is ignored; the amp envelope must decay to 0
	Choke      uint8   // choke group (0 = none): a note silences the channel's other notes of the group
}

// NameString returns the patch name without its NUL padding. Not for the
// audio thread (it allocates).
func (p *Patch) NameString() string {
	n := 0
	for n < len(p.Name) && p.Name[n] != 0 {
		n++
	}
	return string(p.Name[:n])
}

// SetName stores name, truncated to 24 bytes.
func (p *Patch) SetName(name string) {
	p.Name = [24]byte{}
	copy(p.Name[:], name)
}

// sanitize clamps every field into its legal range and replaces non-finite
// numbers, so no patch can make a voice misbehave.
func (p *Patch) sanitize() {
	for k := range p.Osc {
		o := &p.Osc[k]
		if o.Wave >= numWaves {
			o.Wave = Sine
		}
		o.Level = clampF(o.Level, 0, 1)
		o.Semi = clampF(o.Semi, -48, 48)
		o.Detune = clampF(o.Detune, -100, 100)
		if o.PW != 0 {
			o.PW = clampF(o.PW, 0.02, 0.98)
		}
		o.Hz = clampF(o.Hz, 0, 20000)
	}
	p.Noise = clampF(p.Noise, 0, 1)
	if p.NoiseWave != PinkNoise {
		p.NoiseWave = WhiteNoise
	}
	f := &p.Filter
	if f.Type >= numFilterTypes {
		f.Type = LowPass
	}
	f.Cutoff = clampF(f.Cutoff, minCutoff, 24000)
	f.Resonance = clampF(f.Resonance, minQ, 20)
	f.EnvAmount = clampF(f.EnvAmount, -10, 10)
	f.KeyTrack = clampF(f.KeyTrack, 0, 1)
	f.Velocity = clampF(f.Velocity, -10, 10)
	sanitizeEnv(&p.AmpEnv)
	sanitizeEnv(&p.FilterEnv)
	p.PitchEnv = clampF(p.PitchEnv, -48, 48)
	p.PitchDecay = clampF(p.PitchDecay, 0.0005, 10)
	l := &p.LFO
	if l.Shape >= numLFOShapes {
		l.Shape = LFOSine
	}
	if l.Dest >= numLFODests {
		l.Dest = LFOToPitch
	}
	l.Rate = clampF(l.Rate, 0, 50)
	l.Depth = clampF(l.Depth, 0, 24)
	l.ModDepth = clampF(l.ModDepth, 0, 24)
	p.Velocity = clampF(p.Velocity, 0, 1)
	p.Drive = clampF(p.Drive, 0, 100)
	p.Gain = clampF(p.Gain, 0, 4)
	p.Pan = clampF(p.Pan, -1, 1)
}

func sanitizeEnv(e *ADSRConfig) {
	e.Attack = clampF(e.Attack, 0, 60)
	e.Decay = clampF(e.Decay, 0, 60)
	e.Sustain = clampF(e.Sustain, 0, 1)
	e.Release = clampF(e.Release, 0, 60)
	if e.Curve > Exponential {
		e.Curve = Exponential
	}
}

// clampF clamps x to [lo, hi]; NaN becomes lo.
func clampF(x, lo, hi float64) float64 {
	if !(x >= lo) {
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
