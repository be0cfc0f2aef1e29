// Command chronus-failover demonstrates the engine's fault tolerance (`make
// failover`): it plays a phrase on the null device while it kills and stops
// DSP workers, then compares what played, sample for sample, with a render of
// the same phrase in which nothing went wrong, and prints what it measured.
//
// The program is its own worker: the engine re-executes it through
// /proc/self/exe with the argument "worker", as chronus does.
//
// Exit status 0 when no sample was lost and no block was missed, else 1.
package main

import (
	"flag"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/chronus-audio/chronus/engine"
	"github.com/chronus-audio/chronus/engine/device"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/engine/sched"
)

const rate = 48000

func main() {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		if err := engine.RunWorker(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	seconds := flag.Float64("seconds", 14, "length of the phrase")
	verbose := flag.Bool("v", false, "show the engine's log")
	flag.Parse()
	os.Exit(run(*seconds, *verbose))
}

// fault is one thing done to a worker, and what came of it.
type fault struct {
	name   string
	sig    syscall.Signal
	target string // "active" or "standby"
	at     float64

	pid       int
	frame     uint64 // play position when injected
	mono      int64  // CLOCK_MONOTONIC when injected
	detect    time.Duration
	respawn   time.Duration
	respawns  uint64 // the engine's count when injected
	underruns uint64
	lost      int
	done      bool
}

func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

func run(seconds float64, verbose bool) int {
	log := zerolog.Nop()
	if verbose {
		log = zerolog.New(zerolog.ConsoleWriter{Out: os.Stderr}).With().Timestamp().Logger()
	}
	cfg := engine.Config{SampleRate: rate, MaxRestarts: 100, Log: log}
	e, err := engine.New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := e.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer e.Close()
	out, err := device.OpenNull(device.Config{Backend: device.Null, SampleRate: rate, FramesPerBuffer: 128, Realtime: sched.DevicePriority, Strict: true}, e)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	phrase := makePhrase(seconds)
	frames := int(seconds * rate)
	capture := newCapture(e.Tap(), frames)
	e.Tap().Enable(true)
	if err := out.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("Playing a %.0f s phrase on the null device (48 kHz, 128-frame buffer, %d-frame blocks, lead %d), with two workers and a spare.\n",
		seconds, e.BlockFrames(), 2)

	faults := []*fault{
		{name: "SIGKILL", sig: syscall.SIGKILL, target: "active", at: 2},
		{name: "SIGSTOP", sig: syscall.SIGSTOP, target: "active", at: 4},
		{name: "SIGKILL", sig: syscall.SIGKILL, target: "standby", at: 6},
		{name: "SIGSTOP", sig: syscall.SIGSTOP, target: "standby", at: 8},
		{name: "SIGKILL", sig: syscall.SIGKILL, target: "active", at: 10},
		{name: "SIGKILL (again, the new one)", sig: syscall.SIGKILL, target: "active", at: 10.1},
	}
	feedAndInject(e, phrase, faults, seconds)
	capture.wait(frames)
	out.Close()
	st := e.Stats()
	dst := out.Stats()

	want, err := engine.Reference(cfg, phrase, frames)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	got := capture.samples(frames)
	lost := 0
	for i := range want {
		if got[i] != want[i] {
			lost++
			// Charge the sample to the last fault before it.
			for j := len(faults) - 1; j >= 0; j-- {
				if f := faults[j]; f.done && uint64(i/2) >= f.frame {
					f.lost++
					break
				}
			}
		}
	}

	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(w, "fault\tworker\tpid\tat\tdetected after\tnew standby in sync after\tunderruns\tsamples lost\t")
	for _, f := range faults {
		if !f.done {
			fmt.Fprintf(w, "%s\t%s\t-\tnot injected\t\t\t\t\t\n", f.name, f.target)
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%.2f s\t%s\t%s\t%d\t%d\t\n", f.name, f.target, f.pid, float64(f.frame)/rate,
			ms(f.detect), ms(f.respawn), f.underruns, f.lost)
	}
	w.Flush()
	fmt.Printf("\nWhole phrase: %d of %d samples differ from the undisturbed render; %d underruns; %d failovers inside the audio callback; %d respawns; %d hangs detected.\n",
		lost, len(want), st.Underruns, st.Failovers, st.Respawns, st.Hangs)
	fmt.Printf("Audio callback: p50 ≤ %v, p99 ≤ %v, max %v (histogram bucket bounds; max exact). Null device: %d late wake-ups caught up, %d re-anchored.\n",
		st.CallbackP50, st.CallbackP99, st.CallbackMax.Round(time.Microsecond), dst.Late, dst.Underflows)
	fmt.Println("Detection: SIGKILL to the supervisor noticing (the audio callback never waits for it: it switches to the standby's copy of the block).")
	fmt.Println("SIGSTOP of the active is noticed when its next block is missing; of the standby, by its heartbeat going stale (40 ms).")
	if dst.NoRealtime {
		fmt.Println("Note: SCHED_FIFO was refused (no CAP_SYS_NICE / rtprio limit); timings suffer on a busy machine.")
	}
	if lost != 0 || st.Underruns != 0 {
		return 1
	}
	return 0
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/1e6)
}

