package engine

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/engine/device"
	"github.com/chronus-audio/chronus/engine/proto"
)

// runTestParent is the body of the test binary in parent mode: it starts an
// engine on the null device, prints "pids" and the worker pids once three
// workers run, then waits. Mode "raw" leaves SIGTERM to its default action
// (the process dies at once, like SIGKILL but catchable); mode "graceful"
// stops the device and the engine on SIGTERM and exits 0, as `chronus run`
// does.
func runTestParent(mode string) int {
	stop := make(chan os.Signal, 1)
	if mode == "graceful" {
		signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	}
	e, err := New(Config{SampleRate: testRate, WorkerCommand: testWorkerCommand, Log: zerolog.Nop()})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	if err := e.Start(); err != nil {
		fmt.Println("error", err)
		return 1
	}
	out, _ := device.OpenNull(device.Config{SampleRate: testRate}, e)
	if err := out.Start(); err != nil {
		fmt.Println("error", err)
		return 1
	}
	for e.Stats().Workers < 3 || e.pubStandby.Load() < 0 {
		time.Sleep(time.Millisecond)
	}
	var pids []string
	for i := range e.slots {
		if w := e.slots[i].Load(); w != nil {
			pids = append(pids, strconv.Itoa(w.pid))
		}
	}
	fmt.Println("pids", strings.Join(pids, " "))
	<-stop
	out.Close()
	e.Close()
	return 0
}

// proc identifies a process by pid and start time, so a reused pid is never
// mistaken for the process we watched.
type proc struct {
	pid   int
	start string
}

func procStat(pid int) (state byte, start string, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, "", false
	}
	i := bytes.LastIndexByte(b, ')')
	f := strings.Fields(string(b[i+2:]))
	// After the command: state is field 3 of stat, starttime field 22.
	return f[0][0], f[19], true
}

func watch(t *testing.T, pid int) proc {
	t.Helper()
	_, start, ok := procStat(pid)
	if !ok {
		t.Fatalf("worker %d is not running", pid)
	}
	return proc{pid, start}
}

// gone reports whether the process ended (a zombie has ended: only its
// parent's bookkeeping is left).
func (p proc) gone() bool {
	state, start, ok := procStat(p.pid)
	return !ok || start != p.start || state == 'Z' || state == 'X'
}

// startParent runs the test binary as an engine parent and returns it with
// the pids of its workers.
func startParent(t *testing.T, mode string) (*exec.Cmd, []proc) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CHRONUS_TEST_PARENT="+mode)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "pids ") {
		t.Fatalf("parent said %q (%v)", line, err)
	}
	var ws []proc
	for _, f := range strings.Fields(line)[1:] {
		pid, _ := strconv.Atoi(f)
		ws = append(ws, watch(t, pid))
	}
	if len(ws) != 3 {
		t.Fatalf("parent reported %d workers, want 3 (active, standby, spare)", len(ws))
	}
	return cmd, ws
}

// waitGone waits (generously: only the outcome is asserted) until every
// worker ended.
func waitGone(t *testing.T, ws []proc) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var left []int
		for _, w := range ws {
			if !w.gone() {
				left = append(left, w.pid)
			}
		}
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workers %v outlived their parent", left)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNoWorkerOutlivesItsParent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mode   string
		sig    syscall.Signal
		status int // exit status of the parent; -1: killed by the signal
	}{
		{"sigkill", "raw", syscall.SIGKILL, -1},
		{"sigterm-unhandled", "raw", syscall.SIGTERM, -1},
		{"sigterm-graceful", "graceful", syscall.SIGTERM, 0},
		{"sigint-graceful", "graceful", syscall.SIGINT, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, ws := startParent(t, tc.mode)
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			if got := cmd.ProcessState.ExitCode(); got != tc.status {
				t.Fatalf("parent exit status %d (%v), want %d", got, cmd.ProcessState, tc.status)
			}
			waitGone(t, ws)
		})
	}
}

// resources are the parent's holdings that respawns must not leak.
type resources struct {
	FDs, Memfds, MemfdMaps, Goroutines int
}

func takeResources(t testing.TB) resources {
	t.Helper()
	var r resources
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		r.FDs++
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "/memfd:") {
			r.Memfds++
		}
	}
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	r.MemfdMaps = bytes.Count(maps, []byte("/memfd:chronus-"))
	r.Goroutines = runtime.NumGoroutine()
	return r
}

