// Package engine runs the synth in two worker processes that render the same
// blocks in lockstep, and plays whichever is healthy: a worker that crashes,
// hangs or falls behind costs no sample, because the other one already
// rendered the block the audio callback needs.
//
// Threads. Three kinds of code touch an Engine:
//   - the audio thread calls Render (it is the device's Source);
//   - normal goroutines call Start, Send, Stats, Close and the rest;
//   - the supervisor goroutine (started by Start) spawns, watches, kills and
//     respawns workers.
//
// Commands. Send puts a protocol-v2 command on a lock-free ring to the audio
// thread; at the start of each callback Render stamps it with a sequence
// number and a target frame at or beyond what any worker may render yet, and
// copies it into every worker's command ring before it lets the workers
// advance. Both workers therefore apply the same commands at the same frames,
// and their output is bit-identical (per-block checksums prove it).
//
// Recovery. When a worker dies, the supervisor asks the survivor for a
// snapshot of its synth at a block boundary, loads it into a pre-started spare,
// the audio thread replays the commands since, the spare catches up faster
// than real time and joins as standby once its block checksums match.
//
// Detection. The audio callback never waits for it: a block the active
// worker does not have is taken from the standby in the same callback. The
// supervisor learns of a death from the worker's render thread itself: the
// thread registers a word in shared memory with set_tid_address, so the
// kernel clears it and wakes a watcher the moment the thread ends, about
// 0.1 ms after a SIGKILL, where the whole process only becomes waitable
// (cmd.Wait, the backstop) after its address space is torn down, ~1 ms
// later. A hang is a heartbeat older than Config.HangTimeout while work is
// pending, confirmed from /proc: a stopped worker, one that uses CPU without
// beating, or one asleep with work; a worker that is runnable but gets no
// CPU (a busy VM) is given 25 times longer, since it is not at fault.
//
// Crash loops and total loss. New workers that fail before they play are
// restarted with a doubling back-off; after Config.MaxFailedStarts in a row
// (or Config.MaxRestarts within Config.RestartWindow) the engine gives up
// respawning, plays on the healthy worker alone and says so (an error log,
// Stats.Degraded). If no worker is left, two fresh ones start from scratch
// (Stats.ColdStarts): silence until they caught up, and held notes are lost.
//
// Real time. The device thread and each worker's render thread run in
// SCHED_FIFO where permitted (package sched has the priorities and why).
// A worker runs all its threads real-time, because a Go thread returning
// from a system call gets its P back through other threads of its process;
// for the same reason Start raises GOMAXPROCS (MinProcs), so that the
// engine's real-time threads find an idle P. No goroutine here exits while
// locked to its thread: that would destroy the thread, and the kernel would
// kill every child forked from it with PR_SET_PDEATHSIG (sched.Release).
package engine

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// Config sizes an engine.
type Config struct {
	SampleRate  float64 // default 48000
	BlockFrames int     // internal block, default 64, at most 4*dsp.MaxBlock
	// Lead is how many blocks beyond one device buffer the workers may render
	// ahead of the callback (0 means the default, 1): slack for a late
	// wake-up, paid for in latency. A command is stamped for the first frame
	// the workers may not have rendered yet, so one block of 64 frames plus
	// the limiter's 1 ms look-ahead still lands in the buffer after the next
	// one at 128 frames; a second block pushes it one buffer later.
	Lead      int
	Voices    int     // synth voices per worker, default dsp.DefaultVoices
	BendRange float64 // semitones, default 2
	// Presets is the synth's preset bank (nil: the built-in presets). Every
	// worker starts from the same initial synth state, bank included.
	Presets []dsp.Patch
	// HangTimeout: a worker with work to do whose heartbeat is older than
	// this is killed (default 40 ms: healthy beats pause up to ~40 ms on a
	// busy VM, and the callback never waits for it anyway).
	HangTimeout time.Duration
	// NoSpare disables the pre-started third worker (slower respawn).
	NoSpare bool
	// NoHostNice keeps this process's threads at their nice value instead
	// of sched.HostNice (see Start), for a program that embeds the engine
	// and must not raise its own priority.
	NoHostNice bool
	// MaxRestarts within RestartWindow before the engine gives up respawning
	// and runs on the healthy worker alone (default 20 per 10 s).
	MaxRestarts   int
	RestartWindow time.Duration
	// RestartBackoff is the pause before the next new worker after one
	// failed before it ever played (crashed while starting or catching
	// up); it doubles with each such failure in a row, up to 2 s
	// (default 20 ms). MaxFailedStarts such failures in a row make the
	// engine give up respawning and play on the healthy worker alone
	// (default 5).
	RestartBackoff  time.Duration
	MaxFailedStarts int
	// WorkerCommand builds the command that starts a worker; nil means
	// `/proc/self/exe worker`. Tests point it at their own binary.
	WorkerCommand func() *exec.Cmd
	Log           zerolog.Logger
}

