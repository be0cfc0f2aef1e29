package engine

import (
	"math/rand"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/dsp"
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
	s, err := dsp.New(dsp.Config{SampleRate: testRate, Voices: 64, BendRange: 2})
	if err != nil {
		t.Fatal(err)
	}
	var pt paramTable
	out := make([]float32, 0, 2*frames)
	l, r := make([]float32, bf), make([]float32, bf)
	next := 0
	for b := 0; len(out) < 2*frames; b++ {
		end := uint64((b+1)*bf + s.Latency())
		for next < len(cs) && cs[next].Frame < end {
			c := cs[next]
			if ev, ok := pt.event(&c); ok {
				s.Schedule(ev)
			}
			next++
		}
		s.Render(l, r)
		for i := range l {
			out = append(out, l[i], r[i])
		}
	}
	return out[:2*frames]
}

type harness struct {
	t    *testing.T
	e    *Engine
	out  device.Output
	mu   sync.Mutex
	got  []float32
	stop chan struct{}
	done sync.WaitGroup
}

func testLogger(t testing.TB) zerolog.Logger {
	if testing.Verbose() {
		return zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	return zerolog.Nop()
}

func startHarness(t *testing.T, cfg Config, period int) *harness {
	t.Helper()
	cfg.SampleRate = testRate
	cfg.WorkerCommand = testWorkerCommand
	cfg.Log = testLogger(t)
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	// Preallocated: growing it would make garbage in the process that runs
	// the callback, and GC pauses there are what a test should not measure.
	h := &harness{t: t, e: e, stop: make(chan struct{}), got: make([]float32, 0, 2*testRate*20)}
	e.Tap().Enable(true)
	out, err := device.OpenNull(device.Config{Backend: device.Null, SampleRate: testRate, FramesPerBuffer: period, Realtime: sched.DevicePriority}, e)
	if err != nil {
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

// feed sends each command about 150 ms before its frame plays, the way a
// sequencer or a timetagged OSC bundle would, and returns when all are sent.
func (h *harness) feed(cs []proto.Command, during func(frame uint64)) {
	for i := 0; i < len(cs); {
		played, _ := h.e.PlayPosition()
		for i < len(cs) && cs[i].Frame < played+7200 {
			if err := h.e.Send(cs[i]); err != nil {
				h.t.Fatalf("send: %v", err)
			}
			i++
		}
		if during != nil {
			during(played)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitFrames waits until the tap captured at least n frames.
func (h *harness) waitFrames(n int) []float32 {
	deadline := time.Now().Add(30 * time.Second)
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

// waitRespawns waits until n respawns completed.
func (h *harness) waitRespawns(n uint64, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for h.e.Stats().Respawns < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("fewer than %d respawns after %v: %+v", n, timeout, h.e.Stats())
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

func compare(t *testing.T, got, want []float32) {
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
	h := startHarness(t, Config{}, 128)
	h.feed(cs, nil)
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	got := h.waitFrames(frames)
	compare(t, got, reference(t, cs, frames, 64))
	if st := h.e.Stats(); st.Underruns != 0 || st.Mismatches != 0 || st.LateCommands != 0 {
		t.Fatalf("stats %+v", st)
	}
}

type fault struct {
	name   string
	inject func(h *harness)
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
		{"sigkill-active", func(h *harness) { kill(h, h.activePID(), syscall.SIGKILL) }},
		{"sigstop-active", func(h *harness) { kill(h, h.activePID(), syscall.SIGSTOP) }},
		{"sigkill-standby", func(h *harness) { kill(h, h.standbyPID(), syscall.SIGKILL) }},
		{"kill-both-in-turn", func(h *harness) {
			first := h.activePID()
			kill(h, first, syscall.SIGKILL)
			h.waitRespawns(1, 2*time.Second)
			second := h.activePID()
			if second == first {
				h.t.Fatal("the killed worker is still active after a respawn")
			}
			kill(h, second, syscall.SIGKILL)
		}},
		{"panic", func(h *harness) { h.e.slots[h.e.pubActive.Load()].Load().reg.u64(offCrash).Store(1) }},
		{"segfault-in-cgo", func(h *harness) { h.e.slots[h.e.pubActive.Load()].Load().reg.u64(offCrash).Store(2) }},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			cs := script(2, 2)
			h := startHarness(t, Config{}, 128)
			done := false
			h.feed(cs, func(played uint64) {
				if !done && played > testRate*3/4 {
					done = true
					f.inject(h)
				}
			})
			frames := int(cs[len(cs)-1].Frame) + testRate/2
			got := h.waitFrames(frames)
			compare(t, got, reference(t, cs, frames, 64))
			st := h.e.Stats()
			if st.Underruns != 0 {
				t.Fatalf("underruns: %+v", st)
			}
			h.waitStandby(3 * time.Second)
			t.Logf("stats after %s: %+v", f.name, h.e.Stats())
		})
	}
}

func TestHundredKills(t *testing.T) {
	cs := script(8, 3)
	h := startHarness(t, Config{MaxRestarts: 1000}, 128)
	rng := rand.New(rand.NewSource(4))
	kills, prev := 0, 0
	last := time.Now()
	h.feed(cs, func(played uint64) {
		// Kill only once the previous kill is fully repaired: two kills
		// within one respawn leave nothing to play, by design.
		if kills < 100 && played > testRate/2 && time.Since(last) > 40*time.Millisecond && h.redundant(prev) {
			pid := h.standbyPID()
			if rng.Intn(2) == 0 {
				pid = h.activePID()
			}
			if pid != 0 && syscall.Kill(pid, syscall.SIGKILL) == nil {
				kills++
				prev = pid
				last = time.Now()
			}
		}
	})
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	got := h.waitFrames(frames)
	st := h.e.Stats()
	t.Logf("%d kills: %+v", kills, st)
	compare(t, got, reference(t, cs, frames, 64))
	if kills < 100 {
		t.Fatalf("only %d kills happened in the script's time", kills)
	}
	if st.Underruns != 0 {
		t.Fatalf("underruns: %+v", st)
	}
}
