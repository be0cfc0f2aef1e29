package engine

import (
	"syscall"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// patchReference is Reference, with a check that the synth took every
// patch edit and commit (none invalid, none refused).
func patchReference(t testing.TB, cmds []proto.Command, frames, bf int) []float32 {
	t.Helper()
	out, err := Reference(Config{SampleRate: testRate, BlockFrames: bf}, cmds, frames)
	if err != nil {
		t.Fatal(err)
	}
	s, err := dsp.New(dsp.Config{SampleRate: testRate, Voices: defaultVoices(t)})
	if err != nil {
		t.Fatal(err)
	}
	var pt paramTable
	for i := range cmds {
		pt.apply(s, &cmds[i], 0)
	}
	if st := s.Stats(); st.PatchInvalid != 0 || st.PatchRefused != 0 {
		t.Fatalf("reference stats %+v", st)
	}
	return out
}

// defaultVoices returns the voice count an engine with a zero Config
// gives its synths.
func defaultVoices(t testing.TB) int {
	cfg := Config{SampleRate: testRate}
	if err := cfg.defaults(); err != nil {
		t.Fatal(err)
	}
	return cfg.Voices
}

// graphBurst returns the commands that send the shipped patch name into
// slot for channel, every one at frame (absolute).
func graphBurst(t testing.TB, name string, slot, channel uint8, frame uint64) []proto.Command {
	t.Helper()
	g, ok := shippedGraphs(t)["patches/"+name+".toml"]
	if !ok {
		t.Fatalf("no shipped patch %s", name)
	}
	cs, err := GraphCommands(&g, slot, channel, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range cs {
		cs[i].Frame, cs[i].Flags = frame, proto.FlagAbsolute
	}
	return cs
}

// withBurst inserts burst into the sorted script cs (after the commands of
// the same frame) and returns the burst's first index.
func withBurst(cs, burst []proto.Command) ([]proto.Command, int) {
	at := 0
	for at < len(cs) && cs[at].Frame <= burst[0].Frame {
		at++
	}
	out := append(append(append([]proto.Command(nil), cs[:at]...), burst...), cs[at:]...)
	return out, at
}

// A graph sent while notes play, committed into two channels, then the
// active worker SIGKILLed: the output is the in-process reference, sample
// for sample, and the graphs are in it.
func TestPatchCommitSurvivesKill(t *testing.T) {
	cs := script(2, 5)
	cs, _ = withBurst(cs, graphBurst(t, "subtractive", 0, 1, 4800+testRate/2))
	cs, _ = withBurst(cs, graphBurst(t, "pad", 3, 2, 4800+testRate*3/4))
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	want := patchReference(t, cs, frames, 64)
	if plain := patchReference(t, script(2, 5), frames, 64); equalSamples(plain, want) {
		t.Fatal("the graphs change nothing in the reference")
	}
	h := startHarness(t, Config{}, 128, 3)
	killed := false
	h.feed(cs, func(played uint64) {
		if !killed && played > 4800+testRate && h.redundant(0) {
			killed = true
			kill(h, h.activePID(), syscall.SIGKILL)
		}
	})
	if !killed {
		t.Fatal("no kill happened")
	}
	got := h.waitFrames(frames)
	compare(t, got, want)
	if st := h.e.Stats(); st.Underruns != 0 || st.Mismatches != 0 || st.LateCommands != 0 || st.Failovers == 0 {
		t.Fatalf("stats %+v", st)
	}
}

// The standby dies between the staging edits and the commit: its
// replacement gets the active worker's snapshot, partial staged graph
// included, and the rest of the burst replayed; the output still matches.
func TestPatchRespawnMidBurst(t *testing.T) {
	cs := script(3, 6)
	commitAt := uint64(4800 + 2*testRate)
	burst := graphBurst(t, "pluck", 5, 0, 4800+testRate/2)
	half := len(burst) / 2
	for i := half; i < len(burst); i++ {
		burst[i].Frame = commitAt
	}
	cs, at := withBurst(cs, burst[:half])
	cs, _ = withBurst(cs, burst[half:])
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	want := patchReference(t, cs, frames, 64)
	// Without the second half the commit finds no complete graph: the
	// output would differ (a joiner without the first half would too).
	var noCommit []proto.Command
	for _, c := range cs {
		if c.Frame != commitAt || c.Op < proto.OpPatchCreate {
			noCommit = append(noCommit, c)
		}
	}
	if len(noCommit) != len(cs)-(len(burst)-half) {
		t.Fatalf("%d of %d commands left", len(noCommit), len(cs))
	}
	if equalSamples(patchReference(t, noCommit, frames, 64), want) {
		t.Fatal("the commit changes nothing in the reference")
	}

	h := startHarness(t, Config{}, 128, 4)
	h.waitRedundant(0)
	// Everything up to the first half of the burst, then the kill once the
	// workers have read it (they read commands a block after they are sent).
	sent, _ := h.feedUntil(cs[:at+half], func(uint64) bool { return false })
	if sent != at+half {
		t.Fatalf("sent %d", sent)
	}
	seq := h.e.pubSeq.Load()
	for deadline := time.Now().Add(10 * time.Second); ; {
		if w := h.e.slots[h.e.pubStandby.Load()].Load(); w != nil && w.reg.u64(offLastSeq).Load() >= seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the standby did not read the first half")
		}
		time.Sleep(time.Millisecond)
	}
	victim := h.standbyPID()
	kill(h, victim, syscall.SIGKILL)
	h.waitRedundant(victim)
	if played, _ := h.e.PlayPosition(); played+testRate/4 > commitAt {
		t.Fatalf("the respawn took until frame %d, past the commit at %d", played, commitAt)
	}
	rest := cs[at+half:]
	h.feed(rest, nil)
	got := h.waitFrames(frames)
	compare(t, got, want)
	if st := h.e.Stats(); st.Underruns != 0 || st.Mismatches != 0 || st.LateCommands != 0 || st.Respawns == 0 {
		t.Fatalf("stats %+v", st)
	}
}

func equalSamples(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
