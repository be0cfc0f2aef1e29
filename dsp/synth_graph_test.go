package dsp

import (
	"math"
	"math/bits"
	"strings"
	"testing"
)

func TestPortNumbering(t *testing.T) {
	for k := KindOsc; k.Valid(); k++ {
		n := 0
		for i := 0; i < k.NumInputs(); i++ {
			name, ok := k.PortName(n)
			if !ok || name != k.Input(i) || k.PortIndex(name) != n {
				t.Fatalf("%v port %d: %q %v", k, n, name, ok)
			}
			n++
		}
		for i := 0; i < k.NumParams(); i++ {
			name, ok := k.PortName(n)
			if !ok || name != k.Param(i).Name || k.PortIndex(name) != n {
				t.Fatalf("%v port %d: %q %v", k, n, name, ok)
			}
			n++
		}
		if _, ok := k.PortName(n); ok || n != k.NumPorts() {
			t.Fatalf("%v has a port %d", k, n)
		}
		if _, ok := k.PortName(-1); ok || k.PortIndex("nope") != -1 {
			t.Fatalf("%v: bad port resolved", k)
		}
	}
}

// synStage stages g through StagePatch, as the wire's patch ops would
// (abort, creates, sets, options, connects), and checks the staged copy.
func synStage(t testing.TB, s *Synth, g *Graph) {
	t.Helper()
	ok := s.StagePatch(PatchAbort, "", "", 0, 0, 0)
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		ok = ok && s.StagePatch(PatchCreate, m.IDString(), m.Kind.String(), 0, 0, 0)
	}
	for i := 0; i < int(g.NModules); i++ {
		m := &g.Modules[i]
		for p := 0; p < m.Kind.NumParams(); p++ {
			if m.Set&(1<<uint(p)) != 0 {
				ok = ok && s.StagePatch(PatchSet, m.IDString(), m.Kind.Param(p).Name, 0, m.Param[p], 0)
			}
		}
	}
	if g.OneShot {
		ok = ok && s.StagePatch(PatchSet, PatchOptions, OptionOneShot, 0, 1, 0)
	}
	if g.Choke != 0 {
		ok = ok && s.StagePatch(PatchSet, PatchOptions, OptionChoke, 0, float64(g.Choke), 0)
	}
	for r := 0; r < int(g.NRoutes); r++ {
		rt := &g.Routes[r]
		to := g.ModuleIndex(padString(rt.To[:]))
		port := g.Modules[to].Kind.PortIndex(padString(rt.Port[:]))
		ok = ok && s.StagePatch(PatchConnect, padString(rt.From[:]), padString(rt.To[:]), uint8(port), rt.Amount, uint16(rt.Op))
	}
	if !ok {
		t.Fatal("a staging edit was refused")
	}
	want := *g
	want.Name, want.Out = [24]byte{}, s.g.stage.Out
	if got := s.StagedGraph(); got != want {
		t.Fatal("the staged graph differs from the graph")
	}
}

// synCommit stages g and commits it into slot for ch at frame.
func synCommit(t testing.TB, s *Synth, g *Graph, frame uint64, slot, ch uint8) {
	t.Helper()
	synStage(t, s, g)
	if !s.CommitPatch(frame, g.OutString(), slot, ch) {
		e, _ := s.LastPatchError()
		t.Fatalf("commit refused: %v", e.Error())
	}
}

// graphSine is a sine at semi semitones from the key, through an
// amplifier opened by an envelope (release rel seconds).
func graphSine(t testing.TB, semi string, rel string) *Graph {
	return graphBuild(t, "amp1", "osc1:osc", "env1:env", "amp1:amp",
		"osc1.wave=sine", "osc1.level=0.5", "osc1.semi="+semi,
		"env1.attack=0.005", "env1.decay=0.01", "env1.sustain=1", "env1.release="+rel,
		"amp1.gain=0", "osc1>amp1.in", "env1>amp1.gain")
}