func (c *Config) defaults() error {
	if c.SampleRate == 0 {
		c.SampleRate = 48000
	}
	if c.BlockFrames == 0 {
		c.BlockFrames = 64
	}
	if c.BlockFrames < 8 || c.BlockFrames > 4*dsp.MaxBlock {
		return fmt.Errorf("engine: block of %d frames is outside 8..%d", c.BlockFrames, 4*dsp.MaxBlock)
	}
	if c.Lead == 0 {
		c.Lead = 1
	}
	if c.Lead < 0 || c.Lead > audioSlots/4 {
		return fmt.Errorf("engine: lead of %d blocks is outside 0..%d", c.Lead, audioSlots/4)
	}
	if c.Voices == 0 {
		c.Voices = dsp.DefaultVoices
	}
	if c.BendRange == 0 {
		c.BendRange = 2
	}
	if c.HangTimeout == 0 {
		c.HangTimeout = 40 * time.Millisecond
	}
	if c.MaxRestarts == 0 {
		c.MaxRestarts = 20
	}
	if c.RestartWindow == 0 {
		c.RestartWindow = 10 * time.Second
	}
	if c.RestartBackoff == 0 {
		c.RestartBackoff = 20 * time.Millisecond
	}
	if c.MaxFailedStarts == 0 {
		c.MaxFailedStarts = 5
	}
	if c.WorkerCommand == nil {
		c.WorkerCommand = func() *exec.Cmd { return exec.Command("/proc/self/exe", "worker") }
	}
	return nil
}

const (
	maxWorkers  = 4     // slots: two playing, one joining or spare, one being retired
	inRingSize  = 4096  // commands from Send to the audio thread
	historySize = 65536 // commands kept for replay into a joining worker
	ctlRingSize = 64
	primeBlocks = audioSlots / 2 // pre-rendered before the first callback
	// coldReplay bounds how far back a cold restart looks in the history
	// for commands still in the future (it runs on the audio thread).
	coldReplay = cmdSlots / 2
)

// Handler receives the commands that are not for the workers (record
// start/stop, status, patch save/list...). It runs on the goroutine that
// called Send.
type Handler func(c proto.Command)

// Engine is the supervisor plus the audio-thread half. See the package doc
// for which goroutine may call what.
type Engine struct {
	cfg Config
	log zerolog.Logger

	slots [maxWorkers]atomic.Pointer[workerProc]

	// Send → audio thread: SPSC ring, producers serialised by sendMu.
	sendMu sync.Mutex
	in     [inRingSize]proto.Command
	inHead atomic.Uint64
	inTail atomic.Uint64

	// Supervisor → audio thread control messages (SPSC, supervisor only).
	ctl     [ctlRingSize]ctlMsg
	ctlHead atomic.Uint64
	ctlTail atomic.Uint64 // the audio thread's acknowledgement

	rt rtState // audio thread only

	// Published by the audio thread for other goroutines.
	pubActive  atomic.Int32
	pubStandby atomic.Int32
	pubAllowed atomic.Uint64
	pubPlay    atomic.Uint64 // frames played
	pubPlayNs  atomic.Int64  // monoNow at the end of the last callback
	pubSeq     atomic.Uint64 // last sequence number forwarded
	suspect    [maxWorkers]atomic.Bool

	handlers map[proto.Op]Handler
	tap      *Tap
	cmdTap   CmdTap
	meter    meter // output peak level, see meter.go
	stats    counters

	events    chan supEvent
	closing   chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	started   bool
	names     atomic.Uint64
	cpus      []int // the two CPUs of the lockstep pair (place), or nil
	// latency is the synth's look-ahead: it applies an event that many
	// frames before the event's frame, so that is how much earlier than
	// its frame a command must reach the workers.
	latency uint64
	// initial is the synth state every fresh worker starts from (modeRun):
	// written into its snapshot area before it starts, so the preset bank
	// and the configuration reach the worker without a second source.
	initial *dsp.Synth

	supDone chan struct{}  // closed when the supervisor goroutine returned
	reaping sync.WaitGroup // retired workers whose exit is still awaited

	// crashJoiners is a test hook: when non-zero, every worker that joins
	// from a snapshot gets this offCrash kind, so it fails before it plays
	// (a crash loop). Set before Start.
	crashJoiners uint64
}

