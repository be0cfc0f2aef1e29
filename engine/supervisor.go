package engine

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/engine/sched"
)

// workerProc is the engine's view of one worker process.
type workerProc struct {
	name     string
	reg      *region
	cmd      *exec.Cmd
	pid      int
	lifeline *os.File // write end; closing it ends the worker
	exited   chan struct{}
	watched  chan struct{} // closed when deathWatch stopped reading the region
	exitErr  error
	slot     int32
	log      zerolog.Logger
	spawned  time.Time
}

type supEventKind uint8

const (
	evExit   supEventKind = iota + 1 // the process was reaped (cmd.Wait returned)
	evDied                           // its render thread ended (deathWatch)
	evCommit                         // ConfirmCommit waits for an outcome (patchcmds.go)
	evKeep                           // KeepPatch (patchcmds.go)
)

type supEvent struct {
	kind   supEventKind
	w      *workerProc
	at     int64 // monoNow when noticed
	commit *commitWait
	keep   []proto.Command
}

// spawn starts a worker process in slot with a fresh region, in mode; a
// modeRun worker starts at block start, with the commands pre (encoded
// as they are) first in its command ring. Supervisor (or Start) only.
func (e *Engine) spawn(slot int32, mode, start uint64, pre []proto.Command) (*workerProc, error) {
	n := e.names.Add(1)
	name := fmt.Sprintf("worker-%c", 'a'+rune((n-1)%26))
	reg, err := newRegion("chronus-"+name, e.cfg.BlockFrames, dsp.Config{
		SampleRate: e.cfg.SampleRate, Voices: e.cfg.Voices, BendRange: e.cfg.BendRange})
	if err != nil {
		return nil, err
	}
	if mode == modeRun {
		reg.snapshot().CopyFrom(e.initial)
		// Before the process exists, so before anything else writes
		// the ring: the worker reads these before its first block.
		for i := range pre {
			pre[i].Encode(reg.cmdSlot(uint64(i)))
		}
		reg.u64(offCmdHead).Store(uint64(len(pre)))
	}
	reg.u64(offMode).Store(mode)
	reg.u64(offStartBlock).Store(start)
	reg.u64(offAllowed).Store(e.pubAllowed.Load())
	pr, pw, err := os.Pipe()
	if err != nil {
		reg.close()
		return nil, fmt.Errorf("engine: lifeline pipe: %w", err)
	}
	cmd := e.cfg.WorkerCommand()
	cmd.ExtraFiles = []*os.File{reg.file, pr}
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if cmd.Env == nil {
		cmd.Env = os.Environ()
	}
	cmd.Env = append(cmd.Env, "CHRONUS_WORKER_NAME="+name)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	w := &workerProc{name: name, reg: reg, cmd: cmd, lifeline: pw, exited: make(chan struct{}), watched: make(chan struct{}), slot: slot, spawned: time.Now()}
	started := make(chan error, 1)
	// Pdeathsig fires when the forking thread exits, so the goroutine that
	// starts the worker locks its thread until the worker is reaped; then
	// it hands the thread back (sched.Release), never destroying it.
	go func() {
		runtime.LockOSThread()
		defer sched.Release()
		// The child inherits this thread's scheduling class, whatever
		// thread Go picked: give it the start-up class, so a busy machine
		// does not stretch a respawn by hundreds of milliseconds (the
		// worker sets its own classes once it runs). This thread then only
		// waits for the child, and notices its death promptly.
		if sched.SetFIFO(sched.StartPriority) != nil {
			_ = sched.SetOther()
		}
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		err := cmd.Wait()
		at := monoNow()
		w.exitErr = err
		close(w.exited)
		select {
		case e.events <- supEvent{kind: evExit, w: w, at: at}:
		case <-e.closed:
		}
	}()
	if err := <-started; err != nil {
		pr.Close()
		pw.Close()
		reg.close()
		return nil, fmt.Errorf("engine: start %s: %w", name, err)
	}
	// From here the region is unmapped only by release, once both the
	// process and deathWatch are done with it.
	pr.Close() // only the worker holds the read end now
	w.pid = cmd.Process.Pid
	w.log = e.cfg.Log.With().Str("role", name).Int("pid", w.pid).Logger()
	e.slots[slot].Store(w)
	go e.deathWatch(w)
	return w, nil
}