// feedAndInject sends the phrase a second ahead of the play position and
// injects each fault at its time, once the engine has an active and a
// standby in sync (recovered from the fault before).
func feedAndInject(e *engine.Engine, phrase []proto.Command, faults []*fault, seconds float64) {
	sent := 0
	var cur *fault // injected, not yet recovered
	deadline := time.Now().Add(time.Duration(seconds*float64(time.Second)) + 30*time.Second)
	for time.Now().Before(deadline) {
		played, _ := e.PlayPosition()
		for sent < len(phrase) && phrase[sent].Frame < played+rate {
			if err := e.Send(phrase[sent]); err != nil {
				fmt.Fprintln(os.Stderr, "send:", err)
			}
			sent++
		}
		st := e.Stats()
		if cur != nil {
			if cur.detect == 0 && st.LastFailureMono >= cur.mono {
				cur.detect = time.Duration(st.LastFailureMono - cur.mono)
			}
			if cur.detect != 0 && st.Respawns > cur.respawns && st.ActivePID != 0 && st.StandbyPID != 0 && st.ActivePID != cur.pid && st.StandbyPID != cur.pid {
				cur.respawn = st.LastRespawn
				cur.underruns = st.Underruns - cur.underruns
				cur = nil
			}
		}
		if cur == nil {
			for _, f := range faults {
				if f.done || float64(played)/rate < f.at {
					continue
				}
				pid := st.ActivePID
				if f.target == "standby" {
					pid = st.StandbyPID
				}
				if pid == 0 || st.StandbyPID == 0 {
					break // not redundant yet: wait
				}
				f.pid, f.frame, f.underruns, f.respawns = pid, played, st.Underruns, st.Respawns
				f.mono = monoNow()
				if err := syscall.Kill(pid, f.sig); err != nil {
					fmt.Fprintln(os.Stderr, "kill:", err)
				}
				f.done = true
				cur = f
				break
			}
		}
		if sent == len(phrase) && cur == nil && float64(played)/rate > seconds {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// makePhrase is a deterministic performance: chords held with the sustain
// pedal, a melody with pitch bends, filter sweeps and a drum pattern, every
// command at an absolute frame.
func makePhrase(seconds float64) []proto.Command {
	rng := rand.New(rand.NewSource(42))
	var cs []proto.Command
	add := func(t float64, c proto.Command) {
		c.Frame = uint64((t + 0.5) * rate)
		c.Flags = proto.FlagAbsolute
		cs = append(cs, c)
	}
	add(0, proto.Command{Op: proto.OpProgram, Channel: 0, Key: 0})  // piano
	add(0, proto.Command{Op: proto.OpProgram, Channel: 1, Key: 81}) // saw lead
	add(0, proto.Command{Op: proto.OpProgram, Channel: 2, Key: 89}) // pad
	chords := [][]uint8{{48, 55, 60, 64}, {45, 52, 57, 60}, {41, 48, 53, 57}, {43, 50, 55, 59}}
	beat := 0.5
	for t, bar := 0.0, 0; t < seconds-1; t, bar = t+4*beat, bar+1 {
		ch := chords[bar%len(chords)]
		add(t, proto.Command{Op: proto.OpControl, Channel: 2, Key: 64, Value: 1})
		for _, k := range ch {
			add(t, proto.Command{Op: proto.OpNoteOn, Channel: 2, Key: k, Value: 0.5})
			add(t+0.1, proto.Command{Op: proto.OpNoteOff, Channel: 2, Key: k})
		}
		add(t+4*beat-0.01, proto.Command{Op: proto.OpControl, Channel: 2, Key: 64, Value: 0})
		for i := range 8 {
			bt := t + float64(i)*beat/2
			k := ch[rng.Intn(len(ch))] + 12
			add(bt, proto.Command{Op: proto.OpNoteOn, Channel: 1, Key: k, Value: 0.4 + 0.5*rng.Float64()})
			add(bt+beat/2*0.9, proto.Command{Op: proto.OpNoteOff, Channel: 1, Key: k})
			add(bt, proto.Command{Op: proto.OpNoteOn, Channel: 9, Key: []uint8{36, 42, 38, 42}[i%4], Value: 0.8})
		}
		add(t+beat, proto.Command{Op: proto.OpPitchBend, Channel: 1, Value: 0.5})
		add(t+2*beat, proto.Command{Op: proto.OpPitchBend, Channel: 1, Value: 0})
		add(t, proto.Command{Op: proto.OpControl, Channel: 1, Key: 74, Value: float64(bar%4) / 4})
		add(t+0.2, proto.Command{Op: proto.OpNoteOn, Channel: 0, Key: ch[0] - 12, Value: 0.7})
	}
	slices.SortStableFunc(cs, func(a, b proto.Command) int {
		switch {
		case a.Frame < b.Frame:
			return -1
		case a.Frame > b.Frame:
			return 1
		}
		return 0
	})
	return cs
}

// capture copies the engine's tap into memory on its own goroutine.
type capture struct {
	mu  sync.Mutex
	got []float32
}

func newCapture(tap *engine.Tap, frames int) *capture {
	c := &capture{got: make([]float32, 0, 2*frames+2*rate)}
	go func() {
		buf := make([]float32, 8192)
		for {
			n := tap.Read(buf)
			if n == 0 {
				time.Sleep(2 * time.Millisecond)
				continue
			}
			c.mu.Lock()
			if len(c.got)+2*n > cap(c.got) {
				c.mu.Unlock()
				return
			}
			c.got = append(c.got, buf[:2*n]...)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *capture) wait(frames int) {
	for {
		c.mu.Lock()
		n := len(c.got) / 2
		c.mu.Unlock()
		if n >= frames {
			return
		}
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *capture) samples(frames int) []float32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.got[:2*frames])
}