// synGraphVoices returns the sounding graph voices (fade slots included).
func synGraphVoices(s *Synth) int {
	n := 0
	for i := 0; i < s.g.ngv+fadeSlots; i++ {
		if !s.g.voices[i].done() {
			n++
		}
	}
	return n
}

func synPresetVoices(s *Synth) int {
	n := 0
	for i := 0; i < s.nv+fadeSlots; i++ {
		if !s.voices[i].done() {
			n++
		}
	}
	return n
}

func TestSynthStagePatchEdits(t *testing.T) {
	s := synNew(t, 0)
	good := []struct {
		op          PatchEdit
		module, prm string
		key         uint8
		value       float64
		voice       uint16
	}{
		{PatchCreate, "osc1", "osc", 0, 0, 0},
		{PatchCreate, "amp1", "amp", 0, 0, 0},
		{PatchCreate, "lfo1", "lfo", 0, 0, 0},
		{PatchSet, "osc1", "wave", 0, float64(Sine), 0},
		{PatchConnect, "osc1", "amp1", 0, 1, 0},                                  // amp1.in
		{PatchConnect, "lfo1", "osc1", uint8(KindOsc.PortIndex("semi")), 0.5, 1}, // mul
	}
	for _, e := range good {
		if !s.StagePatch(e.op, e.module, e.prm, e.key, e.value, e.voice) {
			t.Fatalf("%+v refused", e)
		}
	}
	bad := []struct {
		name        string
		op          PatchEdit
		module, prm string
		key         uint8
		value       float64
		voice       uint16
	}{
		{"duplicate", PatchCreate, "osc1", "osc", 0, 0, 0},
		{"unknown kind", PatchCreate, "x1", "wobble", 0, 0, 0},
		{"bad id", PatchCreate, "1x", "osc", 0, 0, 0},
		{"long id", PatchCreate, "abcdefghijklmnopq", "osc", 0, 0, 0},
		{"unknown module", PatchSet, "nope", "wave", 0, 1, 0},
		{"unknown param", PatchSet, "osc1", "cutoff", 0, 1, 0},
		{"nan", PatchSet, "osc1", "level", 0, math.NaN(), 0},
		{"unknown dest", PatchConnect, "osc1", "nope", 0, 1, 0},
		{"bad port", PatchConnect, "osc1", "amp1", 9, 1, 0},
		{"bad op", PatchConnect, "lfo1", "osc1", 3, 1, 7},
		{"no such route", PatchDisconnect, "lfo1", "amp1", 0, 0, 0},
		{"unknown edit", PatchEdit(99), "osc1", "osc", 0, 0, 0},
	}
	for i, e := range bad {
		if s.StagePatch(e.op, e.module, e.prm, e.key, e.value, e.voice) {
			t.Errorf("%s: applied", e.name)
		}
		if got := s.Stats().PatchInvalid; got != uint64(i+1) {
			t.Errorf("%s: PatchInvalid %d", e.name, got)
		}
	}
	g := s.StagedGraph()
	if g.NModules != 3 || g.NRoutes != 2 || g.Modules[0].Value(OscWave) != float64(Sine) ||
		padString(g.Routes[1].Port[:]) != "semi" || g.Routes[1].Op != RouteMul {
		t.Fatalf("staged graph %+v", g)
	}
	if !s.StagePatch(PatchDisconnect, "lfo1", "osc1", uint8(KindOsc.PortIndex("semi")), 0, 0) {
		t.Fatal("disconnect refused")
	}
	if g := s.StagedGraph(); g.NRoutes != 1 {
		t.Fatalf("%d routes after disconnect", g.NRoutes)
	}
	s.StagePatch(PatchAbort, "", "", 0, 0, 0)
	if g := s.StagedGraph(); g != (Graph{}) {
		t.Fatal("abort left a graph")
	}
	// A full graph refuses more.
	for i := 0; i < MaxModules; i++ {
		s.StagePatch(PatchCreate, "m"+itoa(i), "noise", 0, 0, 0)
	}
	if s.StagePatch(PatchCreate, "extra", "noise", 0, 0, 0) {
		t.Fatal("a 17th module was staged")
	}
	allocs := testing.AllocsPerRun(100, func() {
		s.StagePatch(PatchAbort, "", "", 0, 0, 0)
		s.StagePatch(PatchCreate, "osc1", "osc", 0, 0, 0)
		s.StagePatch(PatchSet, "osc1", "level", 0, 0.3, 0)
		s.StagePatch(PatchCreate, "bad id", "osc", 0, 0, 0)
	})
	if allocs != 0 {
		t.Fatalf("StagePatch allocates %v times", allocs)
	}
}

