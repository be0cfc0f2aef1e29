package dsp

import (
	"math"
	"reflect"
	"testing"
	"unsafe"
)

const synRate = 48000.0

// synNew returns a synth with the given pool size (0: default).
func synNew(t testing.TB, voices int) *Synth {
	t.Helper()
	s, err := New(Config{SampleRate: synRate, Voices: voices})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// synDry switches the shared effects off so that a channel's sound ends
// when its voices end.
func synDry(s *Synth) {
	s.setParam(0, ParamReverbMix, 0)
	s.setParam(0, ParamDelayMix, 0)
}

// synRender renders n frames in caller blocks of blk frames.
func synRender(s *Synth, n, blk int) (l, r []float32) {
	l = make([]float32, n)
	r = make([]float32, n)
	for i := 0; i < n; i += blk {
		e := min(i+blk, n)
		s.Render(l[i:e], r[i:e])
	}
	return l, r
}

// synSine is a plain sine patch: no LFO, flat filter, full sustain.
func synSine() Patch {
	p := Preset(mustPreset("sine"))
	p.LFO = LFOParams{}
	p.Velocity = 0
	p.AmpEnv = ADSRConfig{Attack: 0.005, Decay: 0.01, Sustain: 1, Release: 0.15}
	return p
}

// synNoise is a white-noise patch with an instant attack: its first sample
// is non-zero (every periodic wave starts at 0 at phase 0).
func synNoise() Patch {
	p := synSine()
	p.Osc[0].Level = 0
	p.Noise, p.NoiseWave = 1, WhiteNoise
	p.AmpEnv.Attack = 0
	return p
}

func synRMS(x []float32) float64 {
	s := 0.0
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(max(len(x), 1)))
}

func synPeak(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

func synAllZero(x []float32) bool {
	for _, v := range x {
		if v != 0 {
			return false
		}
	}
	return true
}

func synNote(s *Synth, frame uint64, ch, key uint8, vel float64) {
	s.Schedule(Event{Frame: frame, Kind: NoteOn, Channel: ch, Key: key, Value: vel})
}

func synOff(s *Synth, frame uint64, ch, key uint8) {
	s.Schedule(Event{Frame: frame, Kind: NoteOff, Channel: ch, Key: key})
}

func synCC(s *Synth, frame uint64, ch, cc uint8, v float64) {
	s.Schedule(Event{Frame: frame, Kind: Control, Channel: ch, Key: cc, Value: v})
}

func TestSynthNewConfig(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if c := s.Config(); c.SampleRate != 48000 || c.Voices != DefaultVoices || c.BendRange != 2 {
		t.Errorf("defaults = %+v", c)
	}
	if s.Latency() <= 0 || s.Latency() > 200 {
		t.Errorf("latency %d frames", s.Latency())
	}
	for _, c := range []Config{{SampleRate: 1000}, {SampleRate: 200000}, {Voices: -1}, {Voices: MaxVoices + 1}, {BendRange: -2}, {SampleRate: math.NaN()}} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if _, err := New(Config{SampleRate: 96000, Voices: MaxVoices}); err != nil {
		t.Error(err)
	}
	if got := s.ChannelPatch(DrumChannel); !got.Kit {
		t.Errorf("channel 10 patch %q is not a kit", got.NameString())
	}
	if p := s.ChannelPatch(0); p.NameString() != "keys" {
		got := p.NameString()
		t.Errorf("channel 1 patch %q, want keys (GM program 0)", got)
	}
}

func TestSynthSilenceInSilenceOut(t *testing.T) {
	s := synNew(t, 0)
	l, r := synRender(s, 48000, 64)
	if !synAllZero(l) || !synAllZero(r) {
		t.Fatal("no events but non-zero output")
	}
	// Parameter changes alone make no sound either.
	s.Schedule(Event{Frame: s.Frame() + 100, Kind: SetParam, Param: ParamReverbMix, Value: 1})
	s.Schedule(Event{Frame: s.Frame() + 200, Kind: SetParam, Param: ParamMasterGain, Value: 4})
	synCC(s, s.Frame()+300, 0, 7, 1)
	l, r = synRender(s, 48000, 100)
	if !synAllZero(l) || !synAllZero(r) {
		t.Fatal("parameter changes made sound")
	}
	if s.Frame() != 96000 {
		t.Errorf("Frame() = %d, want 96000", s.Frame())
	}
}

// A note-on at frame F gives its first non-zero sample exactly at F,
// whatever the caller's block size.
func TestSynthEventFrameExact(t *testing.T) {
	for _, blk := range []int{1, 64, 100, 256, 1000} {
		for _, F := range []uint64{200, 1000, 1001, 4095, 12345} {
			s := synNew(t, 0)
			s.SetChannelPatch(0, synNoise())
			synNote(s, F, 0, 60, 1)
			l, r := synRender(s, int(F)+500, blk)
			if !synAllZero(l[:F]) || !synAllZero(r[:F]) {
				t.Errorf("blk %d F %d: sound before the note-on", blk, F)
			}
			if l[F] == 0 || r[F] == 0 {
				t.Errorf("blk %d F %d: sample at F is zero", blk, F)
			}
			if st := s.Stats(); st.Late != 0 || st.Applied != 1 {
				t.Errorf("blk %d F %d: stats %+v", blk, F, st)
			}
		}
	}
}

// An event scheduled in the past applies at once and is counted as late.
func TestSynthLateEvent(t *testing.T) {
	s := synNew(t, 0)
	s.SetChannelPatch(0, synNoise())
	synRender(s, 1000, 64)
	synNote(s, 10, 0, 60, 1)
	l, _ := synRender(s, 1000, 64)
	first := -1
	for i, v := range l {
		if v != 0 {
			first = i
			break
		}
	}
	if first != s.Latency() {
		t.Errorf("late note starts at +%d, want +%d (the latency)", first, s.Latency())
	}
	if st := s.Stats(); st.Late != 1 {
		t.Errorf("Late = %d, want 1", st.Late)
	}
}

func synTone(t *testing.T, setup func(s *Synth, f uint64)) []float32 {
	t.Helper()
	s := synNew(t, 0)
	synDry(s)
	s.SetChannelPatch(0, synSine())
	const f0 = 1000
	setup(s, f0)
	n := 1 << 15
	l, _ := synRender(s, f0+9600+n, 64)
	return l[f0+9600:]
}

func TestSynthPitch(t *testing.T) {
	cases := []struct {
		name  string
		setup func(s *Synth, f uint64)
		want  float64
	}{
		{"A4", func(s *Synth, f uint64) { synNote(s, f, 0, 69, 0.8) }, 440},
		{"bend+1", func(s *Synth, f uint64) {
			s.Schedule(Event{Frame: f, Kind: PitchBend, Value: 1})
			synNote(s, f, 0, 69, 0.8)
		}, 440 * math.Pow(2, 2.0/12)},
		{"bend-1", func(s *Synth, f uint64) {
			synNote(s, f, 0, 69, 0.8)
			s.Schedule(Event{Frame: f + 100, Kind: PitchBend, Value: -1})
		}, 440 * math.Pow(2, -2.0/12)},
		{"rpn-bendrange-12", func(s *Synth, f uint64) {
			synCC(s, f, 0, 101, 0)
			synCC(s, f, 0, 100, 0)
			synCC(s, f, 0, 6, 12.0/127)
			s.Schedule(Event{Frame: f, Kind: PitchBend, Value: 1})
			synNote(s, f, 0, 69, 0.8)
		}, 880},
		{"setparam-bendrange", func(s *Synth, f uint64) {
			s.Schedule(Event{Frame: f, Kind: SetParam, Param: ParamChannelBendRange, Value: 7})
			s.Schedule(Event{Frame: f, Kind: PitchBend, Value: 1})
			synNote(s, f, 0, 69, 0.8)
		}, 440 * math.Pow(2, 7.0/12)},
		{"osc1/semi", func(s *Synth, f uint64) {
			s.Schedule(Event{Frame: f, Kind: SetParam, Param: ParamOsc1Semi, Value: -12})
			synNote(s, f, 0, 69, 0.8)
		}, 220},
		{"osc1/freq", func(s *Synth, f uint64) {
			s.Schedule(Event{Frame: f, Kind: SetParam, Param: ParamOsc1Freq, Value: 1000})
			synNote(s, f, 0, 30, 0.8)
		}, 1000},
		{"C4", func(s *Synth, f uint64) { synNote(s, f, 0, 60, 0.8) }, 440 * math.Pow(2, -9.0/12)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := synTone(t, c.setup)
			if got := peakHz(x, synRate); math.Abs(got-c.want) > 0.05 {
				t.Errorf("peak %.3f Hz, want %.3f", got, c.want)
			}
		})
	}
}

