package dsp

import "strings"

// Param names one synth parameter for SetParam events. Channel parameters
// change the event channel's patch and the voices sounding on it (kit
// voices keep their drum sounds); master parameters (delay, reverb, master)
// ignore the channel. Values are clamped to the range below; enumerated
// values (waves, types, shapes, destinations) are rounded to the nearest
// index.
//
//	module/name          unit / range                    scope
//	osc1/wave            Wave 0..5 (sine saw square triangle white pink)  channel
//	osc1/semi            semitones -48..48                channel
//	osc1/detune          cents -100..100                  channel
//	osc1/level           0..1                             channel
//	osc1/pw              pulse width 0.02..0.98           channel
//	osc1/freq            Hz 0..20000, fixed pitch (0 = follow the key)  channel
//	osc2/...             as osc1                          channel
//	noise/level          0..1                             channel
//	noise/color          0 white, 1 pink                  channel
//	filter/type          0 lowpass 1 highpass 2 bandpass 3 notch  channel
//	filter/cutoff        Hz 10..24000                     channel
//	filter/resonance     Q 0.1..20                        channel
//	filter/envamount     octaves -10..10                  channel
//	filter/keytrack      0..1                             channel
//	filter/velocity      octaves -10..10                  channel
//	env/attack           seconds 0..60 (amp envelope)     channel
//	env/decay            seconds 0..60                    channel
//	env/sustain          level 0..1                       channel
//	env/release          seconds 0..60                    channel
//	env/curve            0 linear, 1 exponential          channel
//	fenv/attack ... fenv/curve  as env, filter envelope   channel
//	pitch/envamount      semitones -48..48 at note-on     channel
//	pitch/envdecay       seconds 0.0005..10 (time constant)  channel
//	lfo/rate             Hz 0..50                         channel
//	lfo/depth            destination unit 0..24           channel
//	lfo/shape            0 sine 1 triangle 2 square 3 saw 4 sample&hold  channel
//	lfo/dest             0 pitch 1 cutoff 2 amp           channel
//	lfo/mod              depth added at full mod wheel/pressure 0..24  channel
//	voice/gain           linear 0..4                      channel
//	voice/pan            -1..1                            channel
//	voice/velocity       sensitivity 0..1                 channel
//	voice/drive          0..100 (0 = off)                 channel
//	channel/volume       0..1 (as CC7)                    channel
//	channel/pan          -1..1 (as CC10)                  channel
//	channel/expression   0..1 (as CC11)                   channel
//	channel/bendrange    semitones 0..48                  channel
//	channel/preset       preset index 0..MaxPresets-1     channel
//	delay/time           seconds 0.001..2                 master
//	delay/feedback       0..0.98                          master
//	delay/mix            wet 0..1                         master
//	reverb/size          0..1                             master
//	reverb/damping       0..1                             master
//	reverb/mix           wet 0..1                         master
//	master/gain          linear 0..4 (smoothed)           master
//	master/drive         SoftClip drive 0..100            master
//
// Module aliases accepted by ParamByName: osc1 = osc, sine, vco, vco1;
// osc2 = vco2; filter = filt, vcf, biquad; env = adsr, ampenv, amp;
// fenv = filterenv, fadsr; pitch = penv; lfo; voice = patch; channel = ch,
// chan, part; delay = echo; reverb = verb; master = out, main. Name aliases:
// freq/frequency/hz (osc freq, filter cutoff, lfo rate), res/q (resonance),
// a/d/s/r, level = mix = gain = amp for oscillators and noise, time, fb,
// wet, damp, room, amount.
type Param uint16

