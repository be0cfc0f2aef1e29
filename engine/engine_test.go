package engine

import (
	"math/rand"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/engine/device"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/engine/sched"
)

const testRate = 48000

// script is a deterministic performance: held notes, sustain pedal, bends,
// controller moves and parameter sets on several channels, every command at
// an absolute frame.
func script(seconds float64, seed int64) []proto.Command {
	rng := rand.New(rand.NewSource(seed))
	var cs []proto.Command
	add := func(frame uint64, c proto.Command) {
		c.Frame = frame + 4800 // leave the first 100 ms for start-up
		c.Flags = proto.FlagAbsolute
		cs = append(cs, c)
	}
	total := uint64(seconds * testRate)
	add(0, proto.Command{Op: proto.OpControl, Channel: 0, Key: 64, Value: 1}) // sustain down
	for f := uint64(0); f < total; f += uint64(2000 + rng.Intn(6000)) {
		ch := uint8(rng.Intn(4))
		key := uint8(40 + rng.Intn(40))
		add(f+uint64(rng.Intn(64)), proto.Command{Op: proto.OpNoteOn, Channel: ch, Key: key, Value: 0.3 + 0.7*rng.Float64()})
		add(f+uint64(3000+rng.Intn(9000)), proto.Command{Op: proto.OpNoteOff, Channel: ch, Key: key})
		if rng.Intn(3) == 0 {
			add(f+uint64(rng.Intn(2000)), proto.Command{Op: proto.OpPitchBend, Channel: ch, Value: rng.Float64()*2 - 1})
		}
		if rng.Intn(3) == 0 {
			add(f+uint64(rng.Intn(2000)), proto.Command{Op: proto.OpControl, Channel: ch, Key: 74, Value: rng.Float64()})
		}
		if rng.Intn(5) == 0 {
			c := proto.Command{Op: proto.OpSet, Channel: ch, Value: 200 + 4000*rng.Float64()}
			c.SetModule("filter")
			c.SetParam("cutoff")
			add(f+uint64(rng.Intn(2000)), c)
		}
	}
	add(total/2, proto.Command{Op: proto.OpControl, Channel: 0, Key: 64, Value: 0}) // sustain up
	// Stable sort by frame keeps equal-frame commands in script order.
	sortStable(cs)
	return cs
}