func TestSynthSustainPedal(t *testing.T) {
	const sec = 48000
	for _, pedal := range []bool{false, true} {
		s := synNew(t, 0)
		synDry(s)
		s.SetChannelPatch(0, synSine())
		synNote(s, 1000, 0, 60, 0.8)
		if pedal {
			synCC(s, 2000, 0, 64, 1)
		}
		synOff(s, sec/2, 0, 60)
		synCC(s, 2*sec, 0, 64, 0)
		l, _ := synRender(s, 3*sec, 64)
		held := synRMS(l[sec/4 : sec/2])
		after := synRMS(l[sec : 2*sec]) // note off at 0.5 s, release 0.15 s
		if pedal {
			if after < 0.9*held {
				t.Errorf("pedal down: RMS after note-off %.4f, held %.4f", after, held)
			}
			// Pedal up at 2 s: silent 0.15 s (release) + latency later.
			if !synAllZero(l[2*sec+sec/5:]) {
				t.Error("pedal up: still sounding")
			}
		} else if !synAllZero(l[sec/2+sec/5:]) {
			t.Error("no pedal: still sounding after the release")
		}
		if s.ActiveVoices() != 0 {
			t.Errorf("pedal %v: %d voices left", pedal, s.ActiveVoices())
		}
	}
}

// Stealing with a pool of 4: never more than 4 voices, the oldest note goes,
// and its fade-out makes no step larger than the steady sound's.
func TestSynthStealing(t *testing.T) {
	s := synNew(t, 4)
	synDry(s)
	s.SetChannelPatch(0, synSine())
	keys := []uint8{60, 64, 67, 71}
	for i, k := range keys {
		synNote(s, uint64(1000+i*500), 0, k, 1)
	}
	const steal = 20011
	synNote(s, steal, 0, 55, 1) // lower than all: its own slope is small
	l := make([]float32, 30016)
	r := make([]float32, 30016)
	for i := 0; i < len(l); i += 64 {
		s.Render(l[i:i+64], r[i:i+64])
		if n := s.ActiveVoices(); n > 4 {
			t.Fatalf("%d voices active with a pool of 4", n)
		}
	}
	if st := s.Stats(); st.Stolen != 1 {
		t.Errorf("Stolen = %d, want 1", st.Stolen)
	}
	var got []uint8
	for i := 0; i < 4; i++ {
		got = append(got, s.voices[i].key)
	}
	for _, v := range got {
		if v == 60 {
			t.Errorf("oldest note 60 still sounding: %v", got)
		}
	}
	before := maxAbsDiff(l[steal-3000 : steal])
	at := maxAbsDiff(l[steal-10 : steal+1000])
	t.Logf("max step before %.5f, around the steal %.5f", before, at)
	if at > 1.25*before {
		t.Errorf("step %.5f at the steal, steady-state max %.5f", at, before)
	}
}