// Parameters (see the table in the Param doc comment).
const (
	ParamNone Param = iota
	ParamOsc1Wave
	ParamOsc1Semi
	ParamOsc1Detune
	ParamOsc1Level
	ParamOsc1PW
	ParamOsc1Freq
	ParamOsc2Wave
	ParamOsc2Semi
	ParamOsc2Detune
	ParamOsc2Level
	ParamOsc2PW
	ParamOsc2Freq
	ParamNoiseLevel
	ParamNoiseColor
	ParamFilterType
	ParamFilterCutoff
	ParamFilterResonance
	ParamFilterEnvAmount
	ParamFilterKeyTrack
	ParamFilterVelocity
	ParamAmpAttack
	ParamAmpDecay
	ParamAmpSustain
	ParamAmpRelease
	ParamAmpCurve
	ParamFilterEnvAttack
	ParamFilterEnvDecay
	ParamFilterEnvSustain
	ParamFilterEnvRelease
	ParamFilterEnvCurve
	ParamPitchEnvAmount
	ParamPitchEnvDecay
	ParamLFORate
	ParamLFODepth
	ParamLFOShape
	ParamLFODest
	ParamLFOMod
	ParamVoiceGain
	ParamVoicePan
	ParamVoiceVelocity
	ParamVoiceDrive
	ParamChannelVolume
	ParamChannelPan
	ParamChannelExpression
	ParamChannelBendRange
	ParamChannelPreset
	ParamDelayTime
	ParamDelayFeedback
	ParamDelayMix
	ParamReverbSize
	ParamReverbDamping
	ParamReverbMix
	ParamMasterGain
	ParamMasterDrive
	numParams
)

// NumParams is one more than the highest Param.
const NumParams = int(numParams)

type paramScope uint8

const (
	scopePatch   paramScope = iota // the channel's patch and its voices
	scopeChannel                   // channel state (volume, pan, ...)
	scopeMaster                    // effects and master
)

type paramInfo struct {
	module, name string
	lo, hi       float64
	scope        paramScope
	enum         bool // rounded to an integer index
}

