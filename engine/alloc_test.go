package engine

import (
	"testing"

	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
)

// fakeWorkers gives e two workers with real shared memory but no process:
// the test renders their blocks itself (fill), so Render can be measured
// alone, deterministically.
type fakeWorkers struct {
	e    *Engine
	regs [2]*region
}

func newFakeWorkers(t testing.TB) *fakeWorkers {
	t.Helper()
	e, err := New(Config{SampleRate: testRate})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeWorkers{e: e}
	for i := range f.regs {
		reg, err := newRegion("chronus-fake", e.cfg.BlockFrames, dsp.Config{SampleRate: testRate, Voices: 8, BendRange: 2})
		if err != nil {
			t.Fatal(err)
		}
		f.regs[i] = reg
		e.slots[i].Store(&workerProc{name: "fake", reg: reg, slot: int32(i)})
		t.Cleanup(reg.close)
	}
	e.post(ctlMsg{kind: ctlSetRoles, slot: 0, standby: 1})
	return f
}

// fill renders, as a worker would, every block worker i is allowed to, and
// consumes its commands. No allocation.
func (f *fakeWorkers) fill(i int) {
	r := f.regs[i]
	r.u64(offCmdTail).Store(r.u64(offCmdHead).Load())
	for b := r.u64(offNext).Load(); b < r.u64(offAllowed).Load(); b++ {
		_, s := r.slot(b)
		r.slotU64(b, slotSeq).Store(0)
		r.slotU64(b, slotBegin).Store(b + 1)
		for j := range s {
			s[j] = float32(b%13) / 16
		}
		r.slotU64(b, slotSum).Store(checksum(s))
		r.slotU64(b, slotSeq).Store(b + 1)
		r.u64(offNext).Store(b + 1)
	}
}

// skip makes worker i lose its next block, as a dead worker would.
func (f *fakeWorkers) skip(i int) {
	r := f.regs[i]
	r.u64(offNext).Store(r.u64(offAllowed).Load())
}

func TestRenderDoesNotAllocate(t *testing.T) {
	f := newFakeWorkers(t)
	e := f.e
	l, r := make([]float32, 128), make([]float32, 128)
	cmd := proto.Command{Op: proto.OpNoteOn, Channel: 1, Key: 60, Value: 0.5}
	set := proto.Command{Op: proto.OpSet, Value: 900}
	set.SetModule("filter")
	set.SetParam("cutoff")
	for _, tc := range []struct {
		name string
		step func()
	}{
		{"steady with commands", func() {
			_ = e.Send(cmd)
			_ = e.Send(set)
			f.fill(0)
			f.fill(1)
			e.Render(l, r)
			f.fill(0)
			if !e.Ready(len(l)) {
				t.Error("Ready is false although the active worker rendered the next blocks")
			}
		}},
		{"failover and underrun", func() {
			// The active loses its blocks: the standby takes over in
			// the callback; then neither has them: silence. Roles are
			// reset through the control ring every time.
			e.post(ctlMsg{kind: ctlSetRoles, slot: 0, standby: 1})
			_ = e.Send(cmd)
			f.fill(1)
			f.skip(0)
			e.Render(l, r)
			f.skip(1)
			e.Render(l, r)
		}},
		{"odd buffer lengths", func() {
			e.post(ctlMsg{kind: ctlSetRoles, slot: 0, standby: 1})
			f.fill(0)
			f.fill(1)
			e.Render(l[:37], r[:37])
			f.fill(0)
			f.fill(1)
			e.Render(l[:91], r[:91])
		}},
	} {
		if n := testing.AllocsPerRun(500, tc.step); n != 0 {
			t.Errorf("Render %s: %v allocations per call", tc.name, n)
		}
	}
	st := e.Stats()
	if st.Failovers == 0 || st.Underruns == 0 || st.Frames == 0 {
		t.Fatalf("the paths were not exercised: %+v", st)
	}
	// Commands really flowed to both workers' rings.
	if f.regs[0].u64(offCmdHead).Load() == 0 || f.regs[1].u64(offCmdHead).Load() == 0 {
		t.Fatal("no command reached the workers")
	}
}

func TestTapDoesNotAllocate(t *testing.T) {
	tap := NewTap(4096)
	tap.Enable(true)
	l, r := make([]float32, 256), make([]float32, 256)
	dst := make([]float32, 1024)
	if n := testing.AllocsPerRun(1000, func() {
		tap.Write(l, r)
		tap.Read(dst)
	}); n != 0 {
		t.Fatalf("tap: %v allocations per write and read", n)
	}
}

// TestTapOrderAndGaps checks that the tap hands over frames in order and
// counts (never blocks on) what a slow consumer missed.
func TestTapOrderAndGaps(t *testing.T) {
	tap := NewTap(8)
	tap.Enable(true)
	l, r := make([]float32, 6), make([]float32, 6)
	for i := range l {
		l[i], r[i] = float32(i), -float32(i)
	}
	tap.Write(l, r)
	tap.Write(l, r) // only 2 of these 6 fit
	if d := tap.Dropped(); d != 4 {
		t.Fatalf("dropped %d frames, want 4", d)
	}
	dst := make([]float32, 32)
	n := tap.Read(dst)
	want := []float32{0, 0, 1, -1, 2, -2, 3, -3, 4, -4, 5, -5, 0, 0, 1, -1}
	if n != 8 {
		t.Fatalf("read %d frames, want 8", n)
	}
	for i, w := range want {
		if dst[i] != w {
			t.Fatalf("sample %d = %v, want %v", i, dst[i], w)
		}
	}
}

// TestTapEnableFrom: the capture starts exactly at the requested frame,
// wherever it falls in a buffer.
func TestTapEnableFrom(t *testing.T) {
	tap := NewTap(64)
	l, r := make([]float32, 6), make([]float32, 6)
	frame := 0
	write := func() {
		for i := range l {
			l[i], r[i] = float32(frame+i), -float32(frame+i)
		}
		tap.Write(l, r)
		frame += len(l)
	}
	write() // frames 0-5, not captured
	tap.EnableFrom(9)
	write() // 6-11: capture from 9
	write() // 12-17
	dst := make([]float32, 64)
	n := tap.Read(dst)
	if n != 9 {
		t.Fatalf("read %d frames, want 9 (frames 9 to 17)", n)
	}
	for i := range n {
		if dst[2*i] != float32(9+i) || dst[2*i+1] != -float32(9+i) {
			t.Fatalf("frame %d of the capture is %v/%v, want %d", i, dst[2*i], dst[2*i+1], 9+i)
		}
	}
	// A frame already played: the capture starts with the next buffer.
	tap.EnableFrom(3)
	write()
	if n := tap.Read(dst); n != 6 || dst[0] != 18 {
		t.Fatalf("read %d frames starting at %v, want 6 starting at 18", n, dst[0])
	}
}

// A patient device asks Ready before the first Render: the roles the
// supervisor posted must count already, or the device waits its whole
// patience and then reports an underflow at every start.
func TestReadyBeforeFirstRender(t *testing.T) {
	f := newFakeWorkers(t)
	for i, r := range f.regs {
		r.u64(offAllowed).Store(4)
		f.fill(i)
	}
	if !f.e.Ready(128) {
		t.Fatal("Ready is false before the first callback although the workers rendered the first blocks")
	}
}