// Released voices are stolen before held ones.
func TestSynthStealReleasedFirst(t *testing.T) {
	s := synNew(t, 4)
	s.SetChannelPatch(0, synSine())
	for i, k := range []uint8{60, 64, 67, 71} {
		synNote(s, uint64(1000+i*100), 0, k, 1)
	}
	synOff(s, 3000, 0, 67) // release 0.15 s: still sounding at 4000
	synNote(s, 4000, 0, 72, 1)
	synRender(s, 5000, 64)
	keys := map[uint8]bool{}
	for i := 0; i < 4; i++ {
		keys[s.voices[i].key] = true
	}
	for _, k := range []uint8{60, 64, 71, 72} {
		if !keys[k] {
			t.Errorf("key %d not sounding; pool %v", k, keys)
		}
	}
}

func TestSynthAllNotesOff(t *testing.T) {
	for _, kind := range []string{"event", "cc123", "all-channels"} {
		s := synNew(t, 0)
		synDry(s)
		s.SetChannelPatch(0, synSine())
		synCC(s, 500, 0, 64, 1) // pedal down: all-notes-off releases anyway
		for i, k := range []uint8{60, 64, 67} {
			synNote(s, uint64(1000+i*10), 0, k, 0.9)
		}
		synOff(s, 5000, 0, 64)
		switch kind {
		case "event":
			s.Schedule(Event{Frame: 10000, Kind: AllNotesOff})
		case "cc123":
			synCC(s, 10000, 0, 123, 0)
		case "all-channels":
			s.Schedule(Event{Frame: 10000, Kind: AllNotesOff, Channel: 255})
		}
		l, _ := synRender(s, 30000, 64)
		if synRMS(l[8000:10000]) == 0 {
			t.Fatalf("%s: no sound before", kind)
		}
		// Release 0.15 s = 7200 frames.
		if !synAllZero(l[10000+7200+s.Latency():]) || s.ActiveVoices() != 0 {
			t.Errorf("%s: notes not released (%d voices)", kind, s.ActiveVoices())
		}
	}
}

func TestSynthAllSoundOff(t *testing.T) {
	p := synSine()
	p.AmpEnv.Release = 5 // a release that would ring for seconds
	fade := int(fadeSeconds*synRate) + 1
	// Cut where channel 1 is loudest, so that a cut without fade would
	// make a large step.
	probe := synNew(t, 0)
	synDry(probe)
	probe.SetChannelPatch(0, p)
	synNote(probe, 1000, 0, 60, 1)
	synNote(probe, 1000, 0, 67, 1)
	lp, _ := synRender(probe, 11000, 64)
	at := 10000
	for i := 10000; i < 11000; i++ {
		if math.Abs(float64(lp[i])) > math.Abs(float64(lp[at])) {
			at = i
		}
	}
	// Reference: only the channel-2 note.
	ref := synNew(t, 0)
	synDry(ref)
	ref.SetChannelPatch(1, p)
	synNote(ref, 1000, 1, 72, 1)
	lref, _ := synRender(ref, 20000, 64)
	for _, kind := range []string{"event", "cc120"} {
		s := synNew(t, 0)
		synDry(s)
		s.SetChannelPatch(0, p)
		s.SetChannelPatch(1, p)
		synNote(s, 1000, 0, 60, 1)
		synNote(s, 1000, 0, 67, 1)
		synNote(s, 1000, 1, 72, 1)
		if kind == "event" {
			s.Schedule(Event{Frame: uint64(at), Kind: AllSoundOff, Channel: 0})
		} else {
			synCC(s, uint64(at), 0, 120, 0)
		}
		l, _ := synRender(s, 20000, 64)
		if reflect.DeepEqual(l[at-1000:at], lref[at-1000:at]) {
			t.Fatalf("%s: channel 1 was not sounding", kind)
		}
		// From the end of the 3 ms fade on, only channel 2 sounds: the
		// output equals the reference bit for bit.
		if !reflect.DeepEqual(l[at+fade:], lref[at+fade:]) {
			t.Errorf("%s: channel 1 still sounding %d frames after all-sound-off", kind, fade)
		}
		if d := maxAbsDiff(l[at-500 : at+fade+10]); d > 1.25*maxAbsDiff(l[at-2000:at]) {
			t.Errorf("%s: the fade clicks (step %.4f)", kind, d)
		}
		if n := s.ActiveVoices(); n != 1 {
			t.Errorf("%s: %d voices, want 1 (channel 2's)", kind, n)
		}
	}
}

// synPoison sets every float64 field reachable in *p to NaN (a test hook
// that corrupts state the way a numerical blow-up would).
func synPoison(p any) {
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Float64:
			reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem().SetFloat(math.NaN())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Array:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(p).Elem())
}

func TestSynthNaNVoiceSilenced(t *testing.T) {
	s := synNew(t, 0)
	s.SetChannelPatch(0, synSine())
	for i, k := range []uint8{60, 64, 67} {
		synNote(s, uint64(1000+i), 0, k, 1)
	}
	synRender(s, 4800, 64)
	victim := -1
	for i := 0; i < s.nv; i++ {
		if s.voices[i].on && s.voices[i].key == 64 {
			victim = i
		}
	}
	if victim < 0 {
		t.Fatal("voice not found")
	}
	synPoison(&s.voices[victim].filt)
	l, r := synRender(s, 4800, 64)
	for i := range l {
		if !Finite(l[i]) || !Finite(r[i]) {
			t.Fatalf("non-finite output at %d", i)
		}
	}
	if st := s.Stats(); st.NonFinite != 1 {
		t.Errorf("NonFinite = %d, want 1", st.NonFinite)
	}
	if n := s.ActiveVoices(); n != 2 {
		t.Errorf("%d voices after the NaN, want 2", n)
	}
	if synRMS(l[2400:]) == 0 {
		t.Error("the healthy voices went silent too")
	}
	// The slot is reusable.
	synNote(s, s.Frame()+100, 0, 64, 1)
	synRender(s, 1000, 64)
	if n := s.ActiveVoices(); n != 3 {
		t.Errorf("%d voices after a new note, want 3", n)
	}
}