var paramInfos = [numParams]paramInfo{
	ParamOsc1Wave:          {"osc1", "wave", 0, float64(numWaves - 1), scopePatch, true},
	ParamOsc1Semi:          {"osc1", "semi", -48, 48, scopePatch, false},
	ParamOsc1Detune:        {"osc1", "detune", -100, 100, scopePatch, false},
	ParamOsc1Level:         {"osc1", "level", 0, 1, scopePatch, false},
	ParamOsc1PW:            {"osc1", "pw", 0.02, 0.98, scopePatch, false},
	ParamOsc1Freq:          {"osc1", "freq", 0, 20000, scopePatch, false},
	ParamOsc2Wave:          {"osc2", "wave", 0, float64(numWaves - 1), scopePatch, true},
	ParamOsc2Semi:          {"osc2", "semi", -48, 48, scopePatch, false},
	ParamOsc2Detune:        {"osc2", "detune", -100, 100, scopePatch, false},
	ParamOsc2Level:         {"osc2", "level", 0, 1, scopePatch, false},
	ParamOsc2PW:            {"osc2", "pw", 0.02, 0.98, scopePatch, false},
	ParamOsc2Freq:          {"osc2", "freq", 0, 20000, scopePatch, false},
	ParamNoiseLevel:        {"noise", "level", 0, 1, scopePatch, false},
	ParamNoiseColor:        {"noise", "color", 0, 1, scopePatch, true},
	ParamFilterType:        {"filter", "type", 0, float64(numFilterTypes - 1), scopePatch, true},
	ParamFilterCutoff:      {"filter", "cutoff", minCutoff, 24000, scopePatch, false},
	ParamFilterResonance:   {"filter", "resonance", minQ, 20, scopePatch, false},
	ParamFilterEnvAmount:   {"filter", "envamount", -10, 10, scopePatch, false},
	ParamFilterKeyTrack:    {"filter", "keytrack", 0, 1, scopePatch, false},
	ParamFilterVelocity:    {"filter", "velocity", -10, 10, scopePatch, false},
	ParamAmpAttack:         {"env", "attack", 0, 60, scopePatch, false},
	ParamAmpDecay:          {"env", "decay", 0, 60, scopePatch, false},
	ParamAmpSustain:        {"env", "sustain", 0, 1, scopePatch, false},
	ParamAmpRelease:        {"env", "release", 0, 60, scopePatch, false},
	ParamAmpCurve:          {"env", "curve", 0, 1, scopePatch, true},
	ParamFilterEnvAttack:   {"fenv", "attack", 0, 60, scopePatch, false},
	ParamFilterEnvDecay:    {"fenv", "decay", 0, 60, scopePatch, false},
	ParamFilterEnvSustain:  {"fenv", "sustain", 0, 1, scopePatch, false},
	ParamFilterEnvRelease:  {"fenv", "release", 0, 60, scopePatch, false},
	ParamFilterEnvCurve:    {"fenv", "curve", 0, 1, scopePatch, true},
	ParamPitchEnvAmount:    {"pitch", "envamount", -48, 48, scopePatch, false},
	ParamPitchEnvDecay:     {"pitch", "envdecay", 0.0005, 10, scopePatch, false},
	ParamLFORate:           {"lfo", "rate", 0, 50, scopePatch, false},
	ParamLFODepth:          {"lfo", "depth", 0, 24, scopePatch, false},
	ParamLFOShape:          {"lfo", "shape", 0, float64(numLFOShapes - 1), scopePatch, true},
	ParamLFODest:           {"lfo", "dest", 0, float64(numLFODests - 1), scopePatch, true},
	ParamLFOMod:            {"lfo", "mod", 0, 24, scopePatch, false},
	ParamVoiceGain:         {"voice", "gain", 0, 4, scopePatch, false},
	ParamVoicePan:          {"voice", "pan", -1, 1, scopePatch, false},
	ParamVoiceVelocity:     {"voice", "velocity", 0, 1, scopePatch, false},
	ParamVoiceDrive:        {"voice", "drive", 0, 100, scopePatch, false},
	ParamChannelVolume:     {"channel", "volume", 0, 1, scopeChannel, false},
	ParamChannelPan:        {"channel", "pan", -1, 1, scopeChannel, false},
	ParamChannelExpression: {"channel", "expression", 0, 1, scopeChannel, false},
	ParamChannelBendRange:  {"channel", "bendrange", 0, 48, scopeChannel, false},
	ParamChannelPreset:     {"channel", "preset", 0, float64(MaxPresets - 1), scopeChannel, true},
	ParamDelayTime:         {"delay", "time", 0.001, MaxDelaySeconds, scopeMaster, false},
	ParamDelayFeedback:     {"delay", "feedback", 0, 0.98, scopeMaster, false},
	ParamDelayMix:          {"delay", "mix", 0, 1, scopeMaster, false},
	ParamReverbSize:        {"reverb", "size", 0, 1, scopeMaster, false},
	ParamReverbDamping:     {"reverb", "damping", 0, 1, scopeMaster, false},
	ParamReverbMix:         {"reverb", "mix", 0, 1, scopeMaster, false},
	ParamMasterGain:        {"master", "gain", 0, 4, scopeMaster, false},
	ParamMasterDrive:       {"master", "drive", 0, 100, scopeMaster, false},
}

// String returns "module/name" (the canonical names of the table).
func (p Param) String() string {
	if p > 0 && p < numParams {
		return paramInfos[p].module + "/" + paramInfos[p].name
	}
	return "param(" + itoa(int(p)) + ")"
}

// Range returns the legal range of the parameter's value.
func (p Param) Range() (lo, hi float64) {
	if p > 0 && p < numParams {
		return paramInfos[p].lo, paramInfos[p].hi
	}
	return 0, 0
}

// Master reports whether the parameter belongs to the master section
// (effects and output) rather than to a channel.
func (p Param) Master() bool { return p > 0 && p < numParams && paramInfos[p].scope == scopeMaster }

// ParamByName looks a parameter up by module and name, case-insensitively
// and ignoring '_', '-' and spaces, with the aliases listed in the Param doc
// comment; "module/name" in the module argument with an empty name works
// too. It does not allocate: any thread, the render thread included.
func ParamByName(module, name string) (Param, bool) {
	if name == "" {
		if i := strings.IndexByte(module, '/'); i >= 0 {
			module, name = module[:i], module[i+1:]
		}
	}
	var mb, nb [24]byte
	ml, ok1 := foldName(&mb, module)
	nl, ok2 := foldName(&nb, name)
	if !ok1 || !ok2 {
		return ParamNone, false
	}
	mod := canonicalModule(mb[:ml])
	if mod == "" {
		return ParamNone, false
	}
	n := nb[:nl]
	alias := canonicalName(mod, n)
	for p := Param(1); p < numParams; p++ {
		in := &paramInfos[p]
		if in.module != mod {
			continue
		}
		if alias != "" {
			if in.name == alias {
				return p, true
			}
		} else if in.name == string(n) { // compared in place, no allocation
			return p, true
		}
	}
	return ParamNone, false
}

