package dsp

import (
	"errors"
	"strconv"
	"strings"
)

// A Graph is a voice patch as data: up to MaxModules modules (oscillators,
// noise, envelopes, LFOs, filters, amplifiers, mixers, shapers, voice
// inputs) joined
// by up to MaxRoutes routes, and the module whose output is the voice's
// sound. Compile checks a Graph and turns it into a GraphProgram, which a
// GraphRenderer plays.
//
// Signals are of two rates. Audio modules (osc, noise, filter, amp, mix,
// shaper) output a signal per sample; control modules (env, lfo, input) output one
// value per control period (32 frames, like the hand-written voice). A
// route either carries audio from an audio module into an audio input
// ("in", "in1".."in4") or modulates a parameter of any module from a
// control module: the parameter's value for the period is its base value
// plus the sum of amount·source over its "add" routes, times
// 1+amount·(source-1) for each of its "mul" routes, clamped to the
// parameter's range. A filter's cutoff is modulated in octaves.
//
// Modules of the effect kinds (drive, delay; ModuleKind.Fx) are not part
// of the voice: in the order they appear in Modules they form the patch's
// effects chain, which processes the sum of the patch's voices (stereo,
// after each voice's channel volume and pan) before it joins the mix.
// They take no routes and count toward MaxModules (at most MaxFx of them,
// MaxFxDelays delays). See graph_fx.go.
//
// OneShot and Choke are options of the whole patch, as in the
// hand-written presets (Patch.OneShot, Patch.Choke): a one-shot voice
// ignores note-off and the sustain pedal and ends when its envelopes have
// decayed to 0 (so each must have sustain 0); a note of a patch in choke
// group Choke (1..255; 0 none) silences, with a short fade, the graph
// notes of its channel whose patches are in the same group (preset notes
// are not in graph choke groups). In a kit (graph_kit.go: a graph per
// MIDI key) they are options of each sound, so a closed hat can choke an
// open one.
//
// Graph is a plain pointer-free value (ids and port names are NUL-padded
// byte arrays), so it can be copied, compared with == and kept in a
// snapshot.
type Graph struct {
	Name     [24]byte // NUL padded, see NameString
	Out      [16]byte // id of the module whose output is the voice (an audio module)
	NModules uint8
	NRoutes  uint8
	Modules  [MaxModules]Module
	Routes   [MaxRoutes]Route
	OneShot  bool  // note-off is ignored; the voice ends when its envelopes reach 0
	Choke    uint8 // choke group, 0 = none
}

// PatchOptions is the module name under which staging edits (PatchSet,
// the wire's patch-set) set the patch options instead of a module
// parameter: param "one_shot" (value 0 or 1) sets Graph.OneShot, "choke"
// (an integer 0..255) Graph.Choke. It is not a valid module id, so it
// names no module.
const PatchOptions = "@patch"

// Names of the patch options (see PatchOptions).
const (
	OptionOneShot = "one_shot"
	OptionChoke   = "choke"
)

// Graph limits. The per-kind limits size the voice state (GraphVoice).
const (
	MaxModules  = 16 // modules per graph
	MaxRoutes   = 32 // routes per graph
	MaxParams   = 8  // parameters per module
	MaxInputs   = 4  // audio inputs per module
	MaxOscs     = 6  // osc and noise modules together
	MaxFilters  = 4  // filter modules
	MaxEnvs     = 4  // env modules
	MaxLFOs     = 4  // lfo modules
	MaxAmps     = 4  // amp modules
	MaxFx       = 4  // effect modules (drive, delay): the patch's effects chain
	MaxFxDelays = 1  // delay modules (each takes one of the synth's FxDelayUnits)
	maxRouteAmt = 1000
)

// Module is one node of a Graph. Param holds the values of the kind's
// parameters (see ModuleKind.Param); a parameter whose bit in Set is 0
// takes the kind's default, so a file lists only what it changes.
type Module struct {
	ID    [16]byte // NUL padded: a letter, then letters, digits, '_' or '-'
	Kind  ModuleKind
	Set   uint16 // bit i: Param[i] is set; else the default applies
	Param [MaxParams]float64
}