type ctlKind uint8

const (
	ctlSetRoles ctlKind = iota + 1 // active, standby (-1 = none)
	ctlAttach                      // start feeding slot from history seq+1
	ctlDetach                      // stop touching slot
	ctlJoin                        // slot becomes the standby
)

type ctlMsg struct {
	kind    ctlKind
	slot    int32
	standby int32
	seq     uint64
	// minFrame (ctlAttach): replay only commands at or after this frame;
	// a cold restart uses it to pass on commands still in the future.
	minFrame uint64
}

// rtState is owned by the audio thread.
type rtState struct {
	active, standby int32
	feeding         [maxWorkers]bool
	play            uint64 // next frame to play
	allowed         uint64
	seq             uint64
	history         [historySize][proto.Size]byte
	historyFrame    [historySize]uint64 // the stamped frame of each history entry
	cmd             proto.Command
	// The last cold restart's fresh workers skipped the history up to
	// coldSeq stamped before coldFrame; a worker that joins later from
	// their snapshots must skip the same commands.
	coldSeq, coldFrame uint64
}

// New makes an engine; Start launches its workers.
func New(cfg Config) (*Engine, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	probe, err := dsp.New(dsp.Config{SampleRate: cfg.SampleRate, Voices: cfg.Voices, BendRange: cfg.BendRange, Presets: cfg.Presets})
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	e := &Engine{
		cfg:      cfg,
		log:      cfg.Log.With().Str("role", "supervisor").Int("pid", os.Getpid()).Logger(),
		handlers: map[proto.Op]Handler{},
		tap:      NewTap(1 << 18),
		events:   make(chan supEvent, 64),
		closing:  make(chan struct{}),
		closed:   make(chan struct{}),
		supDone:  make(chan struct{}),
		latency:  uint64(probe.Latency()),
		initial:  probe,
		cpus:     pairCPUs(),
	}
	e.rt.active, e.rt.standby = -1, -1
	e.pubActive.Store(-1)
	e.pubStandby.Store(-1)
	return e, nil
}

// Handle registers h for op, an op that is not for the workers. Call it
// before Start, from the goroutine that builds the engine.
func (e *Engine) Handle(op proto.Op, h Handler) { e.handlers[op] = h }

// Tap returns the output tap. Any goroutine.
func (e *Engine) Tap() *Tap { return e.tap }

// SampleRate is the engine's rate.
func (e *Engine) SampleRate() float64 { return e.cfg.SampleRate }

// BlockFrames is the internal block size.
func (e *Engine) BlockFrames() int { return e.cfg.BlockFrames }

// ErrBusy means the command ring to the audio thread is full: the audio
// thread is not running or cannot keep up.
var ErrBusy = errors.New("engine: command queue full; the audio callback is not draining it")

// ErrNoHandler means a non-worker command has no registered handler.
var ErrNoHandler = errors.New("engine: no handler for this command")

