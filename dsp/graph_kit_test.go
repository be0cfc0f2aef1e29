package dsp

import (
	"math"
	"strings"
	"testing"
	"unsafe"
)

// kitTone is a one-shot sine at a fixed hz with an exponential decay:
// the simplest kit sound.
func kitTone(t testing.TB, name string, hz, decay float64, choke uint8) Graph {
	t.Helper()
	var g Graph
	g.SetName(name)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(g.AddModule("osc", KindOsc))
	must(g.SetParamName("osc", "wave", "sine"))
	must(g.SetParam("osc", "hz", hz))
	must(g.AddModule("env", KindEnv))
	must(g.SetParam("env", "attack", 0.001))
	must(g.SetParam("env", "decay", decay))
	must(g.SetParam("env", "sustain", 0))
	must(g.SetParamName("env", "curve", "exponential"))
	must(g.AddModule("amp", KindAmp))
	must(g.SetParam("amp", "gain", 0))
	must(g.Connect("osc", "amp.in", 1, RouteAdd))
	must(g.Connect("env", "amp.gain", 0.5, RouteAdd))
	must(g.SetOut("amp"))
	g.OneShot, g.Choke = true, choke
	return g
}

func kitSound(g Graph, pan float64, keys ...uint8) KitSound {
	ks := KitSound{Graph: g, Pan: pan}
	for _, k := range keys {
		ks.SetKeys(k, k)
	}
	return ks
}

// kitSynth is a dry synth (no reverb, delay or master drive) at 48 kHz.
func kitSynth(t testing.TB) *Synth {
	t.Helper()
	s, err := New(Config{SampleRate: 48000, Voices: 16})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Param{ParamReverbMix, ParamDelayMix, ParamMasterDrive} {
		s.Schedule(Event{Kind: SetParam, Param: p, Value: 0})
	}
	return s
}

// render plays n frames and returns both channels.
func kitRender(s *Synth, n int) (l, r []float32) {
	l, r = make([]float32, n), make([]float32, n)
	for i := 0; i < n; i += 256 {
		e := min(i+256, n)
		s.Render(l[i:e], r[i:e])
	}
	return l, r
}

// zeroCrossHz estimates a sine's frequency from its upward zero crossings.
func zeroCrossHz(x []float32, sr float64) float64 {
	first, last, n := -1, -1, 0
	for i := 1; i < len(x); i++ {
		if x[i-1] < 0 && x[i] >= 0 {
			if first < 0 {
				first = i
			} else {
				n++
			}
			last = i
		}
	}
	if n == 0 {
		return 0
	}
	return float64(n) * sr / float64(last-first)
}