// IDString returns the module id without its padding. Not for the audio
// thread (it allocates).
func (m *Module) IDString() string { return padString(m.ID[:]) }

// Value returns parameter i's value: Param[i] when set, else the default.
func (m *Module) Value(i int) float64 {
	if m.Set&(1<<uint(i)) != 0 {
		return m.Param[i]
	}
	if m.Kind < numKinds && i < len(kindInfos[m.Kind].params) {
		return kindInfos[m.Kind].params[i].Default
	}
	return 0
}

// RouteOp says how a modulation route combines with the parameter.
type RouteOp uint8

// Route operations.
const (
	RouteAdd RouteOp = iota // value += amount·source
	RouteMul                // value *= 1 + amount·(source-1): amount 1 scales by the source
	numRouteOps
)

var routeOpNames = [numRouteOps]string{"add", "mul"}

// String returns "add" or "mul".
func (o RouteOp) String() string {
	if o < numRouteOps {
		return routeOpNames[o]
	}
	return "routeop(" + itoa(int(o)) + ")"
}

// ParseRouteOp parses "add" or "mul".
func ParseRouteOp(s string) (RouteOp, bool) {
	for i, n := range routeOpNames {
		if n == s {
			return RouteOp(i), true
		}
	}
	return 0, false
}

// Route connects module From's output to port Port of module To: an
// audio input (then Amount is a fixed gain) or a parameter (then Amount
// scales the modulation, and Op says how it combines).
type Route struct {
	From   [16]byte
	To     [16]byte
	Port   [16]byte
	Amount float64
	Op     RouteOp
}

// ModuleKind is the type of a Module.
type ModuleKind uint8

// Module kinds.
const (
	KindNone   ModuleKind = iota // an invalid, zero module
	KindOsc                      // band-limited oscillator (audio)
	KindNoise                    // white or pink noise (audio)
	KindEnv                      // ADSR envelope, 0..1 (control)
	KindLFO                      // low-frequency oscillator, ±depth (control)
	KindFilter                   // RBJ biquad: lowpass, highpass, bandpass, notch (audio)
	KindAmp                      // amplifier, gain ramped per control period (audio)
	KindMix                      // mixer of up to four inputs (audio)
	KindInput                    // a voice input: key, velocity, gate, bend, mod wheel, pressure (control)
	KindDrive                    // effect: saturation of the patch's summed voices (see graph_fx.go)
	KindDelay                    // effect: feedback delay of the patch's summed voices (see graph_fx.go)
	KindShaper                   // soft clipper of one voice's signal (audio), like a preset's drive
	numKinds
)

// Parameter indices of each kind, in ModuleKind.Param order.
const (
	OscWave, OscLevel, OscSemi, OscDetune, OscPW, OscHz   = 0, 1, 2, 3, 4, 5
	NoiseColor, NoiseLevel                                = 0, 1
	EnvAttack, EnvDecay, EnvSustain, EnvRelease, EnvCurve = 0, 1, 2, 3, 4
	LFOShapeParam, LFORate, LFODepth                      = 0, 1, 2
	FilterTypeParam, FilterCutoff, FilterQ                = 0, 1, 2
	AmpGain                                               = 0
	InputSource                                           = 0
	DriveAmount, DriveTone, DriveMix, DriveLevel          = 0, 1, 2, 3
	DelayTime, DelayFeedback, DelayMix, DelayTone         = 0, 1, 2, 3
	ShaperAmount                                          = 0
)

// Values of an input module's source parameter.
const (
	InputKey         = iota // (key-60)/12: octaves from middle C (key tracking)
	InputVelocity           // 0..1
	InputVelocity2          // velocity²
	InputGate               // 1 while the key is held, else 0
	InputBend               // pitch bend in semitones
	InputMod                // mod wheel 0..1
	InputPressure           // channel pressure 0..1
	InputModPressure        // the larger of mod wheel and pressure (what drives a preset's LFO mod_depth)
	numInputSources
)

