package device

import (
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/engine/sched"
)

// NullOutput plays to nowhere at the exact rate of a sound card. Its thread
// sleeps to absolute CLOCK_MONOTONIC deadlines (start + n periods), so no
// drift accumulates however late a single wake-up is. After a stall it
// catches up at twice real time (Stats.Late counts those callbacks); only
// when it falls more than 250 ms behind does it drop the lost time and count
// an underflow.
type NullOutput struct {
	cfg    Config
	period int
	src    Source
	c      counters
	left   []float32
	right  []float32
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	start  sync.Once
}

// OpenNull opens the null device. Normal goroutines only.
func OpenNull(cfg Config, src Source) (*NullOutput, error) {
	n := cfg.FramesPerBuffer
	if n <= 0 {
		n = DefaultNullBuffer
	}
	return &NullOutput{
		cfg:    cfg,
		period: n,
		src:    src,
		left:   make([]float32, n),
		right:  make([]float32, n),
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}, nil
}

// Start starts the clock thread. Normal goroutines only.
func (o *NullOutput) Start() error {
	o.start.Do(func() { go o.loop() })
	return nil
}

func (o *NullOutput) loop() {
	defer close(o.done)
	// The thread stays locked for the loop's life: clock_nanosleep parks the
	// thread itself, and a locked thread keeps the pacing off Go's 1 ms timers.
	// At the end it goes back to SCHED_OTHER before it is unlocked, so no
	// other goroutine runs (or forks children) at real-time priority, and it
	// is not destroyed, which would kill children forked from it with
	// PR_SET_PDEATHSIG (see sched.Release).
	runtime.LockOSThread()
	defer sched.Release()
	if o.cfg.Realtime > 0 {
		o.c.rtErr.Store(sched.SetFIFO(o.cfg.Realtime) != nil)
	}
	periodNs := int64(float64(o.period) * 1e9 / o.cfg.SampleRate)
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return
	}
	start := ts.Nano()
	var frames int64
	for {
		select {
		case <-o.stop:
			return
		default:
		}
		if rs, ok := o.src.(ReadySource); ok && !o.cfg.Strict {
			// Nobody listens to the null device in real time, but its
			// output may be recorded: wait (bounded) for a late block
			// rather than record a gap. Pacing stays on absolute deadlines.
			w0 := monoNow()
			for !rs.Ready(len(o.left)) && monoNow()-w0 < int64(NullPatience) {
				ts := unix.NsecToTimespec(100_000)
				_ = unix.Nanosleep(&ts, nil)
			}
		}
		t0 := monoNow()
		o.c.render(o.src, o.left, o.right)
		o.c.took(monoNow() - t0)
		o.c.callbacks.Add(1)
		o.c.frames.Add(uint64(o.period))
		frames += int64(o.period)
		// Deadline from the frame count, not from the previous deadline, so
		// the period's rounding error never adds up.
		deadline := start + int64(float64(frames)*1e9/o.cfg.SampleRate)
		now := monoNow()
		if now > deadline+maxBehindNs {
			// Far behind (the process was stopped): re-anchor instead of
			// catching up, and count the lost time as an underflow.
			o.c.underflows.Add(1)
			o.c.fault(&ErrUnderflow)
			start = now - int64(float64(frames)*1e9/o.cfg.SampleRate)
			continue
		}
		if now > deadline {
			// Behind after a stall: catch up, but at most at twice real
			// time. Back-to-back callbacks would ask the source for audio
			// it was not allowed to prepare yet (the engine's workers run
			// only a buffer or two ahead), turning one late wake-up into
			// underruns; half a period between calls gives them time.
			o.c.late.Add(1)
			deadline = max(deadline, t0+periodNs/2)
		}
		dl := unix.NsecToTimespec(deadline)
		for {
			err := unix.ClockNanosleep(unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, &dl, nil)
			if err != unix.EINTR {
				break
			}
		}
	}
}

// maxBehindNs is how late the null device may fall before it stops catching
// up and re-anchors: a quarter second, far beyond any scheduling stall, while
// a stopped process resumes without a burst of old audio.
const maxBehindNs = int64(250 * time.Millisecond)

func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// Close stops the clock thread and waits for it. Normal goroutines only.
func (o *NullOutput) Close() error {
	o.once.Do(func() {
		close(o.stop)
		// Never started: mark the loop done so the wait below returns.
		o.start.Do(func() { close(o.done) })
		<-o.done
	})
	return nil
}

// Info describes the null device.
func (o *NullOutput) Info() Info {
	return Info{
		Backend:         Null,
		Device:          "null",
		SampleRate:      o.cfg.SampleRate,
		FramesPerBuffer: o.period,
		Latency:         time.Duration(float64(o.period) / o.cfg.SampleRate * float64(time.Second)),
	}
}

// Stats returns the audio thread's counters. Normal goroutines only.
func (o *NullOutput) Stats() Stats { return o.c.stats() }

// Err returns the first audio-thread fault. Normal goroutines only.
func (o *NullOutput) Err() error { return o.c.err() }
