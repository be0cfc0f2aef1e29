package dsp

import (
	"math"
	"slices"
	"testing"
)

// optPerc is a percussive sine: attack 2 ms, decay 0.1 s to sustain 0.
func optPerc(t testing.TB, once bool, choke uint8) *Graph {
	g := graphBuild(t, "amp1", "osc1:osc", "env1:env", "amp1:amp",
		"osc1.wave=sine", "osc1.level=0.5",
		"env1.attack=0.002", "env1.decay=0.1", "env1.sustain=0", "env1.release=0.05",
		"amp1.gain=0", "osc1>amp1.in", "env1>amp1.gain")
	g.OneShot, g.Choke = once, choke
	return g
}

// TestGraphOneShot: a one-shot note ignores its note-off, the sustain
// pedal and all notes off, sounds exactly like the note held, and ends
// (its voice free) where its envelope has decayed to 0: attack + decay
// frames after its start.
func TestGraphOneShot(t *testing.T) {
	const end = 96 + 4800 // round(0.002·48000) + round(0.1·48000)
	play := func(once bool, release bool, blk int) ([]float32, *Synth) {
		s := synNew(t, 0)
		synDry(s)
		synCommit(t, s, optPerc(t, once, 0), 0, 0, 0)
		synNote(s, 0, 0, 69, 0.8)
		if release {
			synCC(s, 50, 0, 64, 1) // pedal down
			synOff(s, 100, 0, 69)
			synCC(s, 200, 0, 64, 0) // pedal up
			synCC(s, 300, 0, 123, 1)
		}
		l, _ := synRender(s, end-1, blk)
		if (once || !release) && synGraphVoices(s) != 1 {
			t.Fatalf("once %v release %v: the note ended early", once, release)
		}
		l1, _ := synRender(s, 10, 10)
		if once && synGraphVoices(s) != 0 {
			t.Fatal("the one-shot did not end where its envelope reached 0")
		}
		l2, _ := synRender(s, 6000-len(l)-10, blk)
		return append(append(l, l1...), l2...), s
	}
	held, hs := play(false, false, 64)
	once, os := play(true, true, 37)
	if !slices.Equal(held, once) {
		t.Fatal("the one-shot does not sound like the held note")
	}
	if synGraphVoices(os) != 0 || synGraphVoices(hs) != 1 {
		t.Fatalf("voices: one-shot %d (want 0), held %d (want 1)", synGraphVoices(os), synGraphVoices(hs))
	}
	if synPeak(once[end+hs.Latency():]) != 0 || synPeak(once[1000:2000]) < 0.05 {
		t.Fatal("the one-shot's sound is wrong")
	}
	// Not one-shot: the note-off releases it.
	rel, _ := play(false, true, 64)
	if slices.Equal(rel, held) {
		t.Fatal("the note-off changed nothing without one_shot")
	}

	g := optPerc(t, true, 0)
	g.Modules[1].Param[EnvSustain] = 0.5
	var p GraphProgram
	if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrOneShot {
		t.Fatalf("sustain 0.5: %v", err)
	} else {
		t.Log(err)
	}
	g = graphBuild(t, "osc1", "osc1:osc")
	g.OneShot = true
	if err := Compile(g, &p); err == nil || err.(*GraphError).Code != ErrOneShot {
		t.Fatalf("no envelope: %v", err)
	}
}

// TestGraphChoke: a note silences (after a fadeSeconds fade) the notes of
// its channel whose patch is in its choke group, and no others.
func TestGraphChoke(t *testing.T) {
	s := synNew(t, 0)
	synDry(s)
	hold := optPerc(t, false, 0)
	hold.Modules[1].Param[EnvSustain] = 1 // notes that would sound on
	a, b, other := *hold, *hold, *hold
	a.Choke, b.Choke, other.Choke = 1, 1, 2
	synCommit(t, s, &a, 0, 0, 0)
	synCommit(t, s, &b, 0, 1, 1)
	synCommit(t, s, &other, 0, 2, 2)
	synNote(s, 0, 0, 60, 0.8) // group 1, channel 0
	synNote(s, 0, 1, 62, 0.8) // group 1, channel 1: another channel
	synNote(s, 0, 2, 64, 0.8) // group 2, channel 2
	synRender(s, 1000, 64)
	if n := synGraphVoices(s); n != 3 {
		t.Fatalf("%d voices", n)
	}
	synNote(s, s.Frame(), 0, 67, 0.8) // chokes key 60 only
	synRender(s, int(s.fadeLen)+64, 64)
	keys := map[uint8]bool{}
	for i := 0; i < s.g.ngv+fadeSlots; i++ {
		if v := &s.g.voices[i]; !v.done() {
			keys[v.key] = true
		}
	}
	if len(keys) != 3 || keys[60] || !keys[62] || !keys[64] || !keys[67] {
		t.Fatalf("sounding keys %v", keys)
	}
	// The choked note faded: no step larger than the notes' own.
	s2 := synNew(t, 0)
	synDry(s2)
	synCommit(t, s2, &a, 0, 0, 0)
	synNote(s2, 0, 0, 60, 0.8)
	synNote(s2, 2000, 0, 60, 0.8) // retriggers itself through the fade
	l, _ := synRender(s2, 4000, 64)
	if d, d0 := maxAbsDiff(l[2000:]), maxAbsDiff(l[1000:1900]); d > 1.5*d0 {
		t.Fatalf("step %g, normal %g", d, d0)
	}
	if synGraphVoices(s2) != 1 {
		t.Fatalf("%d voices after the self-choke", synGraphVoices(s2))
	}
}

// TestStagePatchOptions: the options stage through PatchSet on
// PatchOptions, and bad ones are refused and counted.
func TestStagePatchOptions(t *testing.T) {
	s := synNew(t, 0)
	for _, c := range []struct {
		param string
		v     float64
		ok    bool
	}{
		{OptionOneShot, 1, true}, {OptionChoke, 7, true}, {OptionChoke, 255, true},
		{OptionOneShot, 0.5, false}, {OptionOneShot, 2, false}, {OptionChoke, 256, false},
		{OptionChoke, -1, false}, {OptionChoke, 1.5, false}, {OptionChoke, math.NaN(), false},
		{"gain", 1, false},
	} {
		if got := s.StagePatch(PatchSet, PatchOptions, c.param, 0, c.v, 0); got != c.ok {
			t.Fatalf("%s = %v: %v", c.param, c.v, got)
		}
	}
	if g := s.StagedGraph(); !g.OneShot || g.Choke != 255 || g.NModules != 0 {
		t.Fatalf("staged %v %d", g.OneShot, g.Choke)
	}
	if s.StagePatch(PatchCreate, PatchOptions, "osc", 0, 0, 0) || s.Stats().PatchInvalid != 8 {
		t.Fatalf("PatchOptions made a module, or %d invalid", s.Stats().PatchInvalid)
	}
	s.StagePatch(PatchSet, PatchOptions, OptionOneShot, 0, 0, 0)
	if s.StagedGraph().OneShot {
		t.Fatal("one_shot 0 kept it")
	}
	s.StagePatch(PatchAbort, "", "", 0, 0, 0)
	if g := s.StagedGraph(); g.OneShot || g.Choke != 0 {
		t.Fatal("abort kept the options")
	}
}