// foldName writes s lower-cased, without '_', '-' and spaces, into b and
// returns its length; false if it does not fit.
func foldName(b *[24]byte, s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || c == '-' || c == ' ' || c == '\t':
			continue
		case c >= 'A' && c <= 'Z':
			c += 'a' - 'A'
		}
		if n == len(b) {
			return 0, false
		}
		b[n] = c
		n++
	}
	return n, true
}

// canonicalModule returns the module name for an alias, or "".
func canonicalModule(m []byte) string {
	switch string(m) { // a switch on string(bytes) does not allocate
	case "osc1", "osc", "sine", "vco", "vco1", "oscillator", "oscillator1":
		return "osc1"
	case "osc2", "vco2", "oscillator2":
		return "osc2"
	case "noise":
		return "noise"
	case "filter", "filt", "vcf", "biquad":
		return "filter"
	case "env", "adsr", "ampenv", "amp", "envelope", "vca":
		return "env"
	case "fenv", "filterenv", "fadsr", "fltenv":
		return "fenv"
	case "pitch", "penv", "pitchenv":
		return "pitch"
	case "lfo", "lfo1":
		return "lfo"
	case "voice", "patch":
		return "voice"
	case "channel", "ch", "chan", "part":
		return "channel"
	case "delay", "echo":
		return "delay"
	case "reverb", "verb":
		return "reverb"
	case "master", "out", "output", "main":
		return "master"
	}
	return ""
}

// canonicalName returns the parameter name an alias stands for in module,
// or "" when n is not an alias.
func canonicalName(module string, n []byte) string {
	switch module {
	case "osc1", "osc2":
		switch string(n) {
		case "waveform", "shape", "type":
			return "wave"
		case "semitone", "semitones", "transpose", "coarse":
			return "semi"
		case "fine", "cents":
			return "detune"
		case "mix", "gain", "amp", "volume", "amplitude":
			return "level"
		case "pulsewidth", "width", "duty":
			return "pw"
		case "frequency", "hz":
			return "freq"
		}
	case "noise":
		switch string(n) {
		case "mix", "gain", "amp", "volume", "amplitude":
			return "level"
		case "colour", "type", "wave":
			return "color"
		}
	case "filter":
		switch string(n) {
		case "freq", "frequency", "hz", "cut":
			return "cutoff"
		case "res", "q", "reso":
			return "resonance"
		case "env", "envamt", "amount", "envelope":
			return "envamount"
		case "key", "keyfollow", "tracking":
			return "keytrack"
		case "vel":
			return "velocity"
		case "mode":
			return "type"
		}
	case "env", "fenv":
		switch string(n) {
		case "a", "att":
			return "attack"
		case "d", "dec":
			return "decay"
		case "s", "sus":
			return "sustain"
		case "r", "rel":
			return "release"
		case "shape":
			return "curve"
		}
	case "pitch":
		switch string(n) {
		case "amount", "env", "depth":
			return "envamount"
		case "decay", "time":
			return "envdecay"
		}
	case "lfo":
		switch string(n) {
		case "freq", "frequency", "hz", "speed":
			return "rate"
		case "amount":
			return "depth"
		case "wave", "waveform":
			return "shape"
		case "destination", "target":
			return "dest"
		case "modwheel", "moddepth":
			return "mod"
		}
	case "voice":
		switch string(n) {
		case "level", "volume", "amp":
			return "gain"
		case "vel", "velsens":
			return "velocity"
		}
	case "channel":
		switch string(n) {
		case "vol", "level", "gain":
			return "volume"
		case "expr":
			return "expression"
		case "bend", "pitchbendrange":
			return "bendrange"
		case "program", "patch":
			return "preset"
		}
	case "delay":
		switch string(n) {
		case "seconds", "length":
			return "time"
		case "fb", "regen":
			return "feedback"
		case "wet", "amount", "level":
			return "mix"
		}
	case "reverb":
		switch string(n) {
		case "room", "roomsize":
			return "size"
		case "damp":
			return "damping"
		case "wet", "amount", "level":
			return "mix"
		}
	case "master":
		switch string(n) {
		case "volume", "level", "amp":
			return "gain"
		}
	}
	return ""
}