// ParamInfo describes one parameter of a module kind.
type ParamInfo struct {
	Name     string
	Default  float64
	Min, Max float64
	// Enum names the values of an enumerated parameter (the value is the
	// index); nil for a number. Shared: do not modify.
	Enum []string
	Mod  bool   // routes may modulate it
	Unit string // unit of the value (and of modulation amounts)
}

type kindInfo struct {
	name   string
	params []ParamInfo
	inputs []string
	req    uint8 // bit i: input i must be connected
	audio  bool  // audio output (else control)
	fx     bool  // an effect of the patch's chain, not a voice module
}

var kindInfos = [numKinds]kindInfo{
	KindNone: {name: "none"},
	KindOsc: {name: "osc", audio: true, params: []ParamInfo{
		{Name: "wave", Default: float64(Saw), Max: float64(Triangle), Enum: []string{"sine", "saw", "square", "triangle"}},
		{Name: "level", Default: 1, Max: 1, Mod: true},
		{Name: "semi", Min: -48, Max: 48, Mod: true, Unit: "semitones"},
		{Name: "detune", Min: -100, Max: 100, Mod: true, Unit: "cents"},
		{Name: "pw", Default: 0.5, Min: 0.02, Max: 0.98, Mod: true},
		{Name: "hz", Max: 20000, Unit: "Hz (0 follows the key)"},
	}},
	KindNoise: {name: "noise", audio: true, params: []ParamInfo{
		{Name: "color", Enum: []string{"white", "pink"}, Max: 1},
		{Name: "level", Default: 1, Max: 1, Mod: true},
	}},
	KindEnv: {name: "env", params: []ParamInfo{
		{Name: "attack", Default: 0.005, Max: 60, Unit: "s"},
		{Name: "decay", Default: 0.1, Max: 60, Unit: "s"},
		{Name: "sustain", Default: 1, Max: 1},
		{Name: "release", Default: 0.1, Max: 60, Unit: "s"},
		{Name: "curve", Enum: []string{"linear", "exponential"}, Max: 1},
	}},
	KindLFO: {name: "lfo", params: []ParamInfo{
		{Name: "shape", Enum: []string{"sine", "triangle", "square", "saw", "samplehold"}, Max: float64(numLFOShapes - 1)},
		{Name: "rate", Default: 5, Max: 50, Mod: true, Unit: "Hz"},
		{Name: "depth", Default: 1, Max: 48, Mod: true},
	}},
	KindFilter: {name: "filter", audio: true, inputs: []string{"in"}, req: 1, params: []ParamInfo{
		{Name: "type", Enum: []string{"lowpass", "highpass", "bandpass", "notch"}, Max: float64(numFilterTypes - 1)},
		{Name: "cutoff", Default: 1000, Min: minCutoff, Max: 24000, Mod: true, Unit: "Hz (modulation in octaves)"},
		{Name: "q", Default: 0.707, Min: minQ, Max: 20, Mod: true},
	}},
	KindAmp: {name: "amp", audio: true, inputs: []string{"in"}, req: 1, params: []ParamInfo{
		{Name: "gain", Default: 1, Max: 4, Mod: true, Unit: "linear (ramped per control period)"},
	}},
	KindMix: {name: "mix", audio: true, inputs: []string{"in1", "in2", "in3", "in4"}, params: []ParamInfo{
		{Name: "level1", Default: 1, Max: 4, Mod: true},
		{Name: "level2", Default: 1, Max: 4, Mod: true},
		{Name: "level3", Default: 1, Max: 4, Mod: true},
		{Name: "level4", Default: 1, Max: 4, Mod: true},
	}},
	KindInput: {name: "input", params: []ParamInfo{
		{Name: "source", Enum: []string{"key", "velocity", "velocity2", "gate", "bend", "mod", "pressure", "mod_pressure"}, Max: numInputSources - 1},
	}},
	KindDrive: {name: "drive", fx: true, params: []ParamInfo{
		{Name: "amount", Default: 2, Min: 1, Max: 100, Unit: "linear gain into the clipper"},
		{Name: "tone", Default: fxToneOpen, Min: 200, Max: fxToneOpen, Unit: "Hz, low-pass after the clipper (20000: none)"},
		{Name: "mix", Default: 1, Max: 1, Unit: "wet share"},
		{Name: "level", Default: 1, Max: 2, Unit: "linear output gain"},
	}},
	KindDelay: {name: "delay", fx: true, params: []ParamInfo{
		{Name: "time", Default: 0.25, Min: 0.001, Max: MaxFxDelaySeconds, Unit: "s (rounded to a sample)"},
		{Name: "feedback", Default: 0.35, Max: 0.95, Unit: "gain of each echo's repeat"},
		{Name: "mix", Default: 0.25, Max: 1, Unit: "wet share"},
		{Name: "tone", Default: fxToneOpen, Min: 200, Max: fxToneOpen, Unit: "Hz, low-pass in the feedback path (20000: none)"},
	}},
	// The shaper is SoftClip per voice: out = clip(amount·in), where the
	// input route's amount multiplies the gain too. Before a filter it is
	// a preset's drive.
	KindShaper: {name: "shaper", audio: true, inputs: []string{"in"}, req: 1, params: []ParamInfo{
		{Name: "amount", Default: 2, Min: 1, Max: 100, Mod: true, Unit: "linear gain into the soft clipper (output within ±1)"},
	}},
}

