package engine

import (
	"io/fs"
	"syscall"
	"testing"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/dsp/graphfile"
	"github.com/chronus-audio/chronus/engine/proto"
)

// shippedKit returns the sounds of the shipped General MIDI kit.
func shippedKit(t testing.TB) []dsp.KitSound {
	t.Helper()
	src, err := fs.ReadFile(graphfile.Kits(), "kits/drums.toml")
	if err != nil {
		t.Fatal(err)
	}
	k, err := graphfile.ParseKit("drums.toml", src)
	if err != nil {
		t.Fatal(err)
	}
	return k.KitSounds()
}

// kitNotes returns a few drum hits on channel 9 from frame at (absolute):
// kick, snare, a closed hat that chokes an open one, a tom.
func kitNotes(at uint64) []proto.Command {
	var cs []proto.Command
	for i, key := range []uint8{36, 38, 46, 42, 45} {
		f := at + uint64(i)*2400
		cs = append(cs,
			proto.Command{Op: proto.OpNoteOn, Channel: 9, Key: key, Value: 0.8, Frame: f, Flags: proto.FlagAbsolute},
			proto.Command{Op: proto.OpNoteOff, Channel: 9, Key: key, Frame: f + 600, Flags: proto.FlagAbsolute})
	}
	return cs
}

// The kit's commands, applied as the workers apply them, give the synth
// the kit that dsp's LoadKit gives it: the same samples.
func TestKitCommandsMatchLoadKit(t *testing.T) {
	sounds := shippedKit(t)
	cs, err := KitCommands(sounds, 9, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Op != proto.OpKitBegin || cs[len(cs)-1].Op != proto.OpKitCommit || cs[len(cs)-1].Channel != 9 {
		t.Fatalf("burst %v ... %v", cs[0].String(), cs[len(cs)-1].String())
	}
	direct, err := dsp.New(dsp.Config{SampleRate: testRate, Voices: defaultVoices(t)})
	if err != nil {
		t.Fatal(err)
	}
	n, err := direct.LoadKit(sounds, 0, 9)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(cs) {
		t.Errorf("%d commands, LoadKit issued %d calls", len(cs), n)
	}
	for i := range cs {
		cs[i].Flags |= proto.FlagAbsolute
	}
	notes := kitNotes(4800)
	got := patchReference(t, append(cs, notes...), 24000, 64)
	// The same notes on the dsp-loaded synth.
	var pt paramTable
	want := make([]float32, 0, 2*24000)
	l, r := make([]float32, 64), make([]float32, 64)
	for i := range notes {
		pt.apply(direct, &notes[i], 0)
	}
	for len(want) < 2*24000 {
		direct.Render(l, r)
		for k := range l {
			want = append(want, l[k], r[k])
		}
	}
	if !equalSamples(got, want) {
		t.Fatal("the kit sent as commands plays other samples than the kit loaded directly")
	}
	// And it is the kit that plays: without it the preset kit sounds.
	if equalSamples(patchReference(t, notes, 24000, 64), got) {
		t.Fatal("the graph kit sounds like no kit at all")
	}
}

func TestKitCommandsErrors(t *testing.T) {
	if _, err := KitCommands(shippedKit(t), 16, nil); err == nil {
		t.Error("channel 16 accepted")
	}
	var g dsp.Graph
	_ = g.AddModule("a-very-long-module-id", dsp.KindOsc)
	prefix := []proto.Command{{Op: proto.OpNoteOn}}
	out, err := KitCommands([]dsp.KitSound{{Graph: g, Keys: [2]uint64{1}}}, 9, prefix)
	if err == nil || len(out) != 1 {
		t.Errorf("a sound that cannot be staged gave %d commands, %v", len(out), err)
	}
}

// The kit survives a cold restart: after both playing workers are
// SIGKILLed, drum notes on its channel are, sample for sample, those of a
// fresh synth given the kit first, and not those of one without it.
func TestKitSurvivesColdRestart(t *testing.T) {
	h := startHarness(t, Config{}, 128, 6)
	h.waitRedundant(0)
	kit, err := KitCommands(shippedKit(t), 9, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.send(kit...)
	h.e.KeepPatch(kit...)
	h.waitFrames(int(testRate / 2)) // the workers have the kit
	a, b := h.activePID(), h.standbyPID()
	kill(h, a, syscall.SIGKILL)
	kill(h, b, syscall.SIGKILL)
	base := h.waitColdRestart(t)
	played, _ := h.e.PlayPosition()
	at := played + testRate/2
	notes := kitNotes(at)
	h.feed(notes, nil)
	frames := int(at) + testRate/2
	got := h.waitFrames(frames)
	rel := func(patch []proto.Command) []float32 { return freshReference(t, patch, notes, base, frames) }
	want := rel(kit)
	if equalSamples(rel(nil)[2*(int(at-base)):], want[2*(int(at-base)):]) {
		t.Fatal("the kit changes nothing in the reference")
	}
	from := int(at) - 1000
	compare(t, got[2*from:2*frames], want[2*(from-int(base)):])
	if st := h.e.Stats(); st.ColdStarts != 1 || st.Mismatches != 0 {
		t.Fatalf("stats %+v", st)
	}
}