// setPatchParam writes v (already clamped) into the patch field of p.
func setPatchParam(pt *Patch, p Param, v float64) {
	switch p {
	case ParamOsc1Wave, ParamOsc2Wave:
		pt.Osc[oscIndex(p)].Wave = Wave(v)
	case ParamOsc1Semi, ParamOsc2Semi:
		pt.Osc[oscIndex(p)].Semi = v
	case ParamOsc1Detune, ParamOsc2Detune:
		pt.Osc[oscIndex(p)].Detune = v
	case ParamOsc1Level, ParamOsc2Level:
		pt.Osc[oscIndex(p)].Level = v
	case ParamOsc1PW, ParamOsc2PW:
		pt.Osc[oscIndex(p)].PW = v
	case ParamOsc1Freq, ParamOsc2Freq:
		pt.Osc[oscIndex(p)].Hz = v
	case ParamNoiseLevel:
		pt.Noise = v
	case ParamNoiseColor:
		pt.NoiseWave = WhiteNoise
		if v >= 1 {
			pt.NoiseWave = PinkNoise
		}
	case ParamFilterType:
		pt.Filter.Type = FilterType(v)
	case ParamFilterCutoff:
		pt.Filter.Cutoff = v
	case ParamFilterResonance:
		pt.Filter.Resonance = v
	case ParamFilterEnvAmount:
		pt.Filter.EnvAmount = v
	case ParamFilterKeyTrack:
		pt.Filter.KeyTrack = v
	case ParamFilterVelocity:
		pt.Filter.Velocity = v
	case ParamAmpAttack:
		pt.AmpEnv.Attack = v
	case ParamAmpDecay:
		pt.AmpEnv.Decay = v
	case ParamAmpSustain:
		pt.AmpEnv.Sustain = v
	case ParamAmpRelease:
		pt.AmpEnv.Release = v
	case ParamAmpCurve:
		pt.AmpEnv.Curve = Curve(v)
	case ParamFilterEnvAttack:
		pt.FilterEnv.Attack = v
	case ParamFilterEnvDecay:
		pt.FilterEnv.Decay = v
	case ParamFilterEnvSustain:
		pt.FilterEnv.Sustain = v
	case ParamFilterEnvRelease:
		pt.FilterEnv.Release = v
	case ParamFilterEnvCurve:
		pt.FilterEnv.Curve = Curve(v)
	case ParamPitchEnvAmount:
		pt.PitchEnv = v
	case ParamPitchEnvDecay:
		pt.PitchDecay = v
	case ParamLFORate:
		pt.LFO.Rate = v
	case ParamLFODepth:
		pt.LFO.Depth = v
	case ParamLFOShape:
		pt.LFO.Shape = LFOShape(v)
	case ParamLFODest:
		pt.LFO.Dest = LFODest(v)
	case ParamLFOMod:
		pt.LFO.ModDepth = v
	case ParamVoiceGain:
		pt.Gain = v
	case ParamVoicePan:
		pt.Pan = v
	case ParamVoiceVelocity:
		pt.Velocity = v
	case ParamVoiceDrive:
		pt.Drive = v
	}
}

func oscIndex(p Param) int {
	if p >= ParamOsc2Wave && p <= ParamOsc2Freq {
		return 1
	}
	return 0
}

// clampParam clamps v into p's range, rounding enumerations.
func clampParam(p Param, v float64) float64 {
	in := &paramInfos[p]
	v = clampF(v, in.lo, in.hi)
	if in.enum {
		v = float64(int(v + 0.5))
	}
	return v
}
