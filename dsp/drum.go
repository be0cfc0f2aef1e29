package dsp

// General MIDI percussion, built from oscillators and noise: a kit patch
// (Patch.Kit) plays drumKit[key] for each key. Kicks and toms are sines
// with a falling pitch envelope, snares a pitched triangle plus noise, hats
// and cymbals noise plus two square waves at inharmonic fixed pitches
// through a high-pass filter, claps band-passed noise.

// drumKit holds one one-shot patch per MIDI key; filled by init.
var drumKit [128]Patch

// chokeHats is the choke group of the hi-hats: a closed or pedal hat stops
// an open one.
const chokeHats = 1

func oneShot(amp float64) ADSRConfig {
	return ADSRConfig{Attack: 0.0005, Decay: amp, Sustain: 0, Release: 0.05, Curve: Exponential}
}

func kick(hz, decay float64) Patch {
	return Patch{
		Osc:   [2]OscParams{{Wave: Sine, Level: 1, Hz: hz}},
		Noise: 0.25, NoiseWave: WhiteNoise,
		// The noise click opens the filter for the first few ms only.
		Filter:    FilterParams{Type: LowPass, Cutoff: 150, Resonance: 0.7, EnvAmount: 6},
		FilterEnv: ADSRConfig{Decay: 0.02, Curve: Exponential},
		AmpEnv:    oneShot(decay),
		PitchEnv:  30, PitchDecay: 0.03,
		Velocity: 0.7, Gain: 0.9,
	}
}

func snare(hz, decay, cutoff float64) Patch {
	return Patch{
		Osc:   [2]OscParams{{Wave: Triangle, Level: 0.6, Hz: hz}},
		Noise: 0.9, NoiseWave: WhiteNoise,
		Filter:    FilterParams{Type: LowPass, Cutoff: cutoff, Resonance: 0.8},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    oneShot(decay),
		PitchEnv:  7, PitchDecay: 0.02,
		Velocity: 0.7, Gain: 0.55,
	}
}

func tom(hz, decay, pan float64) Patch {
	return Patch{
		Osc:   [2]OscParams{{Wave: Sine, Level: 1, Hz: hz}},
		Noise: 0.06, NoiseWave: WhiteNoise,
		Filter:    FilterParams{Type: LowPass, Cutoff: 1800, Resonance: 0.7, EnvAmount: 2},
		FilterEnv: ADSRConfig{Decay: 0.03, Curve: Exponential},
		AmpEnv:    oneShot(decay),
		PitchEnv:  6, PitchDecay: 0.06,
		Velocity: 0.7, Gain: 0.7, Pan: pan,
	}
}

// metal is noise plus two square waves at inharmonic fixed pitches through
// a filter: hats, cymbals, cowbells, tambourines.
func metal(noise, squares, hz1, hz2 float64, ft FilterType, cutoff, q, decay, gain, pan float64) Patch {
	return Patch{
		Osc:   [2]OscParams{{Wave: Square, Level: squares, Hz: hz1}, {Wave: Square, Level: squares, Hz: hz2}},
		Noise: noise, NoiseWave: WhiteNoise,
		Filter:    FilterParams{Type: ft, Cutoff: cutoff, Resonance: q},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    ADSRConfig{Attack: 0.0003, Decay: decay, Sustain: 0, Release: 0.03, Curve: Exponential},
		Velocity:  0.7, Gain: gain, Pan: pan,
	}
}

func hat(decay float64) Patch {
	p := metal(1, 0.25, 587, 845, HighPass, 7000, 0.8, decay, 0.3, 0.3)
	p.Choke = chokeHats
	return p
}

func cymbal(decay, cutoff, pan float64) Patch {
	return metal(1, 0.3, 540, 800, HighPass, cutoff, 0.7, decay, 0.26, pan)
}