func TestSynthCommitRefused(t *testing.T) {
	s := synNew(t, 0)
	synCommit(t, s, graphSine(t, "0", "0.05"), 0, 2, 0)
	synRender(s, 64, 64)
	if s.ChannelGraph(0) != 2 {
		t.Fatalf("channel plays %d", s.ChannelGraph(0))
	}
	// A dangling amplifier input: refused, the channel keeps slot 2.
	s.StagePatch(PatchDisconnect, "osc1", "amp1", 0, 0, 0)
	if s.CommitPatch(0, "amp1", 3, 0) {
		t.Fatal("an invalid graph was committed")
	}
	if e, ok := s.LastPatchError(); !ok || e.Code != ErrMissingInput || !strings.Contains(e.Error(), "amp1") {
		t.Fatalf("error %v %v", e, ok)
	}
	for _, c := range []struct{ slot, ch uint8 }{{GraphSlots, 0}, {0, Channels}} {
		if s.CommitPatch(0, "amp1", c.slot, c.ch) {
			t.Fatalf("commit to slot %d channel %d accepted", c.slot, c.ch)
		}
	}
	synRender(s, 64, 64)
	if s.ChannelGraph(0) != 2 || s.Stats().PatchRefused != 3 {
		t.Fatalf("channel plays %d, stats %+v", s.ChannelGraph(0), s.Stats())
	}
	if _, ok := s.GraphSlotName(3); ok {
		t.Fatal("slot 3 filled")
	}
	if s.Schedule(Event{Kind: graphCommit, Key: 3, Value: 1}) {
		t.Fatal("Schedule accepted an internal commit event")
	}
}