// Send queues c for the workers, or calls the handler of a non-worker op.
// Frame 0 (or a Frame without FlagAbsolute) means as soon as possible.
// Normal goroutines only; safe for concurrent use.
func (e *Engine) Send(c proto.Command) error {
	if !c.Op.ForWorkers() {
		h := e.handlers[c.Op]
		if h == nil {
			return fmt.Errorf("%w: %v", ErrNoHandler, c.Op)
		}
		h(c)
		return nil
	}
	if err := c.Validate(); err != nil {
		return err
	}
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	h := e.inHead.Load()
	if h-e.inTail.Load() >= inRingSize {
		e.stats.busy.Add(1)
		return ErrBusy
	}
	e.in[h&(inRingSize-1)] = c
	e.inHead.Store(h + 1)
	return nil
}

// PlayPosition returns the frames played so far and the CLOCK_MONOTONIC time
// (ns) at which the last callback ended, to turn wall times into frames.
// Any goroutine.
func (e *Engine) PlayPosition() (frames uint64, monoNs int64) {
	return e.pubPlay.Load(), e.pubPlayNs.Load()
}

// Ready reports whether the blocks that the next n frames need are there:
// from the active worker, or from the standby when the active worker's
// process is gone. Waiting on the active one (and not on whichever is
// first) keeps a patient caller from turning every small race between two
// healthy workers into a failover. Audio thread only (it reads the
// callback's own state); it never allocates, locks or blocks.
func (e *Engine) Ready(n int) bool {
	// Roles first: before the first callback none is applied yet, and a
	// patient device would wait its whole patience for nothing.
	e.control()
	bf := uint64(e.cfg.BlockFrames)
	need := (e.rt.play + uint64(n) + bf - 1) / bf
	if a := e.rt.active; a >= 0 {
		if w := e.slots[a].Load(); w != nil {
			if w.reg.u64(offNext).Load() >= need {
				return true
			}
			select {
			case <-w.exited:
			default:
				return false // alive: wait for it (the caller bounds the wait)
			}
		}
	}
	if b := e.rt.standby; b >= 0 {
		if w := e.slots[b].Load(); w != nil && w.reg.u64(offNext).Load() >= need {
			return true
		}
	}
	return false
}

// Render is the device Source: it fills left and right with the active
// worker's blocks. Audio thread only: it never allocates, locks, logs or
// waits; a missing block is taken from the standby or, failing that, played
// as silence and counted.
func (e *Engine) Render(left, right []float32) {
	t0 := monoNow()
	rt := &e.rt
	e.control()
	e.forward()

	bf := uint64(e.cfg.BlockFrames)
	n := len(left)
	for pos := 0; pos < n; {
		b := rt.play / bf
		off := int(rt.play % bf)
		m := min(int(bf)-off, n-pos)
		if !e.copyBlock(rt.active, b, off, left[pos:pos+m], right[pos:pos+m]) {
			if rt.standby >= 0 && e.copyBlock(rt.standby, b, off, left[pos:pos+m], right[pos:pos+m]) {
				// Failover inside the callback: the standby's block b is
				// the same audio, so nothing is lost.
				if rt.active >= 0 {
					e.suspect[rt.active].Store(true)
				}
				rt.active, rt.standby = rt.standby, -1
				e.stats.failovers.Add(1)
				e.stats.failoverNs.Store(monoNow())
			} else {
				clear(left[pos : pos+m])
				clear(right[pos : pos+m])
				e.stats.underruns.Add(1)
				e.stats.underrunFrame.Store(rt.play)
				e.stats.underrunAt.Store(t0)
			}
		}
		rt.play += uint64(m)
		pos += m
	}
	e.stats.frames.Add(uint64(n))
	e.tap.Write(left, right)
	e.meter.write(left, right)

	// Let the workers run one device buffer plus the lead ahead.
	need := (uint64(n) + bf - 1) / bf
	allowed := (rt.play+bf-1)/bf + need + uint64(e.cfg.Lead)
	if allowed > rt.allowed {
		rt.allowed = allowed
	}
	e.release()

	e.pubActive.Store(rt.active)
	e.pubStandby.Store(rt.standby)
	e.pubAllowed.Store(rt.allowed)
	e.pubPlay.Store(rt.play)
	now := monoNow()
	e.pubPlayNs.Store(now)
	e.stats.callback(now - t0)
}

