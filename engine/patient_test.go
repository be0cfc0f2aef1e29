package engine

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chronus-audio/chronus/engine/device"
	"github.com/chronus-audio/chronus/engine/sched"
)

// patientOutput is the tests' device. It calls Render at the null device's
// pace, but before each call it waits (up to patience) until Engine.Ready
// says the blocks that call will play are there.
//
// Why: the tests check the engine's logic (failover, respawn, snapshot and
// replay lose no sample and keep the output bit-exact). On this 2-core VM a
// worker can be held off the CPU for several milliseconds (ENGINE-FACTS'
// noise floor, and more while a new worker process starts), and a strictly
// real-time device turns that into an underrun that says nothing about the
// logic. With patience, a block the logic lost for good still becomes an
// underrun; a block that is merely late does not. The real-time figures at
// the default lead (underruns on the null and JACK devices) are measured by
// the benchmarks, which use the real devices.
type patientOutput struct {
	e      *Engine
	period int
	left   []float32
	right  []float32
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
	frames atomic.Uint64
	calls  atomic.Uint64
}

// patience is how long a call waits for a late block before it plays
// whatever Render finds (silence and an underrun if the block is lost).
const patience = 500 * time.Millisecond

func newPatientOutput(e *Engine, period int) *patientOutput {
	return &patientOutput{e: e, period: period,
		left: make([]float32, period), right: make([]float32, period),
		stop: make(chan struct{}), done: make(chan struct{})}
}

func (o *patientOutput) Start() error {
	go o.loop()
	return nil
}

func (o *patientOutput) loop() {
	defer close(o.done)
	runtime.LockOSThread()
	defer sched.Release()
	_ = sched.SetFIFO(sched.DevicePriority)
	period := time.Duration(float64(o.period) / testRate * float64(time.Second))
	next := time.Now()
	for {
		select {
		case <-o.stop:
			return
		default:
		}
		t0 := time.Now()
		for !o.e.Ready(o.period) && time.Since(t0) < patience {
			time.Sleep(100 * time.Microsecond)
		}
		o.e.Render(o.left, o.right)
		o.frames.Add(uint64(o.period))
		o.calls.Add(1)
		next = next.Add(period)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else if d < -100*time.Millisecond {
			next = time.Now() // far behind after a wait: do not burst
		}
	}
}

func (o *patientOutput) Close() error {
	o.once.Do(func() {
		close(o.stop)
		<-o.done
	})
	return nil
}

func (o *patientOutput) Info() device.Info {
	return device.Info{Backend: "patient", Device: "patient", SampleRate: testRate, FramesPerBuffer: o.period}
}

func (o *patientOutput) Stats() device.Stats {
	return device.Stats{Callbacks: o.calls.Load(), Frames: o.frames.Load()}
}

func (o *patientOutput) Err() error { return nil }