func sortStable(cs []proto.Command) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].Frame < cs[j-1].Frame; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// reference renders the script in-process, block by block, the way a worker
// applies it.
func reference(t testing.TB, cs []proto.Command, frames int, bf int) []float32 {
	t.Helper()
	out, err := Reference(Config{SampleRate: testRate, BlockFrames: bf}, cs, frames)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

type harness struct {
	t    testing.TB
	e    *Engine
	out  device.Output
	mu   sync.Mutex
	got  []float32
	stop chan struct{}
	done sync.WaitGroup
	// resources the parent held before a leak check (hundredKills).
	resources resources
}

func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

// startHarness starts an engine on the null device with a capture of its
// tap; seconds sizes the capture. before runs between New and Start.
func startHarness(t testing.TB, cfg Config, period int, seconds float64, before ...func(*Engine)) *harness {
	t.Helper()
	return startHarnessOn(t, cfg, func(e *Engine) (device.Output, error) {
		if _, isTest := t.(*testing.T); isTest && os.Getenv("CHRONUS_STRICT_ENGINE") == "" {
			return newPatientOutput(e, period), nil // see patientOutput
		}
		return device.OpenNull(device.Config{Backend: device.Null, SampleRate: testRate, FramesPerBuffer: period, Realtime: sched.DevicePriority, Strict: true}, e)
	}, seconds, before...)
}

// startHarnessOn is startHarness on the output that open returns.
func startHarnessOn(t testing.TB, cfg Config, open func(*Engine) (device.Output, error), seconds float64, before ...func(*Engine)) *harness {
	t.Helper()
	cfg.SampleRate = testRate
	cfg.WorkerCommand = testWorkerCommand
	cfg.Log = testLogger(t)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range before {
		f(e)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	// Preallocated: growing it would make garbage in the process that runs
	// the callback, and GC pauses there are what a test should not measure.
	h := &harness{t: t, e: e, stop: make(chan struct{}), got: make([]float32, 0, int(2*testRate*(seconds+2)))}
	e.Tap().Enable(true)
	out, err := open(e)
	if err != nil {
		e.Close()
		t.Fatal(err)
	}
	h.out = out
	h.done.Add(1)
	go h.capture()
	if err := out.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}

func (h *harness) capture() {
	defer h.done.Done()
	buf := make([]float32, 8192)
	for {
		n := h.e.Tap().Read(buf)
		if n > 0 {
			h.mu.Lock()
			h.got = append(h.got, buf[:2*n]...)
			h.mu.Unlock()
			continue
		}
		select {
		case <-h.stop:
			return
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (h *harness) close() {
	select {
	case <-h.stop:
		return
	default:
	}
	h.out.Close()
	close(h.stop)
	h.done.Wait()
	h.e.Close()
}

// feed sends each command about a second before its frame plays, the way a
// sequencer or a timetagged OSC bundle would, and returns when all are sent.
// A second is far more than the engine needs; it keeps a test that is
// starved of CPU for a while from sending commands too late to honour.
func (h *harness) feed(cs []proto.Command, during func(frame uint64)) {
	h.feedUntil(cs, func(played uint64) bool {
		if during != nil {
			during(played)
		}
		return false
	})
}

// feedUntil is feed that stops early when during returns true. It returns
// how many commands it sent and the frame played when it stopped.
func (h *harness) feedUntil(cs []proto.Command, during func(frame uint64) bool) (sent int, played uint64) {
	for {
		played, _ = h.e.PlayPosition()
		for sent < len(cs) && cs[sent].Frame < played+feedAhead {
			if err := h.e.Send(cs[sent]); err != nil {
				h.t.Fatalf("send: %v", err)
			}
			sent++
		}
		if sent == len(cs) || during(played) {
			return sent, played
		}
		time.Sleep(time.Millisecond)
	}
}

// feedAhead is how far ahead of the play position commands are sent.
const feedAhead = testRate

// waitFrames waits until the tap captured at least n frames.
func (h *harness) waitFrames(n int) []float32 {
	deadline := time.Now().Add(time.Duration(n)*time.Second/testRate + 60*time.Second)
	for {
		h.mu.Lock()
		got := len(h.got) / 2
		h.mu.Unlock()
		if got >= n {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("captured %d frames, want %d", got, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]float32(nil), h.got[:2*n]...)
}

func (h *harness) activePID() int {
	a := h.e.pubActive.Load()
	if a < 0 {
		return 0
	}
	if w := h.e.slots[a].Load(); w != nil {
		return w.pid
	}
	return 0
}

func (h *harness) standbyPID() int {
	b := h.e.pubStandby.Load()
	if b < 0 {
		return 0
	}
	if w := h.e.slots[b].Load(); w != nil {
		return w.pid
	}
	return 0
}

// waitStandby waits until a standby is in sync again.
func (h *harness) waitStandby(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for h.e.pubStandby.Load() < 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("no standby in sync after %v: %+v", timeout, h.e.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// waitRedundant waits until the engine recovered from the kill of prev.
func (h *harness) waitRedundant(prev int) {
	deadline := time.Now().Add(30 * time.Second)
	for !h.redundant(prev) {
		if time.Now().After(deadline) {
			h.t.Fatalf("the engine did not recover from the loss of %d: %+v", prev, h.e.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}

// alive reports whether pid exists (a zombie counts until it is reaped).
func alive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// redundant reports whether the engine has recovered from the kill of
// prev: prev is reaped, and an active and a standby other than prev play.
// Killing either worker then costs no sample.
func (h *harness) redundant(prev int) bool {
	a, b := h.activePID(), h.standbyPID()
	return a != 0 && b != 0 && a != prev && b != prev && !alive(prev) && alive(a) && alive(b)
}

func compare(t testing.TB, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output differs from the reference at frame %d (%s): got %v want %v",
				i/2, [2]string{"left", "right"}[i%2], got[i], want[i])
		}
	}
	var energy float64
	for _, x := range want {
		energy += float64(x) * float64(x)
	}
	if energy == 0 {
		t.Fatal("the reference is silent: the script played nothing")
	}
}

func TestLockstepMatchesReference(t *testing.T) {
	cs := script(2, 1)
	h := startHarness(t, Config{}, 128, 3)
	h.feed(cs, nil)
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	got := h.waitFrames(frames)
	compare(t, got, reference(t, cs, frames, 64))
	if st := h.e.Stats(); st.Underruns != 0 || st.Mismatches != 0 || st.LateCommands != 0 {
		t.Fatalf("stats %+v", st)
	}
}

type fault struct {
	name     string
	inject   func(h *harness)
	wantHang bool // only the heartbeat can reveal it
}

func kill(h *harness, pid int, sig syscall.Signal) {
	if pid == 0 {
		h.t.Fatal("no worker to signal")
	}
	if err := syscall.Kill(pid, sig); err != nil {
		h.t.Fatal(err)
	}
}

func TestFailoverLosesNoSample(t *testing.T) {
	faults := []fault{
		{"sigkill-active", func(h *harness) { kill(h, h.activePID(), syscall.SIGKILL) }, false},
		{"sigstop-active", func(h *harness) { kill(h, h.activePID(), syscall.SIGSTOP) }, false},
		{"sigkill-standby", func(h *harness) { kill(h, h.standbyPID(), syscall.SIGKILL) }, false},
		{"sigstop-standby", func(h *harness) { kill(h, h.standbyPID(), syscall.SIGSTOP) }, true},
		{"spin-standby", func(h *harness) { h.e.slots[h.e.pubStandby.Load()].Load().reg.u64(offCrash).Store(3) }, true},
		{"kill-both-in-turn", func(h *harness) {
			first := h.activePID()
			kill(h, first, syscall.SIGKILL)
			h.waitRedundant(first)
			second := h.activePID()
			if second == first {
				h.t.Fatal("the killed worker is still active after a respawn")
			}
			kill(h, second, syscall.SIGKILL)
		}, false},
		{"panic", func(h *harness) { h.e.slots[h.e.pubActive.Load()].Load().reg.u64(offCrash).Store(1) }, false},
		{"segfault-in-cgo", func(h *harness) { h.e.slots[h.e.pubActive.Load()].Load().reg.u64(offCrash).Store(2) }, false},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			cs := script(2, 2)
			h := startHarness(t, Config{}, 128, 3)
			done := false
			h.feed(cs, func(played uint64) {
				if !done && played > testRate*3/4 && h.redundant(0) {
					done = true
					f.inject(h)
				}
			})
			if !done {
				t.Fatal("the engine never had two workers in sync to inject the fault into")
			}
			frames := int(cs[len(cs)-1].Frame) + testRate/2
			got := h.waitFrames(frames)
			compare(t, got, reference(t, cs, frames, 64))
			st := h.e.Stats()
			if st.Underruns != 0 || st.Mismatches != 0 || st.LateCommands != 0 {
				t.Fatalf("stats %+v", st)
			}
			h.waitStandby(30 * time.Second)
			if f.wantHang && h.e.Stats().Hangs == 0 {
				t.Fatalf("the hung standby was not detected as hung: %+v", h.e.Stats())
			}
			t.Logf("stats after %s: %+v", f.name, h.e.Stats())
		})
	}
}

// TestHundredKills kills 100 random workers (active or standby) under a
// steady command load, each once the engine recovered from the one before,
// and checks the output sample for sample, and that every resource the
// respawns used was returned.
func TestHundredKills(t *testing.T) {
	const kills = 100
	h, st, got, want := hundredKills(t, kills)
	t.Logf("%d kills: %+v", kills, st)
	compare(t, got, want)
	if st.Underruns != 0 || st.Mismatches != 0 || st.LateCommands != 0 || st.ColdStarts != 0 {
		t.Fatalf("stats %+v", st)
	}
	if st.Respawns < kills {
		t.Fatalf("%d respawns after %d kills", st.Respawns, kills)
	}
	// Every resource of the dead workers is returned once the engine is
	// back to three workers and the reaping finished.
	h.waitWorkers(3)
	h.e.reaping.Wait()
	// A goroutine that reported a death may still be on its way out: a
	// leak is what is still there after a few seconds.
	after := takeResources(t)
	for deadline := time.Now().Add(5 * time.Second); after != h.resources && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		after = takeResources(t)
	}
	if after != h.resources {
		t.Fatalf("resources after %d respawns %+v, before %+v", st.Respawns, after, h.resources)
	}
}

// BenchmarkHundredKills is TestHundredKills on the strictly real-time null
// device at the default lead: a block that is late is an underrun, as it
// would be on a sound card. It reports the underruns and the samples that
// differ from the reference render over 100 random kills of the active or
// the standby worker (goal 0 for both).
func BenchmarkHundredKills(b *testing.B) {
	const kills = 100
	for range b.N {
		h, st, got, want := hundredKills(b, kills)
		h.close()
		lost := 0
		for i := range want {
			if got[i] != want[i] {
				lost++
			}
		}
		b.ReportMetric(float64(st.Underruns), "underruns")
		b.ReportMetric(float64(lost), "differing-samples")
		b.ReportMetric(float64(st.Respawns), "respawns")
		b.ReportMetric(float64(st.CallbackMax.Microseconds()), "callback-max-µs")
	}
}

// hundredKills SIGKILLs the active or the standby worker at random, kills
// times under a steady command load, each kill once the engine has repaired
// the one before, and returns the captured output with the reference.
func hundredKills(t testing.TB, kills int) (h *harness, st Stats, got, want []float32) {
	cs := script(60, 3) // far longer than needed: the feed stops after the kills
	h = startHarness(t, Config{MaxRestarts: 1000}, 128, 60)
	rng := rand.New(rand.NewSource(4))
	h.waitRedundant(0)
	h.waitWorkers(3)
	h.resources = takeResources(t)
	n, prev := 0, 0
	last := time.Now()
	sent, played := h.feedUntil(cs, func(played uint64) bool {
		// Kill only once the previous kill is fully repaired: two kills
		// within one respawn leave nothing to play, by design.
		if n < kills && played > testRate/2 && time.Since(last) > 40*time.Millisecond && h.redundant(prev) {
			pid := h.standbyPID()
			if rng.Intn(2) == 0 {
				pid = h.activePID()
			}
			if pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
				n++
				prev = pid
				last = time.Now()
			}
		}
		return n == kills && h.redundant(prev)
	})
	if n < kills {
		t.Fatalf("only %d kills happened in the script's %d s", n, len(cs))
	}
	frames := int(played) + testRate/2
	got = h.waitFrames(frames)
	return h, h.e.Stats(), got, reference(t, cs[:sent], frames, 64)
}

// waitWorkers waits until the engine runs n worker processes (spare
// included) and none is starting.
func (h *harness) waitWorkers(n int) {
	deadline := time.Now().Add(30 * time.Second)
	for {
		ready := 0
		for i := range h.e.slots {
			if w := h.e.slots[i].Load(); w != nil && alive(w.pid) {
				ready++
			}
		}
		if ready == n && h.e.Stats().Workers == n {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("the engine runs %d workers, want %d: %+v", ready, n, h.e.Stats())
		}
		time.Sleep(time.Millisecond)
	}
}