// copyBlock copies frames [off, off+len(l)) of block b from worker slot i,
// or reports that the worker does not have that block intact. Audio thread.
func (e *Engine) copyBlock(i int32, b uint64, off int, l, r []float32) bool {
	if i < 0 {
		return false
	}
	w := e.slots[i].Load()
	if w == nil {
		return false
	}
	reg := w.reg
	want := b + 1
	if reg.slotU64(b, slotSeq).Load() != want || reg.slotU64(b, slotBegin).Load() != want {
		return false
	}
	_, s := reg.slot(b)
	bf := reg.blockFrames
	copy(l, s[off:off+len(l)])
	copy(r, s[bf+off:bf+off+len(r)])
	// Seqlock close check: the slot was not reopened while we copied.
	return reg.slotU64(b, slotBegin).Load() == want
}

// control applies the supervisor's messages. Audio thread.
func (e *Engine) control() {
	rt := &e.rt
	t := e.ctlTail.Load()
	h := e.ctlHead.Load()
	for ; t < h; t++ {
		m := &e.ctl[t&(ctlRingSize-1)]
		switch m.kind {
		case ctlSetRoles:
			rt.active, rt.standby = m.slot, m.standby
			if m.slot >= 0 {
				rt.feeding[m.slot] = true
			}
			if m.standby >= 0 {
				rt.feeding[m.standby] = true
			}
		case ctlAttach:
			if m.minFrame > 0 { // a fresh worker of a cold restart
				rt.coldSeq, rt.coldFrame = rt.seq, m.minFrame
			}
			e.replay(m.slot, m.seq, m.minFrame)
			rt.feeding[m.slot] = true
		case ctlJoin:
			if rt.standby < 0 && rt.active != m.slot {
				rt.standby = m.slot
			}
		case ctlDetach:
			rt.feeding[m.slot] = false
			if rt.active == m.slot {
				rt.active, rt.standby = rt.standby, -1
				if rt.active >= 0 {
					e.stats.failovers.Add(1)
				}
			}
			if rt.standby == m.slot {
				rt.standby = -1
			}
		}
	}
	if t != e.ctlTail.Load() {
		// Publish the roles before the acknowledgement, so a supervisor
		// that saw its message applied also sees its effect.
		e.pubActive.Store(rt.active)
		e.pubStandby.Store(rt.standby)
	}
	e.ctlTail.Store(t)
}

// replay copies history after seq, at or after minFrame, into slot's command
// ring. Audio thread.
func (e *Engine) replay(slot int32, seq, minFrame uint64) {
	w := e.slots[slot].Load()
	if w == nil {
		return
	}
	rt := &e.rt
	if rt.seq-seq > historySize {
		e.suspect[slot].Store(true) // too old to replay: the supervisor retries
		return
	}
	for s := seq + 1; s <= rt.seq; s++ {
		f := rt.historyFrame[s&(historySize-1)]
		if f < minFrame || s <= rt.coldSeq && f < rt.coldFrame {
			continue
		}
		if !e.push(w, &rt.history[s&(historySize-1)]) {
			e.suspect[slot].Store(true)
			return
		}
	}
}

// push writes one encoded command into w's ring. A full ring means the
// worker fell behind: it is replaced, never waited for. Audio thread.
func (e *Engine) push(w *workerProc, b *[proto.Size]byte) bool {
	reg := w.reg
	h := reg.u64(offCmdHead).Load()
	if h-reg.u64(offCmdTail).Load() >= cmdSlots {
		e.stats.ringFull.Add(1)
		return false
	}
	*reg.cmdSlot(h) = *b
	reg.u64(offCmdHead).Store(h + 1)
	return true
}