// noiseHit is filtered noise: claps, shakers, guiros.
func noiseHit(ft FilterType, cutoff, q, decay, gain float64) Patch {
	return Patch{
		Noise: 1, NoiseWave: WhiteNoise,
		Filter:    FilterParams{Type: ft, Cutoff: cutoff, Resonance: q},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    ADSRConfig{Attack: 0.001, Decay: decay, Sustain: 0, Release: 0.03, Curve: Exponential},
		Velocity:  0.7, Gain: gain,
	}
}

// tone is a pitched hit: bongos, congas, wood blocks, claves, bells.
func tone(w Wave, hz, hz2, decay, penv float64) Patch {
	p := Patch{
		Osc:       [2]OscParams{{Wave: w, Level: 0.8, Hz: hz}},
		Filter:    FilterParams{Type: LowPass, Cutoff: 12000, Resonance: 0.7},
		FilterEnv: ADSRConfig{Sustain: 1},
		AmpEnv:    oneShot(decay),
		PitchEnv:  penv, PitchDecay: 0.02,
		Velocity: 0.7, Gain: 0.45,
	}
	if hz2 > 0 {
		p.Osc[1] = OscParams{Wave: Sine, Level: 0.3, Hz: hz2}
	}
	return p
}

func guiro(decay float64) Patch {
	p := noiseHit(BandPass, 3000, 2, decay, 0.5)
	p.LFO = LFOParams{Shape: LFOSaw, Rate: 40, Depth: 0.9, Dest: LFOToAmp}
	return p
}

func whistle(decay float64) Patch {
	p := tone(Sine, 2300, 0, decay, 0)
	p.AmpEnv.Attack = 0.01
	p.LFO = LFOParams{Shape: LFOSine, Rate: 7, Depth: 0.3, Dest: LFOToPitch}
	p.Gain = 0.3
	return p
}

