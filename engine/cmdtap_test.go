package engine

import (
	"sync"
	"testing"

	"github.com/chronus-audio/chronus/engine/proto"
)

func noteCmd(frame uint64, key uint8) proto.Command {
	return proto.Command{Op: proto.OpNoteOn, Flags: proto.FlagAbsolute, Frame: frame, Key: key, Value: 1}
}

// TestCmdTapOrderDropsAndEnable: commands come out in order; a full ring
// drops (and counts) instead of waiting; disabled, nothing is kept;
// enabling discards what an earlier capture left.
func TestCmdTapOrderDropsAndEnable(t *testing.T) {
	var tap CmdTap
	c := noteCmd(1, 1)
	tap.Write(&c) // disabled: not kept
	tap.Enable(true)
	for i := range CmdTapSize + 5 {
		c := noteCmd(uint64(100+i), uint8(i%128))
		tap.Write(&c)
	}
	if d := tap.Dropped(); d != 5 {
		t.Fatalf("dropped %d commands, want 5", d)
	}
	dst := make([]proto.Command, 1000)
	got := 0
	for {
		n := tap.Read(dst)
		if n == 0 {
			break
		}
		for i := range n {
			if want := uint64(100 + got + i); dst[i].Frame != want {
				t.Fatalf("command %d has frame %d, want %d", got+i, dst[i].Frame, want)
			}
		}
		got += n
	}
	if got != CmdTapSize {
		t.Fatalf("read %d commands, want %d", got, CmdTapSize)
	}
	c = noteCmd(7, 7)
	tap.Write(&c)
	tap.Enable(false)
	c = noteCmd(8, 8)
	tap.Write(&c)
	tap.Enable(true) // discards frame 7
	c = noteCmd(9, 9)
	tap.Write(&c)
	if n := tap.Read(dst); n != 1 || dst[0].Frame != 9 {
		t.Fatalf("after re-enabling read %d commands (first frame %d), want only frame 9", n, dst[0].Frame)
	}
}

func TestCmdTapDoesNotAllocate(t *testing.T) {
	var tap CmdTap
	tap.Enable(true)
	c := noteCmd(1, 60)
	dst := make([]proto.Command, 16)
	if n := testing.AllocsPerRun(1000, func() {
		tap.Write(&c)
		tap.Write(&c)
		tap.Read(dst)
	}); n != 0 {
		t.Fatalf("command tap: %v allocations per write and read", n)
	}
}

// TestCmdTapConcurrent: one producer, one consumer at full speed; every
// command arrives once, in order, or is counted as dropped (run with -race).
func TestCmdTapConcurrent(t *testing.T) {
	var tap CmdTap
	tap.Enable(true)
	const total = 200000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range total {
			c := noteCmd(uint64(i), 0)
			tap.Write(&c)
		}
	}()
	dst := make([]proto.Command, 64)
	var got, last uint64
	first := true
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for finished := false; ; {
		n := tap.Read(dst)
		for _, c := range dst[:n] {
			if !first && c.Frame <= last {
				t.Fatalf("frame %d after %d: out of order or repeated", c.Frame, last)
			}
			first, last = false, c.Frame
		}
		got += uint64(n)
		if n == 0 {
			if finished {
				break
			}
			select {
			case <-done:
				finished = true
			default:
			}
		}
	}
	if got+tap.Dropped() != total {
		t.Fatalf("read %d and dropped %d of %d commands", got, tap.Dropped(), total)
	}
}

// TestCmdTapSeesStampedCommands: the engine taps each command once, as the
// workers get it: relative commands with the frame the audio thread
// stamped, absolute ones at their own frame, both with FlagAbsolute.
func TestCmdTapSeesStampedCommands(t *testing.T) {
	f := newFakeWorkers(t)
	e := f.e
	l, r := make([]float32, 128), make([]float32, 128)
	f.fill(0)
	f.fill(1)
	e.Render(l, r)
	e.CmdTap().Enable(true)
	asap := proto.Command{Op: proto.OpNoteOn, Channel: 2, Key: 60, Value: 0.5}
	if err := e.Send(asap); err != nil {
		t.Fatal(err)
	}
	at := noteCmd(100000, 61)
	if err := e.Send(at); err != nil {
		t.Fatal(err)
	}
	wantASAP := e.rt.allowed*uint64(e.cfg.BlockFrames) + e.latency // what forward stamps next
	f.fill(0)
	f.fill(1)
	e.Render(l, r)
	dst := make([]proto.Command, 8)
	n := e.CmdTap().Read(dst)
	if n != 2 {
		t.Fatalf("the tap holds %d commands, want 2", n)
	}
	if c := dst[0]; c.Key != 60 || c.Frame != wantASAP || c.Flags&proto.FlagAbsolute == 0 || c.Seq == 0 {
		t.Fatalf("as-soon-as-possible command tapped as %v, want frame %d, absolute, sequenced", c.String(), wantASAP)
	}
	if c := dst[1]; c.Key != 61 || c.Frame != 100000 {
		t.Fatalf("absolute command tapped as %v, want frame 100000", c.String())
	}
	// The frame the workers got is the frame the tap reports.
	var got proto.Command
	if err := got.Decode(f.regs[0].cmdSlot(f.regs[0].u64(offCmdHead).Load() - 2)); err != nil {
		t.Fatal(err)
	}
	if got.Frame != dst[0].Frame || got.Seq != dst[0].Seq {
		t.Fatalf("worker got %v, tap reports %v", got.String(), dst[0].String())
	}
}

func BenchmarkCmdTapWrite(b *testing.B) {
	var tap CmdTap
	tap.Enable(true)
	c := noteCmd(1, 60)
	dst := make([]proto.Command, 64)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tap.Write(&c)
		if i%64 == 63 {
			tap.Read(dst)
		}
	}
}