func peakAbs(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// TestKitPlaysKeys: each key plays its own program (pitch by zero
// crossings: the sines are at fixed frequencies), a key without a sound
// is silent, the pan offset adds to the channel's, pitch bend does not
// move a kit sound, and the commit takes effect at its frame.
func TestKitPlaysKeys(t *testing.T) {
	s := kitSynth(t)
	lat := uint64(s.Latency())
	sounds := []KitSound{
		kitSound(kitTone(t, "low", 200, 0.5, 0), 0, 36),
		kitSound(kitTone(t, "high", 1000, 0.5, 0), -1, 38, 40),
	}
	if _, err := s.LoadKit(sounds, 4800, 9); err != nil {
		t.Fatal(err)
	}
	if s.ChannelKit(9) {
		t.Error("the kit plays before its commit's frame")
	}
	s.Schedule(Event{Frame: 100, Kind: PitchBend, Channel: 9, Value: 1})
	for _, c := range []struct {
		key    uint8
		hz     float64
		hard   bool // hard left
		silent bool
	}{{36, 200, false, false}, {38, 1000, true, false}, {40, 1000, true, false}, {37, 0, false, true}} {
		f := s.Frame() + lat + 4800
		s.Schedule(Event{Frame: f, Kind: NoteOn, Channel: 9, Key: c.key, Value: 1})
		l, r := kitRender(s, 4800+int(lat)+9600)
		l, r = l[4800+lat:], r[4800+lat:]
		if !s.ChannelKit(9) {
			t.Fatal("channel 9 does not play the kit after the commit")
		}
		if c.silent {
			if p := peakAbs(l) + peakAbs(r); p != 0 {
				t.Errorf("key %d: no sound mapped, peak %g", c.key, p)
			}
			continue
		}
		x := l
		if !c.hard {
			x = r
		}
		if hz := zeroCrossHz(x[480:4800], 48000); math.Abs(hz-c.hz) > 0.01*c.hz {
			t.Errorf("key %d: %.1f Hz, want %g (no bend)", c.key, hz, c.hz)
		}
		if c.hard && peakAbs(r) != 0 {
			t.Errorf("key %d: pan -1 leaks %g into the right channel", c.key, peakAbs(r))
		}
		if !c.hard && math.Abs(peakAbs(l)/peakAbs(r)-1) > 0.01 {
			t.Errorf("key %d: centred sound has l/r %g", c.key, peakAbs(l)/peakAbs(r))
		}
		s.Schedule(Event{Frame: s.Frame() + lat, Kind: AllSoundOff, Channel: 9})
		kitRender(s, 2048)
	}
	if n := s.KitPrograms(); n != 2 {
		t.Errorf("%d programs, want 2", n)
	}
	// Off: the channel plays its preset (the drum kit patch) again.
	s.SelectKit(s.Frame(), 9, false)
	kitRender(s, 256)
	if s.ChannelKit(9) {
		t.Error("SelectKit off did not take")
	}
}

// TestKitSharesPrograms: sounds with the same graph and parameters share
// one program whatever their names; different parameters do not.
func TestKitSharesPrograms(t *testing.T) {
	s := kitSynth(t)
	a, b, c := kitTone(t, "a", 300, 0.2, 0), kitTone(t, "b", 300, 0.2, 0), kitTone(t, "c", 300, 0.3, 0)
	n, err := s.LoadKit([]KitSound{kitSound(a, 0, 1, 2, 3, 10), kitSound(b, 0.5, 20), kitSound(c, 0, 30)}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	kitRender(s, 256)
	if got := s.KitPrograms(); got != 2 {
		t.Errorf("%d programs, want 2 (a and b are one graph)", got)
	}
	// A route amount of its own: one PatchAmount edit, a third program,
	// the routes' order kept.
	d := a
	d.Routes[1].Amount = 0.25
	s2 := kitSynth(t)
	n2, err := s2.LoadKit([]KitSound{kitSound(a, 0, 1), kitSound(d, 0, 2)}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := 1 + 14 + 1 + 1 + 1 + 1; n2 != want {
		t.Errorf("%d commands, want %d", n2, want)
	}
	if g := s2.StagedGraph(); g.Routes != d.Routes {
		t.Errorf("staged routes %+v, want %+v", g.Routes[:2], d.Routes[:2])
	}
	if s2.StagePatch(PatchAmount, "osc", "amp", uint8(KindAmp.PortIndex("gain")), 1, 0) {
		t.Error("PatchAmount of a route that does not exist applied")
	}
	// Begin + a's graph (abort, 3 creates, 2 routes, 7 sets, 1 option) +
	// 2 runs of keys + b: nothing to stage + 1 run + c: 1 set + 1 run +
	// commit.
	if want := 1 + 14 + 2 + 1 + 2 + 1; n != want {
		t.Errorf("%d commands, want %d", n, want)
	}
}

// TestKitLimits: the 65th distinct program is refused with a clear
// error; so are bad keys, an effect, staging while a commit waits, an
// empty commit.
func TestKitLimits(t *testing.T) {
	s := kitSynth(t)
	var sounds []KitSound
	for i := 0; i <= MaxKitPrograms; i++ {
		sounds = append(sounds, kitSound(kitTone(t, "t", 100+float64(i), 0.1, 0), 0, uint8(i)))
	}
	_, err := s.LoadKit(sounds, 0, 9)
	if err == nil || !strings.Contains(err.Error(), "sound 64 (t): the kit has 64 distinct programs already") {
		t.Errorf("65 programs: %v", err)
	}
	if e, ok := s.LastKitError(); !ok || e.Code != KitErrFull {
		t.Errorf("LastKitError %+v", e)
	}
	g := kitTone(t, "fx", 100, 0.1, 0)
	if err := g.AddModule("drive", KindDrive); err != nil {
		t.Fatal(err)
	}
	s = kitSynth(t)
	if _, err := s.LoadKit([]KitSound{kitSound(g, 0, 1)}, 0, 9); err == nil || !strings.Contains(err.Error(), "cannot have effects") {
		t.Errorf("effect: %v", err)
	}
	s = kitSynth(t)
	if s.StageKitSound("amp", 0, 0, 0) || s.CommitKit(0, 0) {
		t.Error("sound or commit without StageKitBegin accepted")
	}
	if !s.StageKitBegin() || s.CommitKit(0, 0) {
		t.Error("empty kit committed")
	}
	if e, _ := s.LastKitError(); e.Code != KitErrEmpty || e.Error() != "dsp: kit: the staged kit has no sounds" {
		t.Errorf("empty: %v", e.Error())
	}
	if s.StageKitSound("amp", 5, 4, 0) || s.StageKitSound("amp", 0, 0, 2) || s.StageKitSound("amp", 0, 128, 0) {
		t.Error("bad keys or pan accepted")
	}
	if s.StageKitSound("nothing", 0, 0, 0) {
		t.Error("a graph that does not compile accepted")
	}
	if e, _ := s.LastKitError(); e.Code != KitErrCompile || !strings.HasPrefix(e.Error(), "dsp: kit: ") {
		t.Errorf("compile: %v", e.Error())
	}
	if _, err := s.LoadKit([]KitSound{kitSound(kitTone(t, "a", 100, 0.1, 0), 0, 1)}, 1<<20, 9); err != nil {
		t.Fatal(err)
	}
	if s.StageKitBegin() {
		t.Error("StageKitBegin accepted while a commit is pending")
	}
	if st := s.Stats(); st.PatchRefused != 8 {
		t.Errorf("PatchRefused %d, want 8 (this synth's refusals)", st.PatchRefused)
	}
}

// TestKitChoke: a closed hat silences an open one of the same choke
// group on the channel (within the fade), a sound of another group
// does not.
func TestKitChoke(t *testing.T) {
	for _, c := range []struct {
		name        string
		closedChoke uint8
		choked      bool
	}{{"same group", 1, true}, {"no group", 0, false}} {
		t.Run(c.name, func(t *testing.T) {
			s := kitSynth(t)
			sounds := []KitSound{
				kitSound(kitTone(t, "open", 500, 2, 1), 0, 46),
				kitSound(kitTone(t, "closed", 3000, 0.02, c.closedChoke), 0, 42),
			}
			if _, err := s.LoadKit(sounds, 0, 9); err != nil {
				t.Fatal(err)
			}
			lat := uint64(s.Latency())
			s.Schedule(Event{Frame: lat + 100, Kind: NoteOn, Channel: 9, Key: 46, Value: 1})
			s.Schedule(Event{Frame: lat + 4900, Kind: NoteOn, Channel: 9, Key: 42, Value: 1})
			l, _ := kitRender(s, int(lat)+4900+4800)
			l = l[lat:]
			// 50 ms after the closed hat: it has decayed (0.02 s), the
			// open hat rings on unless choked.
			tail := peakAbs(l[4900+2400:])
			before := peakAbs(l[4000:4800])
			if c.choked && tail > 1e-3*before {
				t.Errorf("open hat not choked: %g after, %g before", tail, before)
			}
			if !c.choked && tail < 0.5*before {
				t.Errorf("open hat silenced without a choke group: %g after, %g before", tail, before)
			}
		})
	}
}

// TestKitRestageFadesRetired: restaging reuses the kit the last commit
// retired; its notes still sounding fade out, the playing kit's notes
// play on.
func TestKitRestageFadesRetired(t *testing.T) {
	s := kitSynth(t)
	load := func(hz float64) {
		if _, err := s.LoadKit([]KitSound{kitSound(kitTone(t, "x", hz, 5, 0), 0, 36)}, s.Frame(), 9); err != nil {
			t.Fatal(err)
		}
		s.Schedule(Event{Frame: s.Frame() + uint64(s.Latency()), Kind: NoteOn, Channel: 9, Key: 36, Value: 1})
		kitRender(s, 2048)
	}
	load(200) // kit A plays a long note
	load(300) // kit B: A retired; B's note on key 36 leaves A's one-shot ringing
	if n := s.activeGraphVoices(); n != 2 {
		t.Fatalf("%d voices, want 2", n)
	}
	before := 2
	if !s.StageKitBegin() { // restages A: its note fades
		t.Fatal("refused")
	}
	kitRender(s, 2048)
	if n := s.activeGraphVoices(); n != before-1 {
		t.Errorf("%d voices after restaging, want %d", n, before-1)
	}
}

// TestKitRestageCuts: a sound staged over a program that a retired
// note still plays (its fade not over) cuts that note at once, cleanly.
func TestKitRestageCuts(t *testing.T) {
	s := kitSynth(t)
	for _, hz := range []float64{200, 300} {
		if _, err := s.LoadKit([]KitSound{kitSound(kitTone(t, "x", hz, 5, 0), 0, 36)}, s.Frame(), 9); err != nil {
			t.Fatal(err)
		}
		s.Schedule(Event{Frame: s.Frame() + uint64(s.Latency()), Kind: NoteOn, Channel: 9, Key: 36, Value: 1})
		kitRender(s, 2048)
	}
	if n := s.activeGraphVoices(); n != 2 {
		t.Fatalf("%d voices, want 2", n)
	}
	if !s.StageKitBegin() || !s.StageKitSound("amp", 36, 36, 0) {
		t.Fatal("refused")
	}
	if n := s.activeGraphVoices(); n != 1 {
		t.Errorf("%d voices after restaging over the retired note's program, want 1", n)
	}
	l, _ := kitRender(s, 2048)
	if st := s.Stats(); st.NonFinite != 0 || peakAbs(l) < 0.01 {
		t.Errorf("stats %+v, peak %g", st, peakAbs(l))
	}
}

// TestKitAllocs: note handling and rendering of kit notes, and the kit
// staging commands, allocate nothing.
func TestKitAllocs(t *testing.T) {
	s := kitSynth(t)
	sounds := []KitSound{
		kitSound(kitTone(t, "a", 200, 0.3, 1), -0.3, 36, 37),
		kitSound(kitTone(t, "b", 900, 0.1, 1), 0.4, 42),
		kitSound(kitTone(t, "c", 2000, 0.05, 0), 0, 50),
	}
	if _, err := s.LoadKit(sounds, 0, 9); err != nil {
		t.Fatal(err)
	}
	l, r := make([]float32, 128), make([]float32, 128)
	keys := []uint8{36, 42, 50, 37, 60}
	k, loud := 0, 0.0
	allocs := testing.AllocsPerRun(300, func() {
		f := s.Frame() + uint64(s.Latency())
		if k%5 == 0 {
			key := keys[(k/5)%len(keys)]
			s.Schedule(Event{Frame: f, Kind: NoteOn, Channel: 9, Key: key, Value: 0.8})
			s.Schedule(Event{Frame: f + 64, Kind: NoteOff, Channel: 9, Key: key})
		}
		s.Render(l, r)
		loud = max(loud, peakAbs(l))
		k++
	})
	if allocs != 0 {
		t.Errorf("render: %v allocs per block", allocs)
	}
	if loud < 0.05 {
		t.Errorf("peak %g", loud)
	}
	kitRender(s, 48000) // let the commit below apply
	allocs = testing.AllocsPerRun(50, func() {
		s.StageKitBegin()
		s.StageKitSound("amp", 0, 127, 0)
		s.StageKitSound("amp", 36, 36, 0.5)
		s.CommitKit(s.Frame(), 9)
		s.Render(l, r)
	})
	if allocs != 0 {
		t.Errorf("staging: %v allocs", allocs)
	}
	if st := s.Stats(); st.PatchRefused != 0 || st.NonFinite != 0 {
		t.Errorf("stats %+v", st)
	}
	t.Logf("sizeof(Synth) = %d bytes, kit state %d bytes", unsafe.Sizeof(Synth{}), unsafe.Sizeof(kitState{}))
}

// TestKitSnapshot: a copy of the synth (CopyFrom) carries the kit: both
// render the same samples.
func TestKitSnapshot(t *testing.T) {
	s := kitSynth(t)
	if _, err := s.LoadKit([]KitSound{kitSound(kitTone(t, "a", 250, 0.3, 0), 0.2, 36)}, 0, 9); err != nil {
		t.Fatal(err)
	}
	s.Schedule(Event{Frame: uint64(s.Latency()) + 10, Kind: NoteOn, Channel: 9, Key: 36, Value: 1})
	kitRender(s, 1024)
	c := new(Synth)
	c.CopyFrom(s)
	a, _ := kitRender(s, 4096)
	b, _ := kitRender(c, 4096)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("frame %d: %g vs %g", i, a[i], b[i])
		}
	}
	if peakAbs(a) < 0.01 {
		t.Error("silent")
	}
}