// 512 voices at full velocity on every preset, master gain 4: the output
// stays finite and within full scale.
func TestSynthBoundedAllPresets512(t *testing.T) {
	for pi := 0; pi < NumPresets; pi++ {
		t.Run(presets[pi].NameString(), func(t *testing.T) {
			t.Parallel()
			s := synNew(t, MaxVoices)
			s.setParam(0, ParamMasterGain, 4)
			s.setParam(0, ParamMasterDrive, 0)
			s.setParam(0, ParamDelayMix, 0.5)
			s.setParam(0, ParamDelayFeedback, 0.9)
			for ch := 0; ch < Channels; ch++ {
				s.SetChannelPatch(ch, Preset(pi))
			}
			f := uint64(s.Latency())
			for i := 0; i < MaxVoices; i++ {
				ch := uint8(i % Channels)
				key := uint8(24 + (i/Channels)*2)
				if presets[pi].Kit {
					key = uint8(27 + i%61)
				}
				synNote(s, f+uint64(i%7), ch, key, 1)
			}
			l, r := synRender(s, 4096, 256)
			if n := s.ActiveVoices(); !presets[pi].Kit && presets[pi].AmpEnv.Sustain > 0 && n != MaxVoices {
				t.Errorf("%d voices active, want %d", n, MaxVoices)
			}
			peak := 0.0
			for i := range l {
				if !Finite(l[i]) || !Finite(r[i]) || math.Abs(float64(l[i])) > 1 || math.Abs(float64(r[i])) > 1 {
					t.Fatalf("sample %d = %v, %v", i, l[i], r[i])
				}
				peak = math.Max(peak, math.Max(math.Abs(float64(l[i])), math.Abs(float64(r[i]))))
			}
			if peak < 0.5 {
				t.Errorf("peak %.3f, expected the limiter to be working", peak)
			}
			if st := s.Stats(); st.NonFinite != 0 {
				t.Errorf("%d non-finite voices", st.NonFinite)
			}
		})
	}
}

func TestSynthPresetsSound(t *testing.T) {
	for pi := 0; pi < NumPresets; pi++ {
		p := Preset(pi)
		s := synNew(t, 0)
		ch := uint8(0)
		keys := []uint8{48, 60, 64, 67}
		if p.Kit {
			ch = DrumChannel
			keys = []uint8{36, 38, 42, 49}
		} else {
			s.SetChannelPatch(0, p)
		}
		for i, k := range keys {
			synNote(s, uint64(1000+i*2000), ch, k, 0.8)
			synOff(s, 30000, ch, k)
		}
		l, r := synRender(s, 48000, 64)
		rms := math.Hypot(synRMS(l), synRMS(r))
		if rms < 0.01 || synPeak(l) > masterCeiling {
			t.Errorf("%s: rms %.4f peak %.3f", p.NameString(), rms, synPeak(l))
		}
	}
}

func TestSynthPan(t *testing.T) {
	for _, c := range []struct {
		name string
		ev   Event
		dead int // channel that must be exactly silent (0 left, 1 right)
	}{
		{"cc10-left", Event{Kind: Control, Key: 10, Value: 0}, 1},
		{"cc10-right", Event{Kind: Control, Key: 10, Value: 1}, 0},
		{"channel/pan-left", Event{Kind: SetParam, Param: ParamChannelPan, Value: -1}, 1},
		{"voice/pan-right", Event{Kind: SetParam, Param: ParamVoicePan, Value: 1}, 0},
	} {
		s := synNew(t, 0)
		synDry(s)
		s.SetChannelPatch(0, synSine())
		c.ev.Frame = 500
		s.Schedule(c.ev)
		synNote(s, 1000, 0, 60, 1)
		l, r := synRender(s, 10000, 64)
		dead, live := l, r
		if c.dead == 1 {
			dead, live = r, l
		}
		if !synAllZero(dead) || synRMS(live) == 0 {
			t.Errorf("%s: dead side rms %g, live %g", c.name, synRMS(dead), synRMS(live))
		}
	}
	// Centre: equal power, both sides equal.
	s := synNew(t, 0)
	synDry(s)
	s.SetChannelPatch(0, synSine())
	synCC(s, 500, 0, 10, 64.0/127)
	synNote(s, 1000, 0, 60, 1)
	l, r := synRender(s, 10000, 64)
	if d := math.Abs(synRMS(l)/synRMS(r) - 1); d > 1e-6 {
		t.Errorf("centre pan imbalance %g", d)
	}
}

// Volume (CC7), expression (CC11) and velocity follow their documented
// square-law curves.
func TestSynthGainCurves(t *testing.T) {
	level := func(setup func(s *Synth), vel float64, sens float64) float64 {
		s := synNew(t, 0)
		synDry(s)
		s.setParam(0, ParamMasterDrive, 0)
		p := synSine()
		p.Velocity = sens
		s.SetChannelPatch(0, p)
		setup(s)
		synNote(s, 1000, 0, 69, vel)
		l, _ := synRender(s, 20000, 64)
		return sineFit(l, 440, synRate, 10000)
	}
	none := func(*Synth) {}
	ref := level(none, 1, 0)
	cases := []struct {
		name  string
		setup func(*Synth)
		vel   float64
		sens  float64
		want  float64
	}{
		{"cc7=0.5", func(s *Synth) { synCC(s, 500, 0, 7, 0.5) }, 1, 0, 0.25 / math.Pow(100.0/127, 2)},
		{"cc11=0.5", func(s *Synth) { synCC(s, 500, 0, 11, 0.5) }, 1, 0, 0.25},
		{"vel=0.5,sens=1", none, 0.5, 1, 0.25},
		{"vel=0.5,sens=0.5", none, 0.5, 0.5, 0.5 + 0.5*0.25},
		{"vel=0.2,sens=0", none, 0.2, 0, 1},
	}
	for _, c := range cases {
		if got := level(c.setup, c.vel, c.sens) / ref; math.Abs(got-c.want) > 1e-3*c.want {
			t.Errorf("%s: gain %.5f, want %.5f", c.name, got, c.want)
		}
	}
}

