package engine

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/dsp"
)

// workerProc is the engine's view of one worker process.
type workerProc struct {
	name     string
	reg      *region
	cmd      *exec.Cmd
	pid      int
	lifeline *os.File // write end; closing it ends the worker
	exited   chan struct{}
	exitErr  error
	slot     int32
	log      zerolog.Logger
	spawned  time.Time
}

type supEventKind uint8

const (
	evExit supEventKind = iota + 1
)

type supEvent struct {
	kind supEventKind
	w    *workerProc
	at   int64 // monoNow when noticed
}

// spawn starts a worker process in slot with a fresh region, in mode.
// Supervisor (or Start) only.
func (e *Engine) spawn(slot int32, mode uint64) (*workerProc, error) {
	n := e.names.Add(1)
	name := fmt.Sprintf("worker-%c", 'a'+rune((n-1)%26))
	reg, err := newRegion("chronus-"+name, e.cfg.BlockFrames, dsp.Config{
		SampleRate: e.cfg.SampleRate, Voices: e.cfg.Voices, BendRange: e.cfg.BendRange})
	if err != nil {
		return nil, err
	}
	reg.u64(offMode).Store(mode)
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
	w := &workerProc{name: name, reg: reg, cmd: cmd, lifeline: pw, exited: make(chan struct{}), slot: slot, spawned: time.Now()}
	started := make(chan error, 1)
	// Pdeathsig fires when the forking thread exits, so the goroutine that
	// starts the worker locks its thread and never unlocks it: the thread
	// lives exactly as long as the worker is waited for, then dies with it.
	go func() {
		runtime.LockOSThread()
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
	pr.Close() // only the worker holds the read end now
	w.pid = cmd.Process.Pid
	w.log = e.cfg.Log.With().Str("role", name).Int("pid", w.pid).Logger()
	e.slots[slot].Store(w)
	return w, nil
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

// Start launches two workers (and a spare) and the supervisor. Call it once,
// before the device starts calling Render. Normal goroutine.
func (e *Engine) Start() error {
	if e.started {
		return errors.New("engine: already started")
	}
	e.started = true
	// Let the first workers pre-render up to primeBlocks, so the very first
	// callback, whatever its length, finds its blocks ready.
	e.rt.allowed = primeBlocks
	e.pubAllowed.Store(primeBlocks)
	a, err := e.spawn(0, modeRun)
	if err != nil {
		return err
	}
	b, err := e.spawn(1, modeRun)
	if err != nil {
		e.kill(a)
		return err
	}
	for _, w := range []*workerProc{a, b} {
		if err := w.waitReady(5 * time.Second); err != nil {
			e.kill(a)
			e.kill(b)
			return err
		}
	}
	// Wait for the primed blocks too: a worker still paging in its first
	// block when the first callback comes would look late and be replaced.
	for _, w := range []*workerProc{a, b} {
		if err := w.waitRendered(primeBlocks, 5*time.Second); err != nil {
			e.kill(a)
			e.kill(b)
			return err
		}
	}
	e.post(ctlMsg{kind: ctlSetRoles, slot: 0, standby: 1})
	e.pubActive.Store(0)
	e.pubStandby.Store(1)
	e.log.Info().Int("worker_a", a.pid).Int("worker_b", b.pid).Int("block_frames", e.cfg.BlockFrames).
		Int("lead_blocks", e.cfg.Lead).Msg("The engine started two workers in lockstep.")
	go e.supervise()
	return nil
}

// kill SIGKILLs a worker and releases its lifeline. Supervisor only.
func (e *Engine) kill(w *workerProc) {
	if w == nil {
		return
	}
	_ = w.cmd.Process.Kill()
	w.lifeline.Close()
}

// retire removes w from its slot once the audio thread has let go of it, then
// unmaps its region. Supervisor only.
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
	<-w.exited
	w.reg.close()
}

// supervisor state, owned by the supervise goroutine.
type supState struct {
	spare    *workerProc
	joining  *workerProc
	joinFrom uint64 // first block the joiner renders
	joinReq  uint64 // snapshot request number
	snapSrc  *workerProc
	failAt   int64 // monoNow of the failure being repaired
	restarts []time.Time
	gaveUp   bool
	lastCmp  [maxWorkers]uint64
}

func (e *Engine) supervise() {
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
			e.onExit(&s, ev)
		case <-tick.C:
			e.checkHangs(&s)
			e.checkSuspects(&s)
			e.compareChecksums(&s)
			e.repair(&s)
		}
	}
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
	w.log.Warn().Str("exit", fmt.Sprint(w.exitErr)).Msg("A worker exited; the other worker keeps playing.")
	e.failed(s, w, ev.at)
}