// A commit while a chord holds on the preset: the chord keeps its preset
// (bit-identical to a run without the commit) until released, a new note
// plays the graph, nothing steps, nothing sticks.
func TestSynthCommitDuringHeldNotes(t *testing.T) {
	const commitAt, newAt, relAt, total = 9600, 14400, 24000, 48000
	run := func(commit bool) (l, r []float32, s *Synth) {
		s = synNew(t, 0)
		synDry(s)
		s.SetChannelPatch(0, synSine())
		for _, k := range []uint8{57, 61, 64} {
			synNote(s, 100, 0, k, 0.8)
			synOff(s, relAt, 0, k)
		}
		if commit {
			synCommit(t, s, graphSine(t, "12", "0.05"), commitAt, 0, 0)
			synNote(s, newAt, 0, 50, 0.8)
			synOff(s, relAt, 0, 50)
		}
		l, r = synRender(s, total, 256)
		return l, r, s
	}
	lw, _, _ := run(false)
	l, _, s := run(true)
	// Until the new note starts, the commit changes nothing at all.
	for i := 0; i < newAt; i++ {
		if math.Float32bits(l[i]) != math.Float32bits(lw[i]) {
			t.Fatalf("frame %d: the commit changed the held chord: %v vs %v", i, l[i], lw[i])
		}
	}
	// The held chord keeps sounding its preset after the new note (the
	// difference is the new note alone: a sine an octave above key 50).
	diff := make([]float32, 8192)
	for i := range diff {
		diff[i] = l[newAt+2400+i] - lw[newAt+2400+i]
	}
	if hz := peakHz(diff, synRate); math.Abs(hz-2*440*math.Exp2((50-69)/12.0)) > 2 {
		t.Fatalf("the new note sounds at %.1f Hz", hz)
	}
	// No step larger than the signal's own largest step.
	maxStep := func(x []float32, a, b int) float64 {
		m := 0.0
		for i := a + 1; i < b; i++ {
			m = math.Max(m, math.Abs(float64(x[i]-x[i-1])))
		}
		return m
	}
	normal := maxStep(l, 4800, commitAt)
	for _, at := range []int{commitAt, newAt} {
		if st := maxStep(l, at-256, at+512); st > 1.25*normal {
			t.Errorf("step %.4g around frame %d, normal %.4g", st, at, normal)
		}
	}
	if s.ActiveVoices() != 0 || synGraphVoices(s) != 0 || synPresetVoices(s) != 0 {
		t.Fatalf("voices still sounding after the release: %d", s.ActiveVoices())
	}
	if st := s.Stats(); st.PatchRefused != 0 || st.Late != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// Committing the same slot again while its notes sound: they finish on
// the old program; new notes play the new one; the old instance is freed
// when its notes end.
func TestSynthRecommitSameSlot(t *testing.T) {
	const recommitAt, newAt, relAt, total = 9600, 19200, 28800, 48000
	run := func(recommit bool) ([]float32, *Synth) {
		s := synNew(t, 0)
		synDry(s)
		synCommit(t, s, graphSine(t, "0", "0.05"), 0, 5, 1)
		synNote(s, 1000, 1, 57, 0.8)
		synOff(s, relAt, 1, 57)
		if recommit {
			synCommit(t, s, graphSine(t, "7", "0.05"), recommitAt, 5, 1)
			synNote(s, newAt, 1, 45, 0.8)
			synOff(s, relAt, 1, 45)
		}
		l, _ := synRender(s, recommitAt+64, 64)
		if recommit {
			if u := bits.OnesCount64(s.usedInstances()); u != 2 {
				t.Fatalf("%d instances in use after the recommit", u)
			}
		}
		l2, _ := synRender(s, total-len(l), 64)
		return append(l, l2...), s
	}
	want, _ := run(false)
	got, s := run(true)
	for i := 0; i < newAt; i++ {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("frame %d: the held note changed with the recommit", i)
		}
	}
	diff := make([]float32, 8192)
	for i := range diff {
		diff[i] = got[newAt+960+i] - want[newAt+960+i]
	}
	// Key 45 plus 7 semitones.
	if hz := peakHz(diff, synRate); math.Abs(hz-440*math.Exp2((52-69)/12.0)) > 2 {
		t.Fatalf("the new note sounds at %.1f Hz", hz)
	}
	if u := bits.OnesCount64(s.usedInstances()); u != 1 || synGraphVoices(s) != 0 {
		t.Fatalf("%d instances, %d voices after the notes ended", u, synGraphVoices(s))
	}
}