// String returns the kind's name ("osc", "filter", ...).
func (k ModuleKind) String() string {
	if k < numKinds {
		return kindInfos[k].name
	}
	return "kind(" + itoa(int(k)) + ")"
}

// ParseModuleKind parses a kind name.
func ParseModuleKind(s string) (ModuleKind, bool) {
	for k := KindOsc; k < numKinds; k++ {
		if kindInfos[k].name == s {
			return k, true
		}
	}
	return KindNone, false
}

// Valid reports whether k is a module kind (not KindNone).
func (k ModuleKind) Valid() bool { return k > KindNone && k < numKinds }

// Fx reports whether the kind is an effect (drive, delay): a stage of the
// patch's effects chain rather than a module of its voices. Any thread;
// never allocates.
func (k ModuleKind) Fx() bool { return k < numKinds && kindInfos[k].fx }

// AudioOut reports whether the kind outputs audio (else a control value).
func (k ModuleKind) AudioOut() bool { return k < numKinds && kindInfos[k].audio }

// NumParams returns the number of parameters of the kind.
func (k ModuleKind) NumParams() int {
	if k < numKinds {
		return len(kindInfos[k].params)
	}
	return 0
}

// Param returns parameter i of the kind.
func (k ModuleKind) Param(i int) ParamInfo { return kindInfos[k].params[i] }

// ParamIndex returns the index of the named parameter, or -1.
func (k ModuleKind) ParamIndex(name string) int {
	if k >= numKinds {
		return -1
	}
	for i := range kindInfos[k].params {
		if kindInfos[k].params[i].Name == name {
			return i
		}
	}
	return -1
}

// NumInputs returns the number of audio inputs of the kind.
func (k ModuleKind) NumInputs() int {
	if k < numKinds {
		return len(kindInfos[k].inputs)
	}
	return 0
}

// Input returns the name of audio input i.
func (k ModuleKind) Input(i int) string { return kindInfos[k].inputs[i] }

// InputIndex returns the index of the named audio input, or -1.
func (k ModuleKind) InputIndex(name string) int {
	if k >= numKinds {
		return -1
	}
	for i, n := range kindInfos[k].inputs {
		if n == name {
			return i
		}
	}
	return -1
}

// InputRequired reports whether audio input i must be connected.
func (k ModuleKind) InputRequired(i int) bool { return kindInfos[k].req&(1<<uint(i)) != 0 }

// NameString returns the graph's name without its padding. Not for the
// audio thread.
func (g *Graph) NameString() string { return padString(g.Name[:]) }

// SetName stores name, truncated to 24 bytes.
func (g *Graph) SetName(name string) {
	g.Name = [24]byte{}
	copy(g.Name[:], name)
}