// failed handles the loss of w (dead, hung, out of sync or behind).
func (e *Engine) failed(s *supState, w *workerProc, at int64) {
	switch w {
	case s.spare:
		s.spare = nil
	case s.joining:
		s.joining = nil
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
}

// checkHangs kills a worker that has work but whose heartbeat is stale.
// Staleness is measured against the stamp the worker itself wrote, in this
// goroutine, so a stall of the supervisor cannot cause a false alarm.
func (e *Engine) checkHangs(s *supState) {
	now := monoNow()
	allowed := e.pubAllowed.Load()
	for i := range e.slots {
		w := e.slots[i].Load()
		if w == nil || w == s.spare {
			continue
		}
		reg := w.reg
		if reg.u64(offMode).Load() == modeWait || reg.u64(offNext).Load() >= allowed {
			continue
		}
		limit := e.cfg.HangTimeout
		if int32(i) == e.pubActive.Load() && e.pubStandby.Load() < 0 {
			// The last worker playing: killing it on a VM stall would
			// silence everything, so only a real hang (much longer) counts.
			limit *= 25
		}
		if beat := reg.i64(offBeat).Load(); beat > 0 && time.Duration(now-beat) > limit {
			e.stats.hangs.Add(1)
			e.stats.detectNs.Store(now - beat)
			w.log.Warn().Dur("silent_for", time.Duration(now-beat)).Msg("A worker stopped beating and was killed.")
			e.failed(s, w, now)
		}
	}
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
		if w == s.joining {
			w.log.Warn().Msg("A joining worker could not be fed its commands; it will be replaced.")
		} else if int32(i) != e.pubActive.Load() {
			w.log.Warn().Msg("A worker missed a block or fell behind; the other worker took over and it will be replaced.")
		} else {
			continue // the active one: a ring problem of the standby's making is handled on its slot
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
	*from = hi
	return false, 0
}

// ensureSpare keeps one pre-started worker waiting, so a respawn costs a
// snapshot copy rather than a process start.
func (e *Engine) ensureSpare(s *supState) {
	if s.spare != nil || s.gaveUp {
		return
	}
	slot := e.freeSlot()
	if slot < 0 {
		return
	}
	w, err := e.spawn(slot, modeWait)
	if err != nil {
		e.log.Error().Err(err).Msg("The engine could not start a spare worker.")
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
// spare, replay, catch up, join once checksums match.
func (e *Engine) repair(s *supState) {
	a, b := e.pubActive.Load(), e.pubStandby.Load()
	if a < 0 {
		return // nothing healthy to copy from; the callback plays silence
	}
	active := e.slots[a].Load()
	if active == nil {
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
	case s.gaveUp:
	default:
		if !e.allowRestart(s) {
			return
		}
		if s.spare == nil {
			e.ensureSpare(s)
			if s.spare == nil {
				return
			}
		}
		if s.spare.reg.u64(offPID).Load() == 0 {
			return // still starting
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
		s.gaveUp = true
		e.log.Error().Int("restarts", len(s.restarts)).Dur("window", e.cfg.RestartWindow).
			Msg("Workers keep failing; the engine stops respawning and plays on the healthy worker alone.")
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
		s.joinFrom = blk
		e.post(ctlMsg{kind: ctlAttach, slot: j.slot, seq: seq})
		if !e.waitAck(time.Second) {
			return
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
		if !e.cfg.NoSpare {
			e.ensureSpare(s)
		}
	}
}

// Close stops the workers: SIGTERM-equivalent clean stop through shared
// memory, a short wait, then SIGKILL for what did not exit. Call it after the
// device has stopped calling Render. Normal goroutine.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() {
		close(e.closing)
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
		for i, w := range ws {
			_ = i
			e.slots[w.slot].Store(nil)
			w.reg.close()
		}
	})
	return nil
}