// Three channels, two graph slots and a preset, each panned apart: the
// spectrum of each side shows exactly its notes.
func TestSynthMultitimbral(t *testing.T) {
	s := synNew(t, 0)
	synDry(s)
	s.setParam(0, ParamMasterDrive, 0)                   // no intermodulation
	synCommit(t, s, graphSine(t, "0", "0.05"), 0, 0, 0)  // ch 0: key 57 -> 220 Hz
	synCommit(t, s, graphSine(t, "12", "0.05"), 0, 1, 1) // ch 1: 440 Hz
	p := synSine()
	p.Osc[0].Semi = 24
	s.SetChannelPatch(2, p) // ch 2, the preset: 880 Hz
	synCC(s, 0, 0, 10, 0)   // hard left
	synCC(s, 0, 1, 10, 1)   // hard right
	synCC(s, 0, 2, 10, 0)   // hard left
	for ch := uint8(0); ch < 3; ch++ {
		synNote(s, 10, ch, 57, 0.8)
	}
	l, r := synRender(s, 4800+16384, 512)
	l, r = l[4800:], r[4800:]
	if s.ChannelGraph(0) != 0 || s.ChannelGraph(1) != 1 || s.ChannelGraph(2) != -1 {
		t.Fatalf("channels play %d %d %d", s.ChannelGraph(0), s.ChannelGraph(1), s.ChannelGraph(2))
	}
	if synGraphVoices(s) != 2 || synPresetVoices(s) != 1 {
		t.Fatalf("%d graph and %d preset voices", synGraphVoices(s), synPresetVoices(s))
	}
	band := func(x []float32, hz float64) float64 { return bandEnergy(x, synRate, hz-10, hz+10) }
	lt, rt := band(l, 220)+band(l, 440)+band(l, 880), band(r, 220)+band(r, 440)+band(r, 880)
	for _, c := range []struct {
		x     []float32
		total float64
		hz    float64
		on    bool
	}{
		{l, lt, 220, true}, {l, lt, 880, true}, {l, lt, 440, false},
		{r, rt, 440, true}, {r, rt, 220, false}, {r, rt, 880, false},
	} {
		share := db(band(c.x, c.hz) / c.total)
		if c.on && share < -10 || !c.on && share > -80 {
			t.Errorf("%v Hz: %.1f dB of its side", c.hz, share)
		}
	}
}

// A program change selects a graph slot through the program table.
func TestSynthProgramSelectsGraph(t *testing.T) {
	s := synNew(t, 0)
	synDry(s)
	synCommit(t, s, graphSine(t, "0", "0.05"), 0, 4, 15) // commit for an unused channel
	s.Schedule(Event{Kind: ProgramToGraph, Key: 20, Value: 5})
	s.Schedule(Event{Frame: 10, Kind: Program, Channel: 3, Key: 20})
	synNote(s, 20, 3, 69, 0.8)
	l, _ := synRender(s, 9600, 256)
	if s.ChannelGraph(3) != 4 || synGraphVoices(s) != 1 || synPresetVoices(s) != 0 {
		t.Fatalf("channel 3 plays %d: %d graph, %d preset voices", s.ChannelGraph(3), synGraphVoices(s), synPresetVoices(s))
	}
	if hz := peakHz(l[4800:], synRate); math.Abs(hz-440) > 2 {
		t.Fatalf("peak %.1f Hz", hz)
	}
	// Another program plays a preset; undoing the mapping makes 20 a
	// preset program again; GraphSelect goes straight to a slot or back.
	steps := []struct {
		ev   Event
		want int
	}{
		{Event{Kind: Program, Channel: 3, Key: 21}, -1},
		{Event{Kind: Program, Channel: 3, Key: 20}, 4},
		{Event{Kind: ProgramToGraph, Key: 20, Value: 0}, 4},
		{Event{Kind: Program, Channel: 3, Key: 20}, -1},
		{Event{Kind: GraphSelect, Channel: 3, Key: 4}, 4},
		{Event{Kind: GraphSelect, Channel: 3, Key: 4, Value: 1}, -1},
		{Event{Kind: GraphSelect, Channel: 3, Key: 9}, -1}, // an empty slot plays the preset
	}
	for i, st := range steps {
		st.ev.Frame = s.Frame()
		if !s.Schedule(st.ev) {
			t.Fatalf("step %d refused", i)
		}
		synRender(s, 64, 64)
		if got := s.ChannelGraph(3); got != st.want {
			t.Fatalf("step %d (%v): channel plays %d, want %d", i, st.ev.Kind, got, st.want)
		}
	}
	for _, ev := range []Event{{Kind: GraphSelect, Key: GraphSlots}, {Kind: ProgramToGraph, Value: 17}, {Kind: ProgramToGraph, Key: 128}} {
		if s.Schedule(ev) {
			t.Fatalf("%+v accepted", ev)
		}
	}
}