// CC74 moves the cutoff: a bright and a dark saw differ in high-band energy.
func TestSynthBrightnessAndResonance(t *testing.T) {
	hi := func(cc74 float64) float64 {
		s := synNew(t, 0)
		synDry(s)
		p := synSine()
		p.Osc[0].Wave = Saw
		p.Filter.Cutoff = 1000
		s.SetChannelPatch(0, p)
		synCC(s, 500, 0, 74, cc74)
		synNote(s, 1000, 0, 45, 1) // 110 Hz
		l, _ := synRender(s, 1000+4800+1<<14, 64)
		return bandEnergy(l[5800:], synRate, 3000, 8000)
	}
	bright, neutral, dark := hi(1), hi(0.5), hi(0)
	if db(bright/neutral) < 20 || db(neutral/dark) < 20 {
		t.Errorf("CC74 high-band energy: bright %.1f dB, neutral %.1f dB, dark %.1f dB", db(bright), db(neutral), db(dark))
	}
	// CC71 scales the voice's Q by 2^((v-0.5)·4).
	s := synNew(t, 0)
	s.SetChannelPatch(0, synSine())
	synCC(s, 500, 0, 71, 1)
	synNote(s, 1000, 0, 60, 1)
	synRender(s, 2000, 64)
	if q := s.voices[0].q; math.Abs(q-4*synSine().Filter.Resonance) > 1e-9 {
		t.Errorf("CC71=1: Q %.4f, want %.4f", q, 4*synSine().Filter.Resonance)
	}
}

// The mod wheel and channel pressure add LFO depth (vibrato for a pitch
// LFO); pressure also opens the filter by one octave.
func TestSynthModWheelAndPressure(t *testing.T) {
	spread := func(setup func(s *Synth)) (ratio, oct float64) {
		s := synNew(t, 0)
		p := synSine()
		p.LFO = LFOParams{Shape: LFOSine, Rate: 6, Dest: LFOToPitch, ModDepth: 1}
		s.SetChannelPatch(0, p)
		setup(s)
		synNote(s, 1000, 0, 69, 1)
		lo, hi := math.Inf(1), 0.0
		synRender(s, 2000, 64)
		for i := 0; i < 200; i++ {
			synRender(s, 64, 64)
			lo = math.Min(lo, s.voices[0].inc[0])
			hi = math.Max(hi, s.voices[0].inc[0])
		}
		return hi / lo, s.voices[0].oct
	}
	r0, oct0 := spread(func(*Synth) {})
	r1, _ := spread(func(s *Synth) { synCC(s, 500, 0, 1, 1) })
	r2, oct2 := spread(func(s *Synth) { s.Schedule(Event{Frame: 500, Kind: Pressure, Value: 1}) })
	want := math.Pow(2, 2.0/12) // ±1 semitone
	if r0 != 1 {
		t.Errorf("no modulation: frequency ratio %v", r0)
	}
	for _, r := range []float64{r1, r2} {
		if r < math.Pow(want, 0.95) || r > want*1.0001 {
			t.Errorf("full modulation: max/min frequency %.5f, want about %.5f", r, want)
		}
	}
	if math.Abs(oct2-oct0-1) > 1e-9 {
		t.Errorf("pressure opened the filter by %.4f octaves, want 1", oct2-oct0)
	}
}

func TestSynthResetControllers(t *testing.T) {
	s := synNew(t, 0)
	s.SetChannelPatch(0, synSine())
	synCC(s, 500, 0, 1, 1)
	synCC(s, 500, 0, 7, 0.3)
	synCC(s, 500, 0, 11, 0.2)
	synCC(s, 500, 0, 64, 1)
	s.Schedule(Event{Frame: 500, Kind: PitchBend, Value: 0.7})
	s.Schedule(Event{Frame: 500, Kind: Pressure, Value: 0.5})
	synNote(s, 600, 0, 60, 1)
	synOff(s, 700, 0, 60)
	s.Schedule(Event{Frame: 1000, Kind: ResetControllers})
	synRender(s, 2000, 64)
	c := &s.chans[0]
	if c.mod != 0 || c.bend != 0 || c.pressure != 0 || c.expression != 1 || c.sustain {
		t.Errorf("not reset: %+v", *c)
	}
	if c.volume != 0.3 {
		t.Errorf("volume %v changed by reset-all-controllers (RP-015 keeps it)", c.volume)
	}
	if !s.voices[0].amp.Releasing() {
		t.Error("note held by the pedal not released by the reset")
	}
	// CC121 does the same.
	synCC(s, s.Frame()+100, 0, 1, 1)
	synCC(s, s.Frame()+200, 0, 121, 0)
	synRender(s, 1000, 64)
	if s.chans[0].mod != 0 {
		t.Error("CC121 did not reset the mod wheel")
	}
}

func TestSynthProgramChange(t *testing.T) {
	s := synNew(t, 0)
	s.Schedule(Event{Frame: 100, Kind: Program, Channel: 2, Key: 33})          // finger bass
	s.Schedule(Event{Frame: 100, Kind: Program, Channel: DrumChannel, Key: 0}) // kit stays
	s.Schedule(Event{Frame: 100, Kind: SetParam, Channel: 3, Param: ParamChannelPreset, Value: float64(mustPreset("bell"))})
	synRender(s, 1000, 64)
	for ch, want := range map[int]string{2: "bass", DrumChannel: "drums", 3: "bell", 0: "keys"} {
		p := s.ChannelPatch(ch)
		if got := p.NameString(); got != want {
			t.Errorf("channel %d: %q, want %q", ch, got, want)
		}
	}
}

