package engine

import (
	"errors"
	"strings"
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
	cs, _ = withBurst(cs, graphBurst(t, "shimmer", 3, 2, 4800+testRate*3/4))
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
	burst := graphBurst(t, "echo-pluck", 5, 0, 4800+testRate/2)
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
	// The reads above must happen before the supervisor unmaps the
	// victim's region, for the race detector too: a command that the
	// audio thread forwards before the kill orders them before its
	// acknowledgement of the victim's detach, which the supervisor waits
	// for before unmapping. It resets the controllers of a channel
	// nothing plays: inaudible (compare checks).
	seq = h.e.pubSeq.Load()
	h.send(proto.Command{Op: proto.OpResetControllers, Channel: 15})
	for h.e.pubSeq.Load() <= seq {
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

// ticketed returns g's commands for slot and channel with a fresh commit
// ticket, the commit at frame (0: as soon as possible).
func ticketed(t testing.TB, g *dsp.Graph, slot, channel uint8, frame uint64) []proto.Command {
	t.Helper()
	b, err := GraphCommands(g, slot, channel, nil)
	if err != nil {
		t.Fatal(err)
	}
	last := &b[len(b)-1]
	last.Voice = NewCommitTicket()
	if frame > 0 {
		last.Frame, last.Flags = frame, proto.FlagAbsolute
	}
	return b
}

func (h *harness) send(cs ...proto.Command) {
	h.t.Helper()
	for _, c := range cs {
		if err := h.e.Send(c); err != nil {
			h.t.Fatal(err)
		}
	}
}

// TestPatchCommitRefusedAcrossFailover: a player commits 48 versions of a
// graph and holds a note on each, so every program instance is in use; a
// 49th commit parks (taken: it waits for the oldest version to fade), and
// a 50th is refused. ConfirmCommit says so, with the reason, although the
// active worker is SIGKILLed right after the commit was sent: the other
// worker applied the same commands and its outcome is the outcome.
func TestPatchCommitRefusedAcrossFailover(t *testing.T) {
	h := startHarness(t, Config{}, 128, 3)
	h.waitRedundant(0)
	g := oscGraph(t, 0)
	for k := 0; k < 48; k++ {
		b := ticketed(t, &g, 0, 0, 0)
		h.send(b...)
		// Sent after the commit: it plays the version just committed.
		h.send(proto.Command{Op: proto.OpNoteOn, Key: uint8(30 + k), Value: 0.3})
		if err := h.e.ConfirmCommit(b, 10*time.Second); err != nil {
			t.Fatalf("commit %d: %v", k, err)
		}
	}
	played, _ := h.e.PlayPosition()
	parked := ticketed(t, &g, 0, 0, played+testRate/2) // stays parked until then
	refused := ticketed(t, &g, 0, 0, 0)
	h.send(parked...)
	h.send(refused...)
	kill(h, h.activePID(), syscall.SIGKILL)
	if err := h.e.ConfirmCommit(parked, 10*time.Second); err != nil {
		t.Fatalf("the 49th commit: %v, want it taken (parked)", err)
	}
	err := h.e.ConfirmCommit(refused, 10*time.Second)
	var ce *CommitError
	if !errors.As(err, &ce) || ce.Reason != CommitNoInstance || ce.Slot != 0 || ce.Channel != 0 {
		t.Fatalf("the 50th commit: %v, want refused for want of a program instance", err)
	}
	if !strings.Contains(err.Error(), "every program instance is in use") {
		t.Fatalf("message %q", err)
	}
	if st := h.e.Stats(); st.Failovers == 0 || st.Mismatches != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPatchCommitAtFrame: a commit at an absolute frame switches the
// channel exactly there: a note one frame before plays the preset, a note
// at the commit's frame plays the graph, and the engine's output is the
// reference's sample for sample (a commit one frame earlier or later
// would sound different).
func TestPatchCommitAtFrame(t *testing.T) {
	const at = 4800 + testRate/2
	g := oscGraph(t, 1000)
	script := func(commit uint64) []proto.Command {
		b, err := GraphCommands(&g, 2, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range b {
			b[i].Frame, b[i].Flags = commit, proto.FlagAbsolute
		}
		// The commit comes first among commands of its frame, as in a
		// bundle that holds it and a note.
		cs := append(b,
			proto.Command{Op: proto.OpNoteOn, Key: 60, Value: 0.8, Frame: at - 1, Flags: proto.FlagAbsolute},
			proto.Command{Op: proto.OpNoteOn, Key: 64, Value: 0.8, Frame: at, Flags: proto.FlagAbsolute},
			proto.Command{Op: proto.OpNoteOff, Key: 60, Frame: at + testRate/4, Flags: proto.FlagAbsolute},
			proto.Command{Op: proto.OpNoteOff, Key: 64, Frame: at + testRate/4, Flags: proto.FlagAbsolute})
		sortStable(cs)
		return cs
	}
	frames := at + testRate/2
	cs := script(at)
	want := patchReference(t, cs, frames, 64)
	for _, d := range []int{-1, 1} {
		if equalSamples(patchReference(t, script(uint64(at+d)), frames, 64), want) {
			t.Fatalf("a commit at %+d frames sounds the same: the test cannot tell", d)
		}
	}
	h := startHarness(t, Config{}, 128, 2)
	h.feed(cs, nil)
	compare(t, h.waitFrames(frames), want)
	if st := h.e.Stats(); st.LateCommands != 0 || st.Underruns != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestPatchGraphsSurviveColdRestart: graphs committed into two slots, a
// channel sent back to its preset and a program bound to a slot; then
// both playing workers are SIGKILLed, so two fresh ones start from
// scratch. They start with the graphs, the selections and the binding:
// notes played after the restart are, sample for sample, those of a fresh
// synth given the patch commands first, and not those of one without.
func TestPatchGraphsSurviveColdRestart(t *testing.T) {
	h := startHarness(t, Config{}, 128, 6)
	h.waitRedundant(0)
	pluck := shippedGraphs(t)["patches/echo-pluck.toml"]
	sine := oscGraph(t, 1000)
	b1 := ticketed(t, &pluck, 0, 0, 0)
	h.send(b1...)
	if err := h.e.ConfirmCommit(b1, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	keep := []proto.Command{
		{Op: proto.OpPatchSelect, Channel: 0, Value: 1}, // channel 0 back to its preset
		{Op: proto.OpPatchProgram, Key: 5, Value: 1},    // program 5 plays slot 0
	}
	h.send(keep...)
	h.e.KeepPatch(keep...)
	b2 := ticketed(t, &sine, 2, 1, 0)
	h.send(b2...)
	if err := h.e.ConfirmCommit(b2, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	a, b := h.activePID(), h.standbyPID()
	kill(h, a, syscall.SIGKILL)
	kill(h, b, syscall.SIGKILL)
	base := h.waitColdRestart(t)
	played, _ := h.e.PlayPosition()
	at := played + testRate/2
	var notes []proto.Command
	add := func(frame uint64, c proto.Command) {
		c.Frame, c.Flags = frame, proto.FlagAbsolute
		notes = append(notes, c)
	}
	add(at, proto.Command{Op: proto.OpNoteOn, Channel: 1, Key: 60, Value: 0.7})     // slot 2: the sine
	add(at+100, proto.Command{Op: proto.OpNoteOn, Channel: 0, Key: 64, Value: 0.7}) // the preset
	add(at+200, proto.Command{Op: proto.OpProgram, Channel: 2, Key: 5})             // slot 0 through the binding
	add(at+300, proto.Command{Op: proto.OpNoteOn, Channel: 2, Key: 67, Value: 0.7}) // the pluck
	for ch, key := range []uint8{64, 60, 67} {
		add(at+testRate/3, proto.Command{Op: proto.OpNoteOff, Channel: uint8(ch), Key: key})
	}
	h.feed(notes, nil)
	frames := int(at) + testRate
	got := h.waitFrames(frames)
	rel := func(patch []proto.Command) []float32 { return freshReference(t, patch, notes, base, frames) }
	var patch []proto.Command
	patch = append(append(append(patch, b1...), keep...), b2...)
	want := rel(patch)
	if equalSamples(rel(nil)[2*(int(at-base)):], want[2*(int(at-base)):]) {
		t.Fatal("the patches change nothing in the reference")
	}
	from := int(at) - 1000 // the fresh workers have played for a while
	compare(t, got[2*from:2*frames], want[2*(from-int(base)):])
	if st := h.e.Stats(); st.ColdStarts != 1 || st.Mismatches != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// freshReference renders what fresh workers of a cold restart play up to
// frame frames: a synth counting from engine frame base, given the patch
// commands first (as the engine restores them) and then notes, whose
// frames are engine frames.
func freshReference(t testing.TB, patch, notes []proto.Command, base uint64, frames int) []float32 {
	t.Helper()
	var cs []proto.Command
	for _, c := range patch {
		c.Frame, c.Flags = 0, proto.FlagAbsolute
		cs = append(cs, c)
	}
	for _, c := range notes {
		c.Frame -= base
		cs = append(cs, c)
	}
	return patchReference(t, cs, frames-int(base), 64)
}