// The channel logic works for graph voices as for preset voices.
func TestSynthGraphChannelControls(t *testing.T) {
	setup := func(t *testing.T) *Synth {
		s := synNew(t, 0)
		synDry(s)
		synCommit(t, s, graphSine(t, "0", "0.2"), 0, 0, 0)
		return s
	}
	t.Run("sustain", func(t *testing.T) {
		s := setup(t)
		synCC(s, 0, 0, 64, 1)
		synNote(s, 10, 0, 60, 0.8)
		synOff(s, 100, 0, 60)
		synRender(s, 24000, 256)
		if synGraphVoices(s) != 1 {
			t.Fatal("the pedal did not hold the note")
		}
		synCC(s, s.Frame(), 0, 64, 0)
		synRender(s, 24000, 256)
		if synGraphVoices(s) != 0 {
			t.Fatal("pedal up did not release the note")
		}
	})
	for _, c := range []struct {
		name   string
		ev     Event
		within int
	}{
		{"all notes off", Event{Kind: AllNotesOff}, 24000},
		{"all sound off", Event{Kind: AllSoundOff}, 256},
		{"cc123", Event{Kind: Control, Key: 123, Value: 1}, 24000},
		{"cc120", Event{Kind: Control, Key: 120, Value: 1}, 256},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := setup(t)
			synCC(s, 0, 0, 64, 1)
			for k := uint8(60); k < 64; k++ {
				synNote(s, 10, 0, k, 0.8)
			}
			synOff(s, 100, 0, 60)
			l0, _ := synRender(s, 4800, 256)
			c.ev.Frame = s.Frame()
			s.Schedule(c.ev)
			l, _ := synRender(s, c.within, 256)
			if synGraphVoices(s) != 0 {
				t.Fatalf("%d voices left", synGraphVoices(s))
			}
			if d, d0 := maxAbsDiff(l), maxAbsDiff(l0[2400:]); d > 1.1*d0 {
				t.Fatalf("step %.3g, normal %.3g", d, d0)
			}
		})
	}
	t.Run("bend", func(t *testing.T) {
		s := setup(t)
		s.Schedule(Event{Kind: PitchBend, Value: 1}) // +2 semitones
		synNote(s, 10, 0, 57, 0.8)
		l, _ := synRender(s, 4800+8192, 256)
		if hz := peakHz(l[4800:], synRate); math.Abs(hz-220*math.Exp2(2.0/12)) > 2 {
			t.Fatalf("bent note at %.1f Hz", hz)
		}
	})
	t.Run("volume glides", func(t *testing.T) {
		s := setup(t)
		synNote(s, 10, 0, 57, 1)
		l0, _ := synRender(s, 4800, 256)
		synCC(s, s.Frame(), 0, 7, 0) // a jump to silence: smoothed, no step
		l, _ := synRender(s, 4800, 100)
		if d, d0 := maxAbsDiff(l), maxAbsDiff(l0[2400:]); d > 1.01*d0 {
			t.Fatalf("step %.3g, normal %.3g", d, d0)
		}
		if p := synPeak(l[2400:]); p > 1e-4 {
			t.Fatalf("volume 0 still sounds at %.3g", p)
		}
		synRender(s, 4800, 100)
		if v := &s.g.voices[0]; v.gl != 0 || v.gr != 0 {
			t.Fatalf("gains %v %v did not reach 0", v.gl, v.gr)
		}
	})
	t.Run("stealing", func(t *testing.T) {
		s := synNew(t, 4)
		synDry(s)
		synCommit(t, s, graphSine(t, "0", "0.2"), 0, 0, 0)
		for k := uint8(60); k < 66; k++ {
			synNote(s, 10+uint64(k)*100, 0, k, 0.8)
		}
		l, _ := synRender(s, 9600, 256)
		if st := s.Stats(); st.Stolen != 2 || s.ActiveVoices() != 4 {
			t.Fatalf("stolen %d, %d voices", st.Stolen, s.ActiveVoices())
		}
		if d := maxAbsDiff(l); d > 0.05 {
			t.Fatalf("step %.3g", d)
		}
		for k := 0; k < s.g.ngv; k++ {
			if v := &s.g.voices[k]; v.key < 62 {
				t.Fatalf("voice %d plays key %d: the oldest were not stolen", k, v.key)
			}
		}
	})
}