func TestSynthSetParam(t *testing.T) {
	// filter/cutoff on a sounding note: the high band collapses.
	s := synNew(t, 0)
	synDry(s)
	p := synSine()
	p.Osc[0].Wave = Saw
	p.Filter.Cutoff = 10000
	s.SetChannelPatch(0, p)
	s.SetChannelPatch(1, p)
	synNote(s, 1000, 0, 45, 1)
	const at = 20000
	s.Schedule(Event{Frame: at, Kind: SetParam, Channel: 0, Param: ParamFilterCutoff, Value: 200})
	l, _ := synRender(s, at+4800+1<<14, 64)
	before := bandEnergy(l[at-1<<14:at], synRate, 2000, 8000)
	after := bandEnergy(l[at+4800:], synRate, 2000, 8000)
	if db(before/after) < 40 {
		t.Errorf("cutoff 10 kHz -> 200 Hz: high band fell only %.1f dB", db(before/after))
	}
	if got := s.ChannelPatch(0).Filter.Cutoff; got != 200 {
		t.Errorf("channel patch cutoff %v", got)
	}
	if got := s.ChannelPatch(1).Filter.Cutoff; got != 10000 {
		t.Errorf("channel 2 changed too: cutoff %v", got)
	}
	// Every channel at once, clamped to the range.
	s.Schedule(Event{Frame: s.Frame() + 100, Kind: SetParam, Channel: 255, Param: ParamFilterResonance, Value: 1000})
	synRender(s, 1000, 64)
	for ch := 0; ch < Channels; ch++ {
		if got := s.ChannelPatch(ch).Filter.Resonance; got != 20 {
			t.Fatalf("channel %d resonance %v, want 20 (clamped)", ch, got)
		}
	}
	// env/release on a sounding voice reconfigures its envelope.
	s.Schedule(Event{Frame: s.Frame() + 100, Kind: SetParam, Param: ParamAmpRelease, Value: 0.01})
	synOff(s, s.Frame()+200, 0, 45)
	synRender(s, 200+480+s.Latency()+64, 64)
	if n := s.ActiveVoices(); n != 0 {
		t.Errorf("env/release 0.01: %d voices still sounding", n)
	}
	// master/gain 0 fades the output to exact silence.
	s2 := synNew(t, 0)
	s2.SetChannelPatch(0, synSine())
	synNote(s2, 1000, 0, 60, 1)
	s2.Schedule(Event{Frame: 5000, Kind: SetParam, Param: ParamMasterGain, Value: 0})
	l2, _ := synRender(s2, 30000, 64)
	if synAllZero(l2[4000:5000]) || !synAllZero(l2[5000+15000:]) {
		t.Error("master/gain 0 did not silence the output")
	}
	if d := maxAbsDiff(l2[4900:6000]); d > 0.05 {
		t.Errorf("master/gain jump clicks: step %.4f", d)
	}
}

func TestSynthParamNames(t *testing.T) {
	for p := Param(1); p < numParams; p++ {
		name := p.String()
		q, ok := ParamByName(name, "")
		if !ok || q != p {
			t.Errorf("ParamByName(%q) = %v, %v", name, q, ok)
		}
		lo, hi := p.Range()
		if !(lo < hi) {
			t.Errorf("%v: range %v..%v", p, lo, hi)
		}
	}
	for _, c := range []struct {
		module, name string
		want         Param
	}{
		{"filter", "cutoff", ParamFilterCutoff},
		{"Filter", "Freq", ParamFilterCutoff},
		{"vcf", "q", ParamFilterResonance},
		{"adsr", "attack", ParamAmpAttack},
		{"env", "r", ParamAmpRelease},
		{"sine", "freq", ParamOsc1Freq},
		{"osc1", "wave", ParamOsc1Wave},
		{"osc2", "detune", ParamOsc2Detune},
		{"lfo", "rate", ParamLFORate},
		{"lfo", "hz", ParamLFORate},
		{"delay", "time", ParamDelayTime},
		{"echo", "fb", ParamDelayFeedback},
		{"reverb", "mix", ParamReverbMix},
		{"reverb", "room", ParamReverbSize},
		{"master", "gain", ParamMasterGain},
		{"master", "volume", ParamMasterGain},
		{"channel", "volume", ParamChannelVolume},
		{"fenv", "sustain", ParamFilterEnvSustain},
		{"filter", "env_amount", ParamFilterEnvAmount},
		{"Filter", "Cut_Off", ParamFilterCutoff},
		{"amp_env", "attack", ParamAmpAttack},
		{"filter-env", "decay", ParamFilterEnvDecay},
		{" LFO ", " Rate ", ParamLFORate},
		{"pitch", "decay", ParamPitchEnvDecay},
	} {
		if got, ok := ParamByName(c.module, c.name); !ok || got != c.want {
			t.Errorf("ParamByName(%q, %q) = %v, %v; want %v", c.module, c.name, got, ok, c.want)
		}
	}
	for _, bad := range [][2]string{{"filter", "nonsense"}, {"nomodule", "cutoff"}, {"", ""}} {
		if p, ok := ParamByName(bad[0], bad[1]); ok {
			t.Errorf("ParamByName(%q, %q) = %v, want not found", bad[0], bad[1], p)
		}
	}
	for _, c := range [][2]string{{"Filter", "Cut_Off"}, {"filter/cutoff", ""}, {"amp_env", "Attack"}, {"nomodule", "x"}} {
		if a := testing.AllocsPerRun(100, func() { ParamByName(c[0], c[1]) }); a != 0 {
			t.Errorf("ParamByName(%q, %q): %v allocs", c[0], c[1], a)
		}
	}
	if p, ok := ParamByName("filter", "thisnameiswaytoolongforanybuffer"); ok {
		t.Errorf("over-long name found %v", p)
	}
	if !ParamReverbMix.Master() || ParamFilterCutoff.Master() {
		t.Error("Master() wrong")
	}
}