// OutString returns the output module's id. Not for the audio thread.
func (g *Graph) OutString() string { return padString(g.Out[:]) }

func padString(b []byte) string {
	n := 0
	for n < len(b) && b[n] != 0 {
		n++
	}
	return string(b[:n])
}

// id16 pads s into an id; ok is false when s does not fit.
func id16(s string) (id [16]byte, ok bool) {
	if len(s) > len(id) {
		return id, false
	}
	copy(id[:], s)
	return id, true
}

// Module lookup and editing. These are for the control thread (they may
// allocate their errors); the audio thread only runs GraphPrograms.

var (
	errGraphFull  = errors.New("dsp: graph has " + itoa(MaxModules) + " modules already")
	errRoutesFull = errors.New("dsp: graph has " + itoa(MaxRoutes) + " routes already")
)

// ModuleIndex returns the index of module id in g.Modules, or -1.
func (g *Graph) ModuleIndex(id string) int {
	k, ok := id16(id)
	if !ok {
		return -1
	}
	return g.moduleIndex(&k)
}

func (g *Graph) moduleIndex(id *[16]byte) int {
	for i := 0; i < int(g.NModules) && i < MaxModules; i++ {
		if g.Modules[i].ID == *id {
			return i
		}
	}
	return -1
}

// AddModule appends a module of kind k with every parameter at its
// default. The first module added becomes the output unless Out is set.
func (g *Graph) AddModule(id string, k ModuleKind) error {
	if err := checkID(id); err != nil {
		return err
	}
	if !k.Valid() {
		return errors.New("dsp: unknown module kind " + k.String())
	}
	if g.ModuleIndex(id) >= 0 {
		return errors.New("dsp: module " + id + " exists already")
	}
	if int(g.NModules) >= MaxModules {
		return errGraphFull
	}
	m := &g.Modules[g.NModules]
	*m = Module{Kind: k}
	m.ID, _ = id16(id)
	g.NModules++
	return nil
}

// RemoveModule deletes module id and every route from or to it.
func (g *Graph) RemoveModule(id string) error {
	i := g.ModuleIndex(id)
	if i < 0 {
		return errors.New("dsp: no module " + id)
	}
	mid := g.Modules[i].ID
	copy(g.Modules[i:g.NModules], g.Modules[i+1:g.NModules])
	g.NModules--
	g.Modules[g.NModules] = Module{}
	n := 0
	for r := 0; r < int(g.NRoutes); r++ {
		if g.Routes[r].From != mid && g.Routes[r].To != mid {
			g.Routes[n] = g.Routes[r]
			n++
		}
	}
	for r := n; r < int(g.NRoutes); r++ {
		g.Routes[r] = Route{}
	}
	g.NRoutes = uint8(n)
	if g.Out == mid {
		g.Out = [16]byte{}
	}
	return nil
}

// SetOut makes module id the voice output.
func (g *Graph) SetOut(id string) error {
	if g.ModuleIndex(id) < 0 {
		return errors.New("dsp: no module " + id)
	}
	g.Out, _ = id16(id)
	return nil
}

// SetParam sets a parameter of module id (an enum by its index; see
// SetParamName). The value is checked by Compile.
func (g *Graph) SetParam(id, param string, v float64) error {
	i := g.ModuleIndex(id)
	if i < 0 {
		return errors.New("dsp: no module " + id)
	}
	m := &g.Modules[i]
	p := m.Kind.ParamIndex(param)
	if p < 0 {
		return errors.New("dsp: " + m.Kind.String() + " module " + id + " has no parameter " + param)
	}
	m.Param[p] = v
	m.Set |= 1 << uint(p)
	return nil
}