// When every program instance is in use, a commit waits in the spare,
// the retired instance with the oldest notes fades out, and the commit
// takes effect a fade later; a second one meanwhile is refused.
func TestSynthInstanceOverflow(t *testing.T) {
	s := synNew(t, 128)
	synDry(s)
	// Each commit retires the last; a held note keeps each one alive.
	n := graphInstances - GraphSlots + 1
	for i := 0; i < n; i++ {
		synCommit(t, s, graphSine(t, itoa(i%12), "0.2"), s.Frame(), 0, 0)
		synNote(s, s.Frame(), 0, uint8(40+i), 0.5)
		synRender(s, 64, 64)
	}
	for sl := uint8(1); sl < GraphSlots; sl++ {
		synCommit(t, s, graphSine(t, "0", "0.2"), s.Frame(), sl, 1)
	}
	l0, _ := synRender(s, 4800, 64)
	if s.freeInstance() >= 0 {
		t.Fatalf("instances free: %b", s.usedInstances())
	}
	held := synGraphVoices(s)
	synCommit(t, s, graphSine(t, "5", "0.2"), s.Frame()+1000, 0, 2)
	if !s.g.parked {
		t.Fatal("the commit was not parked")
	}
	synStage(t, s, graphSine(t, "3", "0.2"))
	if s.CommitPatch(s.Frame()+1000, "amp1", 2, 2) || s.Stats().PatchRefused != 1 {
		t.Fatal("a second overflowing commit was accepted")
	}
	l, _ := synRender(s, 1000, 50)
	if s.ChannelGraph(2) != -1 {
		t.Fatal("the parked commit took effect before its fade")
	}
	l2, _ := synRender(s, 2000, 50)
	if s.ChannelGraph(2) != 0 || s.g.parked {
		t.Fatalf("the parked commit did not take effect: channel 2 plays %d", s.ChannelGraph(2))
	}
	if got := synGraphVoices(s); got != held-1 {
		t.Fatalf("%d voices, want %d (the oldest faded)", got, held-1)
	}
	for i := 0; i < s.g.ngv; i++ {
		if v := &s.g.voices[i]; v.on && v.key == 40 {
			t.Fatal("the oldest note still sounds")
		}
	}
	if d, d0 := maxAbsDiff(append(l, l2...)), maxAbsDiff(l0[2400:]); d > 1.1*d0 {
		t.Fatalf("step %.3g, normal %.3g", d, d0)
	}
}

// graphScript sets up a synth playing synScript with graphs on channels
// 1 and 2 (committed at frames inside the script, one slot recommitted)
// and a program-table entry that channel 3's program changes can hit.
func graphScript(t testing.TB, s *Synth, frames int) {
	t.Helper()
	evs := synScript(7, 100, frames, 4000)
	for _, e := range evs {
		if !s.Schedule(e) {
			t.Fatal("Schedule failed")
		}
	}
	g := graphSub6(t)
	synCommit(t, s, g, 2000, 0, 1)
	synCommit(t, s, graphSine(t, "7", "0.3"), 30000, 1, 2)
	synCommit(t, s, graphLFOPatch(t), uint64(frames/2), 0, 1) // recommit slot 0
	s.Schedule(Event{Frame: 5000, Kind: ProgramToGraph, Key: 33, Value: 2})
	s.Schedule(Event{Frame: 6000, Kind: Program, Channel: 3, Key: 33})
	s.Schedule(Event{Frame: uint64(frames) * 3 / 4, Kind: GraphSelect, Channel: 2, Value: 1})
	// Leave something staged for the snapshot.
	synStage(t, s, graphSine(t, "-5", "0.1"))
}