func init() {
	click := tone(Sine, 2000, 0, 0.02, 0)
	for k := range drumKit {
		drumKit[k] = click
	}
	set := func(key int, name string, p Patch) {
		p.OneShot = true
		drumKit[key] = named(name, p)
	}
	set(27, "high q", tone(Sine, 1800, 0, 0.05, 12))
	set(28, "slap", noiseHit(BandPass, 1500, 1.5, 0.05, 0.6))
	set(29, "scratch push", guiro(0.12))
	set(30, "scratch pull", guiro(0.18))
	set(31, "sticks", tone(Triangle, 2000, 0, 0.04, 0))
	set(32, "square click", tone(Square, 1500, 0, 0.02, 0))
	set(33, "metronome click", tone(Sine, 2000, 0, 0.02, 0))
	set(34, "metronome bell", tone(Sine, 2600, 6500, 0.3, 0))
	set(35, "acoustic bass drum", kick(48, 0.5))
	set(36, "bass drum", kick(55, 0.42))
	rim := tone(Sine, 1700, 0, 0.05, 0)
	rim.Noise, rim.NoiseWave = 0.4, WhiteNoise
	rim.Filter = FilterParams{Type: BandPass, Cutoff: 1700, Resonance: 1.5}
	set(37, "side stick", rim)
	set(38, "acoustic snare", snare(190, 0.18, 7000))
	set(39, "hand clap", noiseHit(BandPass, 1100, 1.2, 0.16, 0.6))
	set(40, "electric snare", snare(230, 0.14, 9500))
	set(41, "low floor tom", tom(82, 0.45, -0.4))
	set(42, "closed hi-hat", hat(0.05))
	set(43, "high floor tom", tom(98, 0.42, -0.25))
	set(44, "pedal hi-hat", hat(0.035))
	set(45, "low tom", tom(110, 0.4, -0.1))
	set(46, "open hi-hat", hat(0.4))
	set(47, "low-mid tom", tom(131, 0.38, 0.05))
	set(48, "hi-mid tom", tom(147, 0.36, 0.2))
	set(49, "crash cymbal", cymbal(1.6, 4500, -0.3))
	set(50, "high tom", tom(175, 0.34, 0.35))
	set(51, "ride cymbal", metal(0.5, 0.5, 540, 800, HighPass, 6000, 0.7, 1.0, 0.25, 0.3))
	set(52, "chinese cymbal", cymbal(1.2, 3500, 0.3))
	set(53, "ride bell", metal(0.2, 0.8, 780, 1170, BandPass, 2500, 0.8, 0.9, 0.3, 0.3))
	set(54, "tambourine", metal(1, 0.3, 1300, 2700, HighPass, 7000, 0.8, 0.2, 0.3, 0.2))
	set(55, "splash cymbal", cymbal(0.6, 5500, -0.2))
	set(56, "cowbell", metal(0, 0.5, 562, 845, BandPass, 800, 1, 0.3, 0.35, 0.1))
	set(57, "crash cymbal 2", cymbal(1.8, 4000, 0.35))
	vs := noiseHit(BandPass, 2500, 2, 0.8, 0.4)
	vs.LFO = LFOParams{Shape: LFOSquare, Rate: 30, Depth: 0.9, Dest: LFOToAmp}
	set(58, "vibraslap", vs)
	set(59, "ride cymbal 2", metal(0.5, 0.5, 500, 760, HighPass, 5500, 0.7, 1.0, 0.25, -0.3))
	set(60, "hi bongo", tone(Sine, 420, 0, 0.12, 3))
	set(61, "low bongo", tone(Sine, 315, 0, 0.15, 3))
	set(62, "mute hi conga", tone(Sine, 330, 0, 0.08, 2))
	set(63, "open hi conga", tone(Sine, 330, 0, 0.25, 2))
	set(64, "low conga", tone(Sine, 220, 0, 0.3, 2))
	set(65, "high timbale", tone(Triangle, 380, 0, 0.3, 2))
	set(66, "low timbale", tone(Triangle, 270, 0, 0.35, 2))
	set(67, "high agogo", tone(Sine, 900, 2480, 0.3, 0))
	set(68, "low agogo", tone(Sine, 640, 1765, 0.3, 0))
	set(69, "cabasa", noiseHit(HighPass, 6000, 0.7, 0.08, 0.3))
	set(70, "maracas", noiseHit(HighPass, 7000, 0.7, 0.05, 0.3))
	set(71, "short whistle", whistle(0.15))
	set(72, "long whistle", whistle(0.45))
	set(73, "short guiro", guiro(0.2))
	set(74, "long guiro", guiro(0.4))
	set(75, "claves", tone(Sine, 2500, 0, 0.06, 0))
	set(76, "hi wood block", tone(Sine, 1250, 0, 0.08, 1))
	set(77, "low wood block", tone(Sine, 850, 0, 0.09, 1))
	set(78, "mute cuica", tone(Sine, 600, 0, 0.12, 12))
	set(79, "open cuica", tone(Sine, 450, 0, 0.3, -7))
	set(80, "mute triangle", tone(Sine, 4400, 11300, 0.15, 0))
	set(81, "open triangle", tone(Sine, 4400, 11300, 1.2, 0))
	set(82, "shaker", noiseHit(HighPass, 6500, 0.7, 0.07, 0.3))
	set(83, "jingle bell", metal(0.6, 0.4, 2100, 3300, BandPass, 6000, 1, 0.4, 0.25, 0.2))
	set(84, "belltree", tone(Sine, 3000, 7900, 1.2, 0))
	set(85, "castanets", tone(Sine, 1800, 0, 0.04, 0))
	set(86, "mute surdo", tom(70, 0.2, 0))
	set(87, "open surdo", tom(70, 0.6, 0))
	for k := range drumKit {
		if drumKit[k].Name[0] == 0 {
			drumKit[k].OneShot = true
			drumKit[k] = named("click", drumKit[k])
		}
	}
}

// DrumPatch returns the one-shot patch a kit plays for key (General MIDI
// percussion map; keys outside 27..87 play a short click). Any thread.
func DrumPatch(key uint8) Patch { return drumKit[key&127] }