// SetParamName sets an enumerated parameter by its value's name (for
// example wave = "saw").
func (g *Graph) SetParamName(id, param, value string) error {
	i := g.ModuleIndex(id)
	if i < 0 {
		return errors.New("dsp: no module " + id)
	}
	k := g.Modules[i].Kind
	p := k.ParamIndex(param)
	if p < 0 {
		return errors.New("dsp: " + k.String() + " module " + id + " has no parameter " + param)
	}
	for e, n := range kindInfos[k].params[p].Enum {
		if n == value {
			return g.SetParam(id, param, float64(e))
		}
	}
	return errors.New("dsp: " + id + "." + param + ": unknown value " + value)
}

// Connect adds a route from module from to "module.port" to. For a
// parameter, op says how the route combines; for an audio input amount is
// a fixed gain. Compile checks the route.
func (g *Graph) Connect(from, to string, amount float64, op RouteOp) error {
	mod, port, ok := strings.Cut(to, ".")
	if !ok {
		return errors.New("dsp: route target " + to + " is not module.port")
	}
	if int(g.NRoutes) >= MaxRoutes {
		return errRoutesFull
	}
	var r Route
	var ok1, ok2, ok3 bool
	r.From, ok1 = id16(from)
	r.To, ok2 = id16(mod)
	r.Port, ok3 = id16(port)
	if !ok1 || !ok2 || !ok3 {
		return errors.New("dsp: route " + from + " -> " + to + ": name longer than 16 bytes")
	}
	r.Amount, r.Op = amount, op
	g.Routes[g.NRoutes] = r
	g.NRoutes++
	return nil
}

// Disconnect removes every route from module from to "module.port" to and
// reports whether there was one.
func (g *Graph) Disconnect(from, to string) bool {
	mod, port, _ := strings.Cut(to, ".")
	f, _ := id16(from)
	t, _ := id16(mod)
	p, _ := id16(port)
	n := 0
	for r := 0; r < int(g.NRoutes); r++ {
		rt := &g.Routes[r]
		if rt.From == f && rt.To == t && rt.Port == p {
			continue
		}
		g.Routes[n] = *rt
		n++
	}
	found := n < int(g.NRoutes)
	for r := n; r < int(g.NRoutes); r++ {
		g.Routes[r] = Route{}
	}
	g.NRoutes = uint8(n)
	return found
}

func checkID(id string) error {
	if b, ok := id16(id); !ok || !validID(&b) {
		return errors.New("dsp: bad module id " + strconv.Quote(id) + " (1..16 bytes: a letter, then letters, digits, _ or -)")
	}
	return nil
}

// validID reports whether a padded id is 1..16 bytes of a letter followed
// by letters, digits, '_' or '-', NUL padded.
func validID(id *[16]byte) bool {
	n := 0
	for n < len(id) && id[n] != 0 {
		c := id[n]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (n == 0 || !(c >= '0' && c <= '9' || c == '_' || c == '-')) {
			return false
		}
		n++
	}
	for i := n; i < len(id); i++ {
		if id[i] != 0 {
			return false
		}
	}
	return n > 0
}

// NumPorts returns the number of route destinations of the kind: its
// audio inputs, then its parameters (see PortName).
func (k ModuleKind) NumPorts() int { return k.NumInputs() + k.NumParams() }

// PortName returns the name of port i of the kind: the audio inputs are
// ports 0..NumInputs()-1, the parameters follow in Param order. This is
// the numbering of a patch-connect command's Key. ok is false when the
// kind has no port i. Any thread; never allocates.
func (k ModuleKind) PortName(i int) (string, bool) {
	if k >= numKinds || i < 0 {
		return "", false
	}
	ki := &kindInfos[k]
	if i < len(ki.inputs) {
		return ki.inputs[i], true
	}
	if i -= len(ki.inputs); i < len(ki.params) {
		return ki.params[i].Name, true
	}
	return "", false
}

// PortIndex returns the port number of the named audio input or
// parameter (see PortName), or -1. Any thread; never allocates.
func (k ModuleKind) PortIndex(name string) int {
	if k >= numKinds {
		return -1
	}
	if i := k.InputIndex(name); i >= 0 {
		return i
	}
	if i := k.ParamIndex(name); i >= 0 {
		return len(kindInfos[k].inputs) + i
	}
	return -1
}