// Graph voices and commits do not depend on how Render's caller splits
// the blocks, and a snapshot (CopyFrom) taken with graphs staged,
// committed and pending continues bit-identically, a later commit of the
// staged graph included.
func TestSynthGraphDeterminism(t *testing.T) {
	const frames = 96000
	play := func(sizes []int) []float32 {
		s := synNew(t, 0)
		graphScript(t, s, frames)
		l := make([]float32, frames)
		r := make([]float32, frames)
		for i, k := 0, 0; i < frames; k++ {
			e := min(i+sizes[k%len(sizes)], frames)
			s.Render(l[i:e], r[i:e])
			i = e
		}
		if st := s.Stats(); st.PatchRefused != 0 || st.PatchInvalid != 0 || st.NonFinite != 0 {
			t.Fatalf("stats %+v", st)
		}
		if s.g.active == ([3]uint64{}) && synGraphVoices(s) == 0 && s.ChannelGraph(1) != 0 {
			t.Fatal("no graph played")
		}
		return append(l, r...)
	}
	a := play([]int{64})
	b := play([]int{1, 7, 64, 255, 256, 300, 3, 1000, 17})
	synEqual(t, "block sizes", a, b)

	x := synNew(t, 0)
	graphScript(t, x, frames)
	l1, _ := synRender(x, frames/3, 64)
	y := new(Synth)
	y.CopyFrom(x)
	if x.g.parked || x.StagedGraph().NModules == 0 || x.ChannelGraph(1) != 0 {
		t.Fatal("the snapshot holds no graph state")
	}
	for _, s := range []*Synth{x, y} {
		if !s.CommitPatch(s.Frame()+500, "amp1", 2, 0) {
			t.Fatal("commit refused")
		}
	}
	lx, rx := synRender(x, frames-len(l1), 64)
	ly, ry := synRender(y, frames-len(l1), 64)
	synEqual(t, "snapshot left", lx, ly)
	synEqual(t, "snapshot right", rx, ry)
	if x.ChannelGraph(0) != 2 {
		t.Fatal("the commit after the snapshot did not take effect")
	}
}

func TestSynthGraphAllocs(t *testing.T) {
	s := synNew(t, 0)
	synDry(s)
	synCommit(t, s, graphSub6(t), 0, 0, 0)
	l := make([]float32, 256)
	r := make([]float32, 256)
	key := uint8(40)
	allocs := testing.AllocsPerRun(200, func() {
		synNote(s, s.Frame(), 0, key, 0.7)
		synOff(s, s.Frame()+2000, 0, key)
		synCC(s, s.Frame()+100, 0, 7, float64(key)/127)
		key = 40 + (key-39)%40
		s.Render(l, r)
	})
	if allocs != 0 {
		t.Fatalf("rendering graph voices allocates %v times", allocs)
	}
	if synGraphVoices(s) == 0 {
		t.Fatal("no graph voice sounds")
	}
	g := graphSine(t, "3", "0.1")
	synStage(t, s, g)
	slot := uint8(0)
	allocs = testing.AllocsPerRun(100, func() {
		s.StagePatch(PatchSet, "osc1", "semi", 0, float64(slot), 0)
		if !s.CommitPatch(s.Frame(), "amp1", slot, 0) {
			t.Fatal("commit refused")
		}
		slot = (slot + 1) % GraphSlots
		s.Render(l, r)
	})
	if allocs != 0 {
		t.Fatalf("committing allocates %v times", allocs)
	}
}
