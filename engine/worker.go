package engine

import (
	"errors"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/engine/sched"
)

// Worker file descriptors, as the engine passes them through ExtraFiles.
const (
	workerShmFD      = 3 // the worker's memfd
	workerLifelineFD = 4 // read end of a pipe only the engine holds open for writing
)

// RunWorker is the body of `chronus worker`: it maps the shared memory the
// engine passed as fd 3 and renders blocks until told to stop or until the
// engine dies (EOF on the lifeline, fd 4). It returns only on a clean stop.
//
// The render loop runs on one locked OS thread and never allocates, locks,
// logs or blocks except in its futex wait for work.
func RunWorker() error {
	r, err := openRegion(workerShmFD)
	if err != nil {
		return err
	}
	// The worker allocates nothing while rendering; no GC means no GC pause.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(512 << 20)
	go lifeline(os.NewFile(workerLifelineFD, "lifeline"))

	runtime.LockOSThread() // the render thread; never unlocked
	// Best effort (the engine survives a late worker anyway): every thread
	// real-time, below the playing workers' until this one has caught up
	// (see loop and package sched).
	_ = sched.SetProcessFIFO(sched.CatchUpHelperPriority)
	_ = sched.SetFIFO(sched.CatchUpPriority)
	tid := unix.Gettid()
	r.u64(offTID).Store(uint64(tid))
	// The death sentinel: the kernel clears this word and wakes its waiter
	// when this thread ends, however the process dies.
	r.u32(offAlive).Store(uint32(tid))
	_, _, _ = unix.RawSyscall(unix.SYS_SET_TID_ADDRESS, uintptr(unsafe.Pointer(r.u32(offAlive))), 0, 0)
	r.u64(offPID).Store(uint64(os.Getpid()))
	w := &worker{r: r}
	_ = unix.SchedGetaffinity(0, &w.anyCPU)
	return w.loop()
}

// lifeline exits the process when the engine's end of the pipe closes, which
// the kernel does however the engine dies. PR_SET_PDEATHSIG is the first line
// of defence; this is the one that cannot be fooled by Go's thread handling.
func lifeline(f *os.File) {
	var b [1]byte
	for {
		if _, err := f.Read(b[:]); err != nil {
			os.Exit(0)
		}
	}
}

type worker struct {
	r       *region
	synth   *dsp.Synth
	next    uint64
	lastSeq uint64
	// base is the engine frame at which this synth's own frame count is 0:
	// workers started from scratch after the engine already played (a cold
	// restart) begin at a later block, and the synth counts from there.
	// Snapshots carry it, so every copy of a synth agrees.
	base uint64
	// caughtUp: the worker rendered everything it was allowed to once, and
	// its threads run at the playing priorities.
	caughtUp bool
	// cpu is the offCPU value the render thread's affinity follows (only
	// once caught up); anyCPU is the affinity it started with.
	cpu    uint64
	anyCPU unix.CPUSet
	params paramTable
	left   [dsp.MaxBlock * 4]float32
	right  [dsp.MaxBlock * 4]float32
	cmd    proto.Command
}

func (w *worker) loop() error {
	r := w.r
	wake := r.u32(offWake)
	for {
		seq := wake.Load()
		switch r.u64(offMode).Load() {
		case modeWait:
			r.i64(offBeat).Store(monoNow())
			futexWaitFor(wake, seq, 100e6)
			continue
		case modeStop:
			return nil
		case modeRun:
			if w.synth == nil {
				// The engine wrote the initial state (configuration and
				// preset bank) into the snapshot area before starting us.
				w.synth = new(dsp.Synth)
				w.synth.CopyFrom(r.snapshot())
				w.next = r.u64(offStartBlock).Load()
				w.base = w.next * uint64(r.blockFrames)
				w.params.init()
				r.u64(offNext).Store(w.next)
			}
		case modeRestore:
			if w.synth == nil {
				w.synth = new(dsp.Synth)
				w.synth.CopyFrom(r.snapshot())
				w.next = r.u64(offSnapBlock).Load()
				w.lastSeq = r.u64(offSnapSeq).Load()
				w.base = r.u64(offSnapBase).Load()
				w.params.init()
				r.u64(offNext).Store(w.next)
			}
		}
		if w.caughtUp {
			w.follow()
		}
		if w.next >= r.u64(offAllowed).Load() {
			if !w.caughtUp && w.synth != nil {
				// Caught up with the callback: from now on this worker
				// plays (or stands by to), at the playing priorities.
				w.caughtUp = true
				_ = sched.SetProcessFIFO(sched.HelperPriority)
				_ = sched.SetFIFO(sched.WorkerPriority)
			}
			r.i64(offBeat).Store(monoNow())
			r.u32(offWaiting).Store(1)
			// Re-check after announcing: the engine bumps wake after allowed.
			if w.next >= r.u64(offAllowed).Load() && r.u64(offMode).Load() != modeStop {
				futexWaitFor(wake, seq, 100e6)
			}
			r.u32(offWaiting).Store(0)
			continue
		}
		w.block()
	}
}