// deathWatch waits on the worker's offAlive word and reports the moment its
// render thread ends. The kernel clears the word and wakes this waiter from
// the dying thread's own exit path, microseconds after a SIGKILL, whereas
// the process becomes waitable only once its whole address space is torn
// down (~1 ms for a worker here). cmd.Wait remains the backstop.
func (e *Engine) deathWatch(w *workerProc) {
	defer close(w.watched)
	// A real-time thread, so a busy machine does not delay the notice,
	// back to normal when done.
	runtime.LockOSThread()
	defer sched.Release()
	_ = sched.SetFIFO(sched.StartPriority)
	word := w.reg.u32(offAlive)
	for {
		tid := word.Load()
		select {
		case <-w.exited:
			return // Wait saw it first, or it exited cleanly
		default:
		}
		if tid == 0 {
			if w.reg.u64(offPID).Load() != 0 {
				// The thread registered and ended: it died.
				break
			}
			futexWaitFor(word, 0, int64(2*time.Millisecond)) // still starting
			continue
		}
		futexWaitFor(word, tid, int64(time.Second))
		if word.Load() != 0 {
			continue // spurious wake-up or timeout
		}
		break
	}
	at := monoNow()
	select {
	case e.events <- supEvent{kind: evDied, w: w, at: at}:
	case <-e.closed:
	}
}

// release unmaps w's region once the process is gone and deathWatch
// stopped reading it. Any goroutine, once w left its slot.
func (w *workerProc) release() {
	<-w.exited
	<-w.watched
	w.reg.close()
}