// forward stamps queued commands and copies them to every fed worker.
// Audio thread.
func (e *Engine) forward() {
	rt := &e.rt
	// Never before the start of a cold restart's fresh workers: the one
	// attached first would apply such a command late, while the other, and
	// every worker that joins from them, skips it (rtState.coldFrame).
	minFrame := max(rt.allowed*uint64(e.cfg.BlockFrames)+e.latency, rt.coldFrame)
	t := e.inTail.Load()
	h := e.inHead.Load()
	for ; t < h; t++ {
		c := &rt.cmd
		*c = e.in[t&(inRingSize-1)]
		if c.Flags&proto.FlagAbsolute == 0 || c.Frame < minFrame {
			if c.Flags&proto.FlagAbsolute != 0 && c.Frame != 0 {
				e.stats.late.Add(1)
			}
			c.Frame = minFrame
		}
		c.Flags |= proto.FlagAbsolute
		rt.seq++
		c.Seq = uint32(rt.seq)
		slot := &rt.history[rt.seq&(historySize-1)]
		c.Encode(slot)
		rt.historyFrame[rt.seq&(historySize-1)] = c.Frame
		e.cmdTap.Write(c) // the take records what the workers apply, at its frame
		for i := int32(0); i < maxWorkers; i++ {
			if !rt.feeding[i] {
				continue
			}
			w := e.slots[i].Load()
			if w == nil || !e.push(w, slot) {
				rt.feeding[i] = false
				e.suspect[i].Store(true)
			}
		}
	}
	e.inTail.Store(t)
	e.pubSeq.Store(rt.seq)
}

// release publishes the allowed block to every worker and wakes sleepers.
// FUTEX_WAKE never blocks. Audio thread.
func (e *Engine) release() {
	for i := range e.slots {
		w := e.slots[i].Load()
		if w == nil {
			continue
		}
		reg := w.reg
		if reg.u64(offAllowed).Load() < e.rt.allowed {
			reg.u64(offAllowed).Store(e.rt.allowed)
			reg.u32(offWake).Add(1)
			if reg.u32(offWaiting).Load() != 0 {
				futexWakeAll(reg.u32(offWake))
			}
		}
	}
}

// post sends a control message to the audio thread. Supervisor only.
func (e *Engine) post(m ctlMsg) bool {
	h := e.ctlHead.Load()
	if h-e.ctlTail.Load() >= ctlRingSize {
		return false
	}
	e.ctl[h&(ctlRingSize-1)] = m
	e.ctlHead.Store(h + 1)
	return true
}

// waitAck waits until the audio thread has applied every posted message.
// Supervisor only. False if the audio thread did not run in time.
func (e *Engine) waitAck(timeout time.Duration) bool {
	h := e.ctlHead.Load()
	deadline := time.Now().Add(timeout)
	for e.ctlTail.Load() < h {
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-e.closing:
			return false // Close follows a stopped device: no ack will come
		default:
		}
		time.Sleep(200 * time.Microsecond)
	}
	return true
}

// counters are the engine's atomics.
type counters struct {
	frames        atomic.Uint64
	underruns     atomic.Uint64
	underrunFrame atomic.Uint64 // frame of the last underrun
	underrunAt    atomic.Int64  // monoNow at the callback of the last underrun
	failovers     atomic.Uint64
	failoverNs    atomic.Int64
	late          atomic.Uint64
	busy          atomic.Uint64
	ringFull      atomic.Uint64
	mismatches    atomic.Uint64
	respawns      atomic.Uint64
	deaths        atomic.Uint64
	hangs         atomic.Uint64
	detectNs      atomic.Int64 // last failure: from the worker's last beat to our noticing
	noticedAt     atomic.Int64 // last failure: CLOCK_MONOTONIC ns when it was noticed
	respawnNs     atomic.Int64 // last failure: from noticing to an in-sync standby
	coldStarts    atomic.Uint64
	failedStarts  atomic.Uint64
	degraded      atomic.Bool
	cbHist        [32]atomic.Uint64
	cbMax         atomic.Int64
}

// callback records one callback duration in a log2 histogram (µs buckets).
func (c *counters) callback(ns int64) {
	us := uint64(ns / 1000)
	b := 0
	for us > 0 && b < 31 {
		us >>= 1
		b++
	}
	c.cbHist[b].Add(1)
	for {
		old := c.cbMax.Load()
		if ns <= old || c.cbMax.CompareAndSwap(old, ns) {
			return
		}
	}
}