func TestSynthGMPreset(t *testing.T) {
	for p := 0; p < 256; p++ {
		if i := GMPreset(uint8(p)); i < 0 || i >= NumPresets || presets[i].Kit {
			t.Errorf("GMPreset(%d) = %d", p, i)
		}
	}
	for prog, want := range map[uint8]string{0: "keys", 4: "keys", 11: "bell", 16: "organ", 24: "pluck", 33: "bass",
		40: "strings", 48: "strings", 56: "brass", 73: "flute", 81: "lead", 89: "pad", 12: "mallet", 122: "fx"} {
		if got := presets[GMPreset(prog)].NameString(); got != want {
			t.Errorf("GMPreset(%d) = %q, want %q", prog, got, want)
		}
	}
	names := map[string]bool{}
	for _, p := range Presets() {
		names[p.NameString()] = true
	}
	for _, want := range []string{"pad", "bass", "lead", "pluck", "organ", "keys", "strings", "brass", "bell", "drums"} {
		if !names[want] {
			t.Errorf("preset %q missing", want)
		}
		if _, ok := PresetIndex(want); !ok {
			t.Errorf("PresetIndex(%q) failed", want)
		}
	}
}

// The kit: the kick's energy is low, the hats' high; a closed hat chokes an
// open one.
func TestSynthDrums(t *testing.T) {
	hit := func(key uint8) []float32 {
		s := synNew(t, 0)
		synDry(s)
		synNote(s, 1000, DrumChannel, key, 1)
		l, _ := synRender(s, 1000+1<<14, 64)
		return l[1000:]
	}
	for _, key := range []uint8{35, 36, 38, 39, 41, 42, 46, 49, 51, 56, 60, 75, 81} {
		if synRMS(hit(key)) < 0.003 {
			t.Errorf("drum key %d (%s) is silent", key, drumKit[key].NameString())
		}
	}
	kick, hat := hit(36), hit(42)
	if r := db(bandEnergy(kick, synRate, 20, 200) / bandEnergy(kick, synRate, 2000, 20000)); r < 20 {
		t.Errorf("kick low/high energy %.1f dB", r)
	}
	if r := db(bandEnergy(hat, synRate, 5000, 20000) / bandEnergy(hat, synRate, 20, 1000)); r < 20 {
		t.Errorf("hat high/low energy %.1f dB", r)
	}
	// Choke: open hat, then closed hat 0.1 s later.
	s := synNew(t, 0)
	synNote(s, 1000, DrumChannel, 46, 1)
	synNote(s, 5800, DrumChannel, 42, 1)
	synRender(s, 5800+200, 64)
	for i := 0; i < s.nv; i++ {
		if v := &s.voices[i]; v.key == 46 && !v.done() {
			t.Error("open hat not choked by the closed hat")
		}
	}
	// Note-off does not cut a one-shot drum.
	s = synNew(t, 0)
	synNote(s, 1000, DrumChannel, 49, 1)
	synOff(s, 1100, DrumChannel, 49)
	synRender(s, 1000+4800, 64)
	if s.ActiveVoices() != 1 || s.voices[0].amp.Releasing() {
		t.Error("note-off cut the crash cymbal")
	}
}

func TestSynthQueue(t *testing.T) {
	var q queue
	for _, f := range []uint64{50, 10, 30, 10, 20, 50} {
		if !q.push(Event{Frame: f, Key: uint8(q.n)}) {
			t.Fatal("push failed")
		}
	}
	var got []uint64
	var keys []uint8
	for q.n > 0 {
		got = append(got, q.peek().Frame)
		keys = append(keys, q.peek().Key)
		q.pop()
	}
	if !reflect.DeepEqual(got, []uint64{10, 10, 20, 30, 50, 50}) || !reflect.DeepEqual(keys, []uint8{1, 3, 4, 2, 0, 5}) {
		t.Errorf("order %v keys %v", got, keys)
	}
	s := synNew(t, 0)
	for i := 0; i < MaxPending; i++ {
		if !s.Schedule(Event{Frame: uint64(1000 + i%7), Kind: Control, Key: 1}) {
			t.Fatalf("Schedule %d failed", i)
		}
	}
	if s.Schedule(Event{Frame: 5, Kind: Control, Key: 1}) || s.Stats().Dropped != 1 {
		t.Errorf("full queue accepted an event: %+v", s.Stats())
	}
	for _, bad := range []Event{{Kind: 0}, {Kind: numEventKinds}, {Kind: NoteOn, Channel: 16}, {Kind: NoteOn, Key: 128},
		{Kind: Control, Value: math.NaN()}, {Kind: SetParam, Param: 0}, {Kind: SetParam, Param: numParams}} {
		if s.Schedule(bad) {
			t.Errorf("malformed %+v accepted", bad)
		}
	}
	if s.Stats().Invalid != 7 {
		t.Errorf("Invalid = %d, want 7", s.Stats().Invalid)
	}
	synRender(s, 2000, 64)
	if s.Pending() != 0 || s.Stats().Applied != MaxPending {
		t.Errorf("pending %d applied %d", s.Pending(), s.Stats().Applied)
	}
}

// Synth holds no pointers, slices, maps, strings, interfaces, funcs or
// channels anywhere, so a plain copy is a complete, independent snapshot.
func TestSynthPointerFree(t *testing.T) {
	var walk func(tp reflect.Type, path string)
	walk = func(tp reflect.Type, path string) {
		switch tp.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
			reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		case reflect.Array:
			walk(tp.Elem(), path+"[]")
		case reflect.Struct:
			for i := 0; i < tp.NumField(); i++ {
				f := tp.Field(i)
				walk(f.Type, path+"."+f.Name)
			}
		default:
			t.Errorf("%s is a %v", path, tp.Kind())
		}
	}
	walk(reflect.TypeOf(Synth{}), "Synth")
	walk(reflect.TypeOf(Event{}), "Event")
	walk(reflect.TypeOf(Patch{}), "Patch")
	t.Logf("sizeof(Synth) = %d bytes", unsafe.Sizeof(Synth{}))
}