// waitReady waits until the worker mapped its region and wrote its pid.
func (w *workerProc) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for w.reg.u64(offPID).Load() == 0 {
		select {
		case <-w.exited:
			return fmt.Errorf("engine: %s exited while starting: %v", w.name, w.exitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("engine: %s did not start within %v", w.name, timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// waitRendered waits until the worker rendered n blocks.
func (w *workerProc) waitRendered(n uint64, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for w.reg.u64(offNext).Load() < n {
		select {
		case <-w.exited:
			return fmt.Errorf("engine: %s exited while starting: %v", w.name, w.exitErr)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("engine: %s rendered no audio within %v", w.name, timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
	return nil
}

// wake bumps the worker's futex word and wakes it. Any goroutine.
func (w *workerProc) wake() {
	w.reg.u32(offWake).Add(1)
	futexWakeAll(w.reg.u32(offWake))
}

// MinProcs is the GOMAXPROCS that Start raises a smaller setting to. A Go
// thread returning from a system call needs a P to run Go code again; with no
// idle P it waits until some other thread hands one over, and on a busy
// machine those are normal threads that may not run for tens of
// milliseconds. The device's real-time thread (after each sleep) and the
// death sentinels (after each wake-up) must find an idle P instead, so the
// engine keeps more Ps than goroutines that are ever runnable at once.
// Measured here: SIGKILL-to-notice p50 0.17-0.87 ms with GOMAXPROCS=2 (the
// CPUs of this 2-core VM), 0.11-0.13 ms with 8.
const MinProcs = 8

// Start launches two workers (and a spare) and the supervisor, after raising
// GOMAXPROCS to MinProcs if it is lower and giving every thread of the
// process nice sched.HostNice (process-wide; see Config.NoHostNice). Call it once, before
// the device starts calling Render. Normal goroutine.
func (e *Engine) Start() error {
	if e.started {
		return errors.New("engine: already started")
	}
	e.started = true
	if runtime.GOMAXPROCS(0) < MinProcs {
		runtime.GOMAXPROCS(MinProcs)
	}
	// Every thread of this process at the strongest nice value (package
	// sched says why). Without the privilege the engine still plays.
	if !e.cfg.NoHostNice {
		_ = sched.SetProcessNice(sched.HostNice)
	}
	ok := false
	defer func() {
		if !ok {
			close(e.supDone) // no supervisor will run; Close must not wait for it
		}
	}()
	// Let the first workers pre-render up to primeBlocks, so the very first
	// callback, whatever its length, finds its blocks ready.
	e.rt.allowed = primeBlocks
	e.pubAllowed.Store(primeBlocks)
	a, err := e.spawn(0, modeRun, 0, nil)
	if err != nil {
		return err
	}
	b, err := e.spawn(1, modeRun, 0, nil)
	if err != nil {
		e.abort(a)
		return err
	}
	for _, w := range []*workerProc{a, b} {
		if err := w.waitReady(5 * time.Second); err != nil {
			e.abort(a, b)
			return err
		}
	}
	// Wait for the primed blocks too: a worker still paging in its first
	// block when the first callback comes would look late and be replaced.
	for _, w := range []*workerProc{a, b} {
		if err := w.waitRendered(primeBlocks, 5*time.Second); err != nil {
			e.abort(a, b)
			return err
		}
	}
	e.post(ctlMsg{kind: ctlSetRoles, slot: 0, standby: 1})
	e.pubActive.Store(0)
	e.pubStandby.Store(1)
	e.log.Info().Int("worker_a", a.pid).Int("worker_b", b.pid).Int("block_frames", e.cfg.BlockFrames).
		Int("lead_blocks", e.cfg.Lead).Msg("The engine started two workers in lockstep.")
	ok = true
	go e.supervise()
	return nil
}

// abort kills workers that Start launched and frees their slots, when Start
// fails. Start only.
func (e *Engine) abort(ws ...*workerProc) {
	for _, w := range ws {
		e.kill(w)
		e.slots[w.slot].Store(nil)
		w.release()
	}
}

// kill SIGKILLs a worker and releases its lifeline. Supervisor only.
func (e *Engine) kill(w *workerProc) {
	if w == nil {
		return
	}
	_ = w.cmd.Process.Kill()
	w.lifeline.Close()
}

// retire removes w from its slot once the audio thread has let go of it; its
// region is unmapped when the process is gone. Supervisor only.
func (e *Engine) retire(w *workerProc) {
	if e.slots[w.slot].Load() != w {
		return
	}
	e.post(ctlMsg{kind: ctlDetach, slot: w.slot})
	if !e.waitAck(time.Second) {
		// The audio thread is stopped; nothing reads the region.
	}
	e.slots[w.slot].Store(nil)
	e.suspect[w.slot].Store(false)
	// A callback that loaded the pointer before the Store may still be
	// reading: one more acknowledged round trip guarantees it finished.
	e.post(ctlMsg{kind: ctlDetach, slot: w.slot})
	e.waitAck(time.Second)
	w.lifeline.Close()
	// A killed process may take a while to die (its CPU may be stalled):
	// wait for it off the supervisor's loop.
	e.reaping.Add(1)
	go func() {
		defer e.reaping.Done()
		w.release()
	}()
}

// supervisor state, owned by the supervise goroutine.
type supState struct {
	spare    *workerProc
	joining  *workerProc
	joinFrom uint64 // first block the joiner renders
	joinReq  uint64 // snapshot request number
	snapSrc  *workerProc
	cold     [2]*workerProc // fresh workers of a cold restart, not playing yet
	coldAt   time.Time      // when the cold restart spawned them
	failAt   int64          // monoNow of the failure being repaired
	restarts []time.Time
	gaveUp   bool
	// failedStarts counts new workers in a row that failed before they
	// played; nextTry is when the next may start (back-off).
	failedStarts int
	nextTry      time.Time
	lastCmp      [maxWorkers]uint64
	probe        [maxWorkers]hangProbe
	// commits wait for their outcome; kept is what a cold restart
	// restores (patchcmds.go).
	commits []*commitWait
	kept    patchJournal
}

// starting reports whether w is a new worker that has not played yet.
func (s *supState) starting(w *workerProc) bool {
	return w != nil && (w == s.spare || w == s.joining || w == s.cold[0] || w == s.cold[1])
}

func (e *Engine) supervise() {
	defer close(e.supDone)
	var s supState
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	if !e.cfg.NoSpare {
		e.ensureSpare(&s)
	}
	for {
		select {
		case <-e.closing:
			return
		case ev := <-e.events:
			if ev.kind == evCommit || ev.kind == evKeep {
				e.onPatch(&s, ev)
			} else {
				e.onExit(&s, ev)
			}
		case <-tick.C:
			// Before repair: outcomes are read while their workers
			// are still in their slots.
			e.checkCommits(&s)
			e.checkHangs(&s)
			e.checkSuspects(&s)
			e.compareChecksums(&s)
			e.repair(&s)
			e.place()
		}
	}
}

// place keeps the active and the standby worker's render threads on two
// different CPUs. Left to itself the kernel wakes both, at the same moment,
// onto the same idle CPU; a kernel trace on this VM showed both stranded
// there for 6.6 ms while the hypervisor did not run that virtual CPU, and
// the blocks they owed became underruns. Apart, a stall of one CPU delays
// one twin, and the callback plays the other's block. The active keeps the
// CPU it has; the standby gets the other. Supervisor only.
func (e *Engine) place() {
	if len(e.cpus) < 2 {
		return
	}
	a, b := e.pubActive.Load(), e.pubStandby.Load()
	if a < 0 {
		return
	}
	wa := e.slots[a].Load()
	if wa == nil {
		return
	}
	ca := wa.reg.u64(offCPU).Load()
	if ca == 0 {
		ca = uint64(e.cpus[0]) + 1
		wa.reg.u64(offCPU).Store(ca)
	}
	if b < 0 {
		return
	}
	if wb := e.slots[b].Load(); wb != nil {
		want := uint64(e.cpus[0]) + 1
		if want == ca {
			want = uint64(e.cpus[1]) + 1
		}
		wb.reg.u64(offCPU).Store(want)
	}
}

// pairCPUs returns the two CPUs place uses: the last two this process may
// run on (the first ones tend to take the interrupts), or nil with fewer.
func pairCPUs() []int {
	var set unix.CPUSet
	if unix.SchedGetaffinity(0, &set) != nil {
		return nil
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	if len(cpus) < 2 {
		return nil
	}
	return cpus[len(cpus)-2:]
}

func (e *Engine) slotOf(w *workerProc) bool { return w != nil && e.slots[w.slot].Load() == w }

func (e *Engine) onExit(s *supState, ev supEvent) {
	w := ev.w
	if !e.slotOf(w) {
		return // already retired
	}
	e.stats.deaths.Add(1)
	if beat := w.reg.i64(offBeat).Load(); beat > 0 && ev.at > beat {
		e.stats.detectNs.Store(ev.at - beat)
	}
	if ev.kind == evExit {
		w.log.Warn().Str("exit", fmt.Sprint(w.exitErr)).Msg("A worker exited; the other worker keeps playing.")
	} else {
		w.log.Warn().Msg("A worker's render thread died; the other worker keeps playing.")
	}
	e.failed(s, w, ev.at)
}

// failed handles the loss of w (dead, hung, out of sync or behind).
func (e *Engine) failed(s *supState, w *workerProc, at int64) {
	e.checkCommits(s) // w may hold an outcome no other worker has yet
	wasStarting := s.starting(w)
	e.stats.noticedAt.Store(at)
	switch w {
	case s.spare:
		s.spare = nil
	case s.joining:
		s.joining = nil
	case s.cold[0]:
		s.cold[0] = nil
	case s.cold[1]:
		s.cold[1] = nil
	case s.snapSrc:
		// The snapshot source died mid-join: start the join again.
		if s.joining != nil {
			j := s.joining
			s.joining = nil
			e.kill(j)
			e.retire(j)
		}
		s.snapSrc = nil
	}
	e.kill(w)
	e.retire(w)
	if s.failAt == 0 {
		s.failAt = at
	}
	if wasStarting {
		e.startFailed(s, w.name)
	}
}

// startFailed counts a new worker that failed before it played and sets the
// back-off before the next one; after MaxFailedStarts in a row it gives up.
func (e *Engine) startFailed(s *supState, name string) {
	s.failedStarts++
	e.stats.failedStarts.Add(1)
	wait := e.cfg.RestartBackoff << min(s.failedStarts-1, 20)
	wait = min(wait, maxBackoff)
	s.nextTry = time.Now().Add(wait)
	if s.failedStarts >= e.cfg.MaxFailedStarts {
		e.giveUp(s, fmt.Sprintf("%d new workers in a row failed before they could play", s.failedStarts))
		return
	}
	e.log.Warn().Str("worker", name).Int("in_a_row", s.failedStarts).Dur("next_try_in", wait).
		Msg("A new worker failed before it could play; the engine waits before it starts the next.")
}

// maxBackoff caps the pause between attempts to start a worker.
const maxBackoff = 2 * time.Second

// giveUp stops respawning standbys. Supervisor only.
func (e *Engine) giveUp(s *supState, why string) {
	if s.gaveUp {
		return
	}
	s.gaveUp = true
	e.stats.degraded.Store(true)
	if s.spare != nil {
		w := s.spare
		s.spare = nil
		e.kill(w)
		e.retire(w)
	}
	e.log.Error().Str("reason", why).Str("playing", e.Stats().Active).
		Msg("The engine gave up respawning workers: it plays on the healthy worker alone, with no standby. A crash of that worker will cost audio; restart Chronus to get the standby back.")
}

// hangProbe follows one worker whose heartbeat went stale.
type hangProbe struct {
	w     *workerProc
	beat  int64 // the stale beat being followed
	cpu   int64 // the render thread's CPU time (ns) when first seen stale
	since int64 // monoNow when first seen stale
}

// checkHangs kills a worker that has work but whose heartbeat is stale and
// that is really hung: stopped, spinning without beating, or asleep with work
// to do. Staleness is measured against the stamp the worker itself wrote, so
// a stall of the supervisor cannot cause a false alarm; and a worker whose
// thread is runnable but gets no CPU (the VM or a higher-priority thread
// took it, common on a loaded 2-core VM) is given far longer, because it is
// not at fault and will beat again as soon as it runs.
func (e *Engine) checkHangs(s *supState) {
	now := monoNow()
	allowed := e.pubAllowed.Load()
	limit := int64(e.cfg.HangTimeout)
	for i := range e.slots {
		w := e.slots[i].Load()
		p := &s.probe[i]
		if w == nil || w == s.spare {
			*p = hangProbe{}
			continue
		}
		reg := w.reg
		beat := reg.i64(offBeat).Load()
		if reg.u64(offMode).Load() == modeWait || reg.u64(offNext).Load() >= allowed || beat <= 0 || now-beat <= limit {
			*p = hangProbe{}
			continue
		}
		state, cpu, ok := threadState(w.pid, int(reg.u64(offTID).Load()))
		if !ok || state == 'Z' || state == 'X' {
			continue // dead: its exit is being reported
		}
		if p.w != w || p.beat != beat {
			*p = hangProbe{w: w, beat: beat, cpu: cpu, since: now}
		}
		why := ""
		switch {
		case state == 'T' || state == 't':
			why = "stopped"
		case cpu-p.cpu >= limit/4:
			why = "running without beating"
		case state != 'R' && now-p.since >= limit/4:
			why = "asleep with work to do"
		case now-beat > 25*limit:
			why = "starved of CPU for too long"
		default:
			continue
		}
		e.stats.hangs.Add(1)
		e.stats.detectNs.Store(now - beat)
		e.stats.noticedAt.Store(now)
		w.log.Warn().Dur("silent_for", time.Duration(now-beat)).Str("state", why).Msg("A worker stopped beating and was killed.")
		*p = hangProbe{}
		e.failed(s, w, now)
	}
}

// threadState reads the scheduler state letter and the CPU time (ns) of
// thread tid of process pid (tid 0: the main thread). ok is false when the
// thread is gone.
func threadState(pid, tid int) (state byte, cpuNs int64, ok bool) {
	if tid == 0 {
		tid = pid
	}
	dir := "/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(tid) + "/"
	st, err := os.ReadFile(dir + "stat")
	if err != nil {
		return 0, 0, false
	}
	// "tid (comm) S ...": comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(st, ')')
	if i < 0 || i+2 >= len(st) {
		return 0, 0, false
	}
	state = st[i+2]
	if ss, err := os.ReadFile(dir + "schedstat"); err == nil {
		if f := bytes.Fields(ss); len(f) > 0 {
			cpuNs, _ = strconv.ParseInt(string(f[0]), 10, 64)
		}
	}
	return state, cpuNs, true
}

// checkSuspects replaces workers the audio thread gave up on (missed a block,
// full command ring, history too old to replay).
func (e *Engine) checkSuspects(s *supState) {
	for i := range e.suspect {
		if !e.suspect[i].Load() {
			continue
		}
		e.suspect[i].Store(false)
		w := e.slots[i].Load()
		if w == nil {
			continue
		}
		switch {
		case w == s.joining:
			w.log.Warn().Msg("A joining worker could not be fed its commands; it will be replaced.")
		case int32(i) != e.pubActive.Load():
			w.log.Warn().Msg("A worker missed a block or fell behind; the other worker took over and it will be replaced.")
		case e.pubStandby.Load() >= 0:
			// The active worker's command ring overflowed: it no longer
			// gets every command, so its audio would drift from the
			// truth. The standby has them all.
			w.log.Warn().Msg("The active worker fell behind on its commands; the standby takes over and it will be replaced.")
		default:
			continue // the only worker left: keep playing it
		}
		e.failed(s, w, monoNow())
	}
}

// compareChecksums proves the active and standby render identical blocks.
// On a mismatch the active is kept and the standby replaced.
func (e *Engine) compareChecksums(s *supState) {
	a, b := e.pubActive.Load(), e.pubStandby.Load()
	if a < 0 || b < 0 {
		return
	}
	wa, wb := e.slots[a].Load(), e.slots[b].Load()
	if wa == nil || wb == nil {
		return
	}
	if bad, blk := mismatch(wa.reg, wb.reg, &s.lastCmp[b]); bad {
		e.stats.mismatches.Add(1)
		wb.log.Error().Uint64("block", blk).Msg("The standby's audio differs from the active worker's; the standby will be replaced.")
		e.failed(s, wb, monoNow())
	}
}

// mismatch compares the checksums of blocks both regions hold, after *from.
func mismatch(x, y *region, from *uint64) (bool, uint64) {
	nx, ny := x.u64(offNext).Load(), y.u64(offNext).Load()
	hi := min(nx, ny)
	lo := *from
	if hi > audioSlots/2 && lo < hi-audioSlots/2 {
		lo = hi - audioSlots/2
	}
	for b := lo; b < hi; b++ {
		sx, sy := x.slotU64(b, slotSeq).Load(), y.slotU64(b, slotSeq).Load()
		if sx != b+1 || sy != b+1 {
			continue
		}
		cx, cy := x.slotU64(b, slotSum).Load(), y.slotU64(b, slotSum).Load()
		// Re-check the guards: a slot rewritten between the reads is skipped.
		if x.slotU64(b, slotSeq).Load() != b+1 || y.slotU64(b, slotSeq).Load() != b+1 {
			continue
		}
		if cx != cy {
			*from = b + 1
			return true, b
		}
	}
	if hi > *from {
		*from = hi
	}
	return false, 0
}

// ensureSpare keeps one pre-started worker waiting, so a respawn costs a
// snapshot copy rather than a process start.
func (e *Engine) ensureSpare(s *supState) {
	if s.spare != nil || s.gaveUp || time.Now().Before(s.nextTry) {
		return
	}
	slot := e.freeSlot()
	if slot < 0 {
		return
	}
	w, err := e.spawn(slot, modeWait, 0, nil)
	if err != nil {
		e.log.Error().Err(err).Msg("The engine could not start a spare worker.")
		e.startFailed(s, "spare")
		return
	}
	s.spare = w
}

func (e *Engine) freeSlot() int32 {
	for i := range e.slots {
		if e.slots[i].Load() == nil {
			return int32(i)
		}
	}
	return -1
}

// repair drives the respawn: snapshot the active worker, load it into the
// spare, replay, catch up, join once checksums match. With no worker left
// it restarts from scratch.
func (e *Engine) repair(s *supState) {
	a, b := e.pubActive.Load(), e.pubStandby.Load()
	var active *workerProc
	if a >= 0 {
		active = e.slots[a].Load()
	}
	if active == nil || s.cold[0] != nil || s.cold[1] != nil {
		e.coldRestart(s)
		return
	}
	if b >= 0 {
		if s.failAt != 0 && s.joining == nil {
			s.failAt = 0
		}
		if !e.cfg.NoSpare {
			e.ensureSpare(s)
		}
		return
	}
	switch {
	case s.joining != nil && s.snapSrc != nil:
		e.advanceJoin(s, active)
	case s.gaveUp || time.Now().Before(s.nextTry):
	default:
		if s.spare == nil {
			e.ensureSpare(s)
			if s.spare == nil {
				return
			}
		}
		if s.spare.reg.u64(offPID).Load() == 0 {
			return // still starting
		}
		// Counted here, once per join begun (not per tick spent waiting).
		if !e.allowRestart(s) {
			return
		}
		// Ask the active worker for a snapshot at its next block boundary.
		s.joining, s.spare = s.spare, nil
		s.snapSrc = active
		s.joinReq = active.reg.u64(offSnapReq).Add(1)
		active.wake()
	}
}

func (e *Engine) allowRestart(s *supState) bool {
	now := time.Now()
	keep := s.restarts[:0]
	for _, t := range s.restarts {
		if now.Sub(t) < e.cfg.RestartWindow {
			keep = append(keep, t)
		}
	}
	s.restarts = keep
	if len(s.restarts) >= e.cfg.MaxRestarts {
		e.giveUp(s, fmt.Sprintf("%d restarts within %v", len(s.restarts), e.cfg.RestartWindow))
		return false
	}
	s.restarts = append(s.restarts, now)
	return true
}

func (e *Engine) advanceJoin(s *supState, active *workerProc) {
	j, src := s.joining, s.snapSrc
	if src != active {
		// The active changed under us; start over.
		e.failed(s, j, monoNow())
		s.snapSrc = nil
		return
	}
	jr := j.reg
	switch jr.u64(offMode).Load() {
	case modeWait:
		if src.reg.u64(offSnapDone).Load() != s.joinReq {
			return // the active has not reached a block boundary yet
		}
		// Copy the snapshot into the joiner's region and tell the audio
		// thread to replay what came after it.
		jr.snapshot().CopyFrom(src.reg.snapshot())
		blk, seq := src.reg.u64(offSnapBlock).Load(), src.reg.u64(offSnapSeq).Load()
		jr.u64(offSnapBlock).Store(blk)
		jr.u64(offSnapSeq).Store(seq)
		jr.u64(offSnapBase).Store(src.reg.u64(offSnapBase).Load())
		s.joinFrom = blk
		e.post(ctlMsg{kind: ctlAttach, slot: j.slot, seq: seq})
		if !e.waitAck(time.Second) {
			return
		}
		if e.crashJoiners != 0 {
			jr.u64(offCrash).Store(e.crashJoiners)
		}
		// Its last beat is from its idle wait: stamp one now so the hang
		// check measures from the moment it was given work.
		jr.i64(offBeat).Store(monoNow())
		jr.u64(offMode).Store(modeRestore)
		j.wake()
	case modeRestore:
		// Joined once it caught up and a common block's checksum matches.
		var from = s.joinFrom
		if jr.u64(offNext).Load()+1 < src.reg.u64(offNext).Load() {
			return
		}
		bad, blk := mismatch(src.reg, jr, &from)
		if bad {
			e.stats.mismatches.Add(1)
			j.log.Error().Uint64("block", blk).Msg("A respawned worker's audio differs from the active worker's; it will be replaced.")
			e.failed(s, j, monoNow())
			s.snapSrc = nil
			return
		}
		if from <= s.joinFrom {
			return // nothing compared yet
		}
		e.post(ctlMsg{kind: ctlJoin, slot: j.slot})
		if !e.waitAck(time.Second) {
			return
		}
		e.stats.respawns.Add(1)
		var took time.Duration
		if s.failAt != 0 {
			took = time.Duration(monoNow() - s.failAt)
			e.stats.respawnNs.Store(int64(took))
		}
		j.log.Info().Dur("respawn", took).Msg("A new standby worker is in sync and ready to take over.")
		s.joining, s.snapSrc, s.failAt = nil, nil, 0
		s.failedStarts = 0
		if !e.cfg.NoSpare {
			e.ensureSpare(s)
		}
	}
}

// coldRestart starts two fresh workers when none is left to copy from: the
// callback plays silence (counted as underruns) until they caught up. Their
// synths start from scratch, so held notes, effect tails and controller
// settings are lost, but they get the instrument's data as a fresh start
// does: the preset bank (e.initial) and the kept patches (the graphs
// committed into slots, channel selections, program bindings: see
// patchJournal), then the commands still in the future. Supervisor only.
func (e *Engine) coldRestart(s *supState) {
	if s.cold[0] != nil || s.cold[1] != nil {
		allowed := e.pubAllowed.Load()
		for _, w := range s.cold {
			if w != nil && w.reg.u64(offNext).Load()+1 < allowed {
				if time.Since(s.coldAt) > 5*time.Second {
					w.log.Error().Msg("A fresh worker did not catch up within 5 s; it will be replaced.")
					e.failed(s, w, monoNow())
				}
				return // still catching up
			}
		}
		a, b := s.cold[0], s.cold[1]
		if a == nil {
			a, b = b, nil
		}
		m := ctlMsg{kind: ctlSetRoles, slot: a.slot, standby: -1}
		if b != nil {
			m.standby = b.slot
		}
		e.post(m)
		if !e.waitAck(time.Second) {
			return
		}
		e.stats.coldStarts.Add(1)
		s.cold = [2]*workerProc{}
		s.failedStarts = 0
		if s.failAt != 0 {
			e.stats.respawnNs.Store(monoNow() - s.failAt)
			s.failAt = 0
		}
		e.log.Warn().Str("active", a.name).Int("graph_slots", s.kept.graphs()).
			Msg("Fresh workers play again after all were lost, with the committed graph patches; notes held before were lost.")
		return
	}
	if time.Now().Before(s.nextTry) {
		return
	}
	// Whatever is left (a spare, a joiner) has no one to copy from.
	for i := range e.slots {
		if w := e.slots[i].Load(); w != nil {
			e.kill(w)
			e.retire(w)
		}
	}
	s.spare, s.joining, s.snapSrc = nil, nil, nil
	if s.failAt == 0 {
		s.failAt = monoNow()
	}
	e.log.Error().Msg("No worker is left to play: the output is silent until two fresh workers start from scratch.")
	// Start a block ahead of what the workers were allowed: the callback
	// is about to pass everything before it anyway.
	start := e.pubAllowed.Load() + 1
	seq := e.pubSeq.Load()
	seq -= min(seq, coldReplay)
	// The kept patches go first, as if the fresh synths had always had
	// them; the replay then passes on the commands still in the future.
	pre := s.kept.commands(start*uint64(e.cfg.BlockFrames), uint32(seq))
	for i := range s.cold {
		w, err := e.spawn(e.freeSlot(), modeRun, start, pre)
		if err != nil {
			e.log.Error().Err(err).Msg("The engine could not start a fresh worker.")
			e.startFailed(s, "fresh")
			break
		}
		s.cold[i] = w
		e.post(ctlMsg{kind: ctlAttach, slot: w.slot, seq: seq, minFrame: start * uint64(e.cfg.BlockFrames)})
	}
	s.coldAt = time.Now()
	e.waitAck(time.Second)
}

// Close stops the workers: a clean stop through shared memory and SIGTERM, a
// short wait, then SIGKILL for what did not exit. Call it after the device
// has stopped calling Render. Normal goroutine; safe to call more than once.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.closing)
		if e.started {
			// The supervisor may be starting a worker: let it finish, so
			// that nothing it starts escapes the sweep below.
			<-e.supDone
		}
		if !e.started {
			close(e.closed)
			return
		}
		var ws []*workerProc
		for i := range e.slots {
			if w := e.slots[i].Load(); w != nil {
				ws = append(ws, w)
				w.reg.u64(offMode).Store(modeStop)
				w.wake()
				_ = w.cmd.Process.Signal(syscall.SIGTERM)
			}
		}
		deadline := time.After(2 * time.Second)
		for _, w := range ws {
			select {
			case <-w.exited:
			case <-deadline:
				_ = w.cmd.Process.Kill()
				<-w.exited
			}
			w.lifeline.Close()
		}
		close(e.closed)
		for _, w := range ws {
			e.slots[w.slot].Store(nil)
			w.release()
		}
		e.reaping.Wait()
	})
	return nil
}