// Stats is a snapshot of the engine's counters.
type Stats struct {
	Frames    uint64 // frames the callback delivered
	Underruns uint64 // blocks neither worker had in time: played as silence
	// LastUnderrunFrame and LastUnderrunMono locate the last underrun: the
	// frame, and the CLOCK_MONOTONIC ns of its callback (0 = none).
	LastUnderrunFrame uint64
	LastUnderrunMono  int64
	Failovers         uint64 // times the standby took over from the active worker
	// LateCommands had an absolute frame the workers could no longer
	// honour; they were played as soon as possible instead.
	LateCommands uint64
	BusyDrops    uint64 // Send calls refused because the audio thread was not draining
	RingFull     uint64 // a worker's command ring was full (it fell behind and was replaced)
	Mismatches   uint64 // blocks whose checksums differed between two workers
	Respawns     uint64 // new standbys that caught up and joined
	Deaths       uint64 // worker processes that exited
	Hangs        uint64 // workers killed because their heartbeat stopped
	ColdStarts   uint64 // times no worker was left and two fresh ones started from scratch
	FailedStarts uint64 // new workers that failed before they played
	// Degraded is true once the engine gave up respawning: it plays on
	// one worker, with no standby.
	Degraded bool
	// LastDetect is the last failure's detection time, from the worker's
	// last heartbeat to the supervisor noticing; LastFailureMono is when it
	// was noticed (CLOCK_MONOTONIC ns, 0 = none yet).
	LastDetect      time.Duration
	LastFailureMono int64
	// LastRespawn is the last recovery's time from noticing the failure to
	// a new standby in sync.
	LastRespawn                           time.Duration
	CallbackP50, CallbackP99, CallbackMax time.Duration // histogram bucket upper bounds, and the exact maximum
	Active, Standby                       string        // worker names ("" = none)
	ActivePID, StandbyPID                 int           // their process ids (0 = none)
	Workers                               int           // worker processes in use, spare included
}

// Stats returns the counters. Any goroutine.
func (e *Engine) Stats() Stats {
	s := Stats{
		Frames: e.stats.frames.Load(), Underruns: e.stats.underruns.Load(),
		LastUnderrunFrame: e.stats.underrunFrame.Load(), LastUnderrunMono: e.stats.underrunAt.Load(),
		Failovers: e.stats.failovers.Load(), LateCommands: e.stats.late.Load(),
		BusyDrops: e.stats.busy.Load(), RingFull: e.stats.ringFull.Load(),
		Mismatches: e.stats.mismatches.Load(), Respawns: e.stats.respawns.Load(),
		Deaths: e.stats.deaths.Load(), Hangs: e.stats.hangs.Load(),
		ColdStarts: e.stats.coldStarts.Load(), FailedStarts: e.stats.failedStarts.Load(),
		Degraded:        e.stats.degraded.Load(),
		LastFailureMono: e.stats.noticedAt.Load(),
		LastDetect:      time.Duration(e.stats.detectNs.Load()),
		LastRespawn:     time.Duration(e.stats.respawnNs.Load()),
		CallbackMax:     time.Duration(e.stats.cbMax.Load()),
	}
	var total uint64
	var hist [32]uint64
	for i := range hist {
		hist[i] = e.stats.cbHist[i].Load()
		total += hist[i]
	}
	pct := func(p float64) time.Duration {
		want := uint64(math.Ceil(p * float64(total)))
		var acc uint64
		for i, n := range hist {
			acc += n
			if acc >= want && n > 0 {
				return time.Duration(1<<i) * time.Microsecond // bucket upper bound
			}
		}
		return 0
	}
	if total > 0 {
		s.CallbackP50, s.CallbackP99 = pct(0.5), pct(0.99)
	}
	if a := e.pubActive.Load(); a >= 0 {
		if w := e.slots[a].Load(); w != nil {
			s.Active, s.ActivePID = w.name, w.pid
		}
	}
	if b := e.pubStandby.Load(); b >= 0 {
		if w := e.slots[b].Load(); w != nil {
			s.Standby, s.StandbyPID = w.name, w.pid
		}
	}
	for i := range e.slots {
		if e.slots[i].Load() != nil {
			s.Workers++
		}
	}
	return s
}