// follow moves the render thread to the CPU the engine asks for (offCPU),
// when that changes. Render thread only: one atomic load per iteration, a
// system call only on a change, no allocation.
func (w *worker) follow() {
	c := w.r.u64(offCPU).Load()
	if c == w.cpu {
		return
	}
	w.cpu = c
	set := w.anyCPU
	if c > 0 && int(c-1) < len(set)*64 && w.anyCPU.IsSet(int(c-1)) {
		set.Zero()
		set.Set(int(c - 1))
	}
	_ = unix.SchedSetaffinity(0, &set)
}

// block drains the command ring, serves a snapshot request, renders block
// w.next into its audio slot and publishes it. Render thread only.
func (w *worker) block() {
	r := w.r
	t0 := monoNow()
	head := r.u64(offCmdHead).Load()
	tail := r.u64(offCmdTail).Load()
	for ; tail < head; tail++ {
		w.apply(r.cmdSlot(tail))
	}
	r.u64(offCmdTail).Store(tail)
	r.u64(offLastSeq).Store(w.lastSeq)

	if req := r.u64(offSnapReq).Load(); req != r.u64(offSnapDone).Load() {
		r.snapshot().CopyFrom(w.synth)
		r.u64(offSnapBlock).Store(w.next)
		r.u64(offSnapSeq).Store(w.lastSeq)
		r.u64(offSnapBase).Store(w.base)
		r.u64(offSnapDone).Store(req)
	}
	if hook := r.u64(offCrash).Load(); hook != 0 {
		crashHook(hook)
	}

	b := w.next
	n := r.blockFrames
	for off := 0; off < n; off += dsp.MaxBlock {
		m := min(dsp.MaxBlock, n-off)
		w.synth.Render(w.left[off:off+m], w.right[off:off+m])
	}
	_, samples := r.slot(b)
	seqBegin := r.slotU64(b, slotBegin)
	seqEnd := r.slotU64(b, slotSeq)
	// Seqlock: open, write, close. A reader that sees begin != end, or an
	// end that is not b+1, never plays the slot, so a block a stopped or
	// killed worker left half-written is never heard.
	seqEnd.Store(0)
	seqBegin.Store(b + 1)
	copy(samples[:n], w.left[:n])
	copy(samples[n:2*n], w.right[:n])
	r.slotU64(b, slotSum).Store(checksum(samples[:2*n]))
	seqEnd.Store(b + 1)

	w.next = b + 1
	r.u64(offNext).Store(w.next)
	now := monoNow()
	r.i64(offBeat).Store(now)
	r.u64(offRendered).Add(uint64(now - t0))
	st := w.synth.Stats()
	r.u64(offNonFinite).Store(st.NonFinite)
	r.u64(offDropped).Store(st.Dropped)
	r.u64(offVoicesOn).Store(uint64(w.synth.ActiveVoices()))
}

// apply decodes one command slot into the synth. Render thread only.
func (w *worker) apply(slot *[proto.Size]byte) {
	if err := w.cmd.Decode(slot); err != nil {
		w.r.u64(offBadCmd).Add(1)
		return
	}
	w.lastSeq = uint64(w.cmd.Seq)
	if w.cmd.Op == proto.OpPatchCommit {
		w.applyCommit() // and publish its outcome (patchcmds.go)
		return
	}
	// Engine frame to synth frame (see paramTable.apply).
	w.params.apply(w.synth, &w.cmd, w.base)
}

// checksum is FNV-1a over the sample bits: cheap, and any difference in any
// sample changes it, which is all lockstep verification needs.
func checksum(s []float32) uint64 {
	h := uint64(14695981039346656037)
	for _, x := range s {
		h ^= uint64(math.Float32bits(x))
		h *= 1099511628211
	}
	return h
}

// crashHook lets tests make a worker fail in each way a real one can.
func crashHook(kind uint64) {
	switch kind {
	case 1:
		panic(errors.New("engine: worker panic requested by a test"))
	case 2:
		crashSegfault()
	case 3:
		// Hang: spin without beating. In the normal class, not at
		// real-time priority: the point is a worker that runs but never
		// beats, not one that starves everything else on its CPU.
		_ = sched.SetOther()
		for {
		}
	case 4:
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
}