// TestCrashLoopGivesUp: every new worker crashes before it can play. The
// engine must retry with back-off, give up after MaxFailedStarts, say so,
// and keep playing on the healthy worker without losing a sample.
func TestCrashLoopGivesUp(t *testing.T) {
	const limit = 4
	cs := script(3, 5)
	h := startHarness(t, Config{RestartBackoff: 10 * time.Millisecond, MaxFailedStarts: limit}, 128, 4,
		func(e *Engine) { e.crashJoiners = 1 })
	killed := false
	h.feed(cs, func(played uint64) {
		if !killed && played > testRate/2 && h.redundant(0) {
			kill(h, h.standbyPID(), syscall.SIGKILL)
			killed = true
		}
	})
	if !killed {
		t.Fatal("the standby was never in sync")
	}
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	got := h.waitFrames(frames)
	compare(t, got, reference(t, cs, frames, 64))
	deadline := time.Now().Add(30 * time.Second)
	for !h.e.Stats().Degraded {
		if time.Now().After(deadline) {
			t.Fatalf("the engine never gave up: %+v", h.e.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.waitWorkers(1)
	st := h.e.Stats()
	if st.FailedStarts != limit || st.Respawns != 0 || st.Underruns != 0 || st.Standby != "" || st.Active == "" {
		t.Fatalf("after giving up: %+v", st)
	}
	// Gave up for good: no new worker appears.
	time.Sleep(200 * time.Millisecond)
	if st := h.e.Stats(); st.Workers != 1 || st.FailedStarts != limit {
		t.Fatalf("the engine kept starting workers after giving up: %+v", st)
	}
}

// TestBothWorkersLost kills the active and the standby at once. Nothing is
// left to copy from, so the output goes silent (counted as underruns) until
// two fresh workers start from scratch; from then on their output must be
// exactly a fresh synth's, fed the commands still in the future.
func TestBothWorkersLost(t *testing.T) {
	cs := script(4, 6)
	h := startHarness(t, Config{}, 128, 5)
	killed := false
	h.feed(cs, func(played uint64) {
		if !killed && played > testRate && h.redundant(0) {
			a, b := h.activePID(), h.standbyPID()
			kill(h, a, syscall.SIGKILL)
			kill(h, b, syscall.SIGKILL)
			killed = true
		}
	})
	if !killed {
		t.Fatal("the engine never had two workers in sync")
	}
	base := h.waitColdRestart(t)
	frames := int(cs[len(cs)-1].Frame) + testRate/2
	got := h.waitFrames(frames)
	st := h.e.Stats()
	if st.Underruns == 0 || st.Mismatches != 0 || st.ColdStarts != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The fresh synths count from base and got every command at or after it.
	var fresh []proto.Command
	for _, c := range cs {
		if c.Frame >= base {
			c.Frame -= base
			fresh = append(fresh, c)
		}
	}
	want := reference(t, fresh, frames-int(base), 64)
	// Compare from the first frame after the silence.
	from := int(base)
	for from < frames && got[2*from] == 0 && got[2*from+1] == 0 {
		from++
	}
	t.Logf("base %d, output from %d, last underrun at %d: %+v", base, from, h.e.stats.underrunFrame.Load(), st)
	if frames-from < testRate {
		t.Fatalf("less than a second of output after the restart (from frame %d)", from)
	}
	compare(t, got[2*from:2*frames], want[2*(from-int(base)):])
}

// waitColdRestart waits until the engine has cold-started fresh workers
// and has a standby again, and returns the frame the fresh synths count
// from: a cold-started worker has it as its start block; one respawned
// since from its snapshot's base.
func (h *harness) waitColdRestart(t *testing.T) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for h.e.Stats().ColdStarts == 0 || h.e.pubStandby.Load() < 0 {
		if time.Now().After(deadline) {
			t.Fatalf("no cold restart: %+v", h.e.Stats())
		}
		time.Sleep(time.Millisecond)
	}
	w := h.e.slots[h.e.pubActive.Load()].Load()
	base := w.reg.u64(offStartBlock).Load() * uint64(w.reg.blockFrames)
	if w.reg.u64(offMode).Load() == modeRestore {
		base = w.reg.u64(offSnapBase).Load()
	}
	return base
}

// TestStandbyLostAfterColdRestart: both workers are killed while a phrase
// plays, so fresh workers start and skip the commands already in the
// past; then the standby is killed before any new command arrives. Its
// replacement copies the active's snapshot and must skip the same
// commands, not replay them: it joins once, the two agree block for block,
// and notes played afterwards sound as on a fresh synth.
func TestStandbyLostAfterColdRestart(t *testing.T) {
	cs := script(2, 8)
	h := startHarness(t, Config{}, 128, 6)
	h.waitRedundant(0)
	h.feed(cs, nil) // the whole phrase is in the history
	h.waitFrames(int(cs[len(cs)-1].Frame) + 4800)
	a, b := h.activePID(), h.standbyPID()
	kill(h, a, syscall.SIGKILL)
	kill(h, b, syscall.SIGKILL)
	base := h.waitColdRestart(t)
	sb := h.standbyPID()
	kill(h, sb, syscall.SIGKILL)
	h.waitRedundant(sb)
	played, _ := h.e.PlayPosition()
	at := played + testRate/4
	notes := []proto.Command{
		{Op: proto.OpNoteOn, Channel: 0, Key: 60, Value: 0.8, Frame: at, Flags: proto.FlagAbsolute},
		{Op: proto.OpNoteOff, Channel: 0, Key: 60, Frame: at + testRate/4, Flags: proto.FlagAbsolute},
	}
	h.feed(notes, nil)
	frames := int(at) + testRate/2
	got := h.waitFrames(frames)
	time.Sleep(50 * time.Millisecond) // the supervisor compares the last blocks
	if st := h.e.Stats(); st.Mismatches != 0 || st.ColdStarts != 1 {
		t.Fatalf("stats %+v", st)
	}
	rel := make([]proto.Command, len(notes))
	for i, c := range notes {
		c.Frame -= base
		rel[i] = c
	}
	want := reference(t, rel, frames-int(base), 64)
	compare(t, got[2*int(at):2*frames], want[2*(int(at)-int(base)):])
}