func TestSynthAllocs(t *testing.T) {
	s := synNew(t, 0)
	for i := 0; i < 64; i++ {
		ch := uint8(i % 8)
		s.SetChannelPatch(int(ch), Preset(i%(NumPresets-1)))
		synNote(s, uint64(100+i), ch, uint8(30+i), 0.9)
	}
	l := make([]float32, 64)
	r := make([]float32, 64)
	for i := 0; i < 10; i++ {
		s.Render(l, r)
	}
	if n := s.ActiveVoices(); n != 64 {
		t.Fatalf("%d voices active, want 64", n)
	}
	if a := testing.AllocsPerRun(200, func() { s.Render(l, r) }); a != 0 {
		t.Errorf("Render: %v allocs", a)
	}
	k := 0
	if a := testing.AllocsPerRun(200, func() {
		f := s.Frame() + uint64(s.Latency()) + 10
		s.Schedule(Event{Frame: f, Kind: NoteOn, Channel: 1, Key: uint8(40 + k%40), Value: 0.7})
		s.Schedule(Event{Frame: f + 20, Kind: Control, Channel: 1, Key: 74, Value: 0.3})
		s.Schedule(Event{Frame: f + 30, Kind: SetParam, Channel: 1, Param: ParamFilterCutoff, Value: 900})
		s.Schedule(Event{Frame: f + 40, Kind: NoteOff, Channel: 1, Key: uint8(40 + k%40)})
		k++
		s.Render(l, r)
	}); a != 0 {
		t.Errorf("Schedule+Render: %v allocs", a)
	}
}

// Envelope segments of a few frames make control periods of a few frames
// (a period ends where an amplitude segment ends): the output still does
// not depend on the caller's blocks, and the voices end.
func TestSynthShortEnvelopeSegments(t *testing.T) {
	p := synSine()
	p.AmpEnv = ADSRConfig{Attack: 1 / synRate, Decay: 2 / synRate, Sustain: 0.5, Release: 3 / synRate, Curve: Exponential}
	p.FilterEnv = ADSRConfig{Attack: 2 / synRate, Decay: 1 / synRate, Sustain: 0.3, Release: 1 / synRate}
	p.Filter.EnvAmount = 2
	render := func(blk int) ([]float32, *Synth) {
		s := synNew(t, 0)
		synDry(s)
		s.SetChannelPatch(0, p)
		for i := 0; i < 40; i++ {
			synNote(s, uint64(100+i*37), 0, uint8(48+i%24), 0.9)
			synOff(s, uint64(100+i*37+5+i%11), 0, uint8(48+i%24))
		}
		l, _ := synRender(s, 4000, blk)
		return l, s
	}
	ref, s := render(256)
	if synRMS(ref) == 0 {
		t.Fatal("silent")
	}
	if n := s.ActiveVoices(); n != 0 {
		t.Errorf("%d voices left", n)
	}
	for _, blk := range []int{1, 7, 64, 100} {
		got, _ := render(blk)
		synEqual(t, "blocks of "+itoa(blk), ref, got)
	}
}

// Idle voice slots cost nothing: Render visits only the voices in the
// active bitmap, which holds exactly the slots in use.
func TestSynthActiveBitmap(t *testing.T) {
	s := synNew(t, 8)
	synDry(s)
	s.SetChannelPatch(0, synSine())
	check := func(when string) {
		t.Helper()
		for i := range s.voices {
			bit := s.active[i/64]>>(i%64)&1 == 1
			if bit != s.voices[i].on {
				t.Fatalf("%s: slot %d on=%v, bit %v", when, i, s.voices[i].on, bit)
			}
		}
	}
	for i := 0; i < 12; i++ { // 12 notes in 8 voices: 4 steals into fade slots
		synNote(s, uint64(100+i*50), 0, uint8(60+i), 1)
	}
	synRender(s, 300, 64)
	check("while stealing")
	synRender(s, 1000, 64)
	check("after the fades")
	s.Schedule(Event{Frame: s.Frame() + 10, Kind: AllNotesOff, Channel: 255})
	synRender(s, 20000, 64)
	check("after the releases")
	for _, w := range s.active {
		if w != 0 {
			t.Fatalf("active bitmap %x after every voice ended", s.active)
		}
	}
}

// Fast modulation keeps the short control period: a pitch envelope that
// has not died away, or short envelope segments; a plain held note gets
// the long one.
func TestSynthControlPeriod(t *testing.T) {
	s := synNew(t, 0)
	synDry(s)
	s.SetChannelPatch(0, synSine())
	synNote(s, 0, 0, 60, 1)           // sine: attack 5 ms
	synNote(s, 0, DrumChannel, 36, 1) // kick: pitch envelope
	synRender(s, s.Latency()+64, 64)
	periods := map[uint8]int{}
	for i := range s.voices[:s.nv] {
		if v := &s.voices[i]; v.on {
			periods[v.ch] = s.period(v)
		}
	}
	if periods[0] != fastCtrlFrames || periods[DrumChannel] != fastCtrlFrames {
		t.Errorf("at the attack: periods %v, want %d", periods, fastCtrlFrames)
	}
	synRender(s, 48000, 64)
	for i := range s.voices[:s.nv] {
		if v := &s.voices[i]; v.on && v.ch == 0 {
			if got := s.period(v); got != ctrlFrames {
				t.Errorf("held note: period %d, want %d", got, ctrlFrames)
			}
		}
	}
}
