package engine

import (
	"sync"
	"testing"
	"time"
)

// rampWriter feeds a tap as the callback does, each frame holding its own
// engine frame number (exact in float32 below 2^24), right = -left.
type rampWriter struct {
	tap  *Tap
	next int
	l, r []float32
}

func (w *rampWriter) write(n int) {
	if cap(w.l) < n {
		w.l, w.r = make([]float32, n), make([]float32, n)
	}
	l, r := w.l[:n], w.r[:n]
	for i := range l {
		l[i], r[i] = float32(w.next+i), -float32(w.next+i)
	}
	w.tap.Write(l, r)
	w.next += n
}

// rebuild is what a recorder does with ReadGap: frames as they come, and
// for each gap that many silent frames (marked -1 here). It checks every
// gap's reported frame against the frame the rebuilt take is at.
type rebuild struct {
	t     testing.TB
	start int // engine frame of the take's first frame
	out   []float32
	gaps  int
	buf   []float32
}

func (b *rebuild) drain(tap *Tap) int {
	got := 0
	for {
		n, gap, at := tap.ReadGap(b.buf)
		if n == 0 && gap == 0 {
			return got
		}
		for i := range n {
			if b.buf[2*i+1] != -b.buf[2*i] {
				b.t.Fatalf("frame %d: channels %v/%v do not match", len(b.out), b.buf[2*i], b.buf[2*i+1])
			}
			b.out = append(b.out, b.buf[2*i])
		}
		if gap > 0 {
			b.gaps++
			if at != 0 && int(at) != b.start+len(b.out) {
				b.t.Fatalf("a gap reported at engine frame %d lands at take frame %d (engine frame %d)", at, len(b.out), b.start+len(b.out))
			}
			for range gap {
				b.out = append(b.out, -1)
			}
		}
		got += n + int(gap)
	}
}

// check: every frame of the take is the engine frame it belongs to, or a
// gap's silence; it returns the number of silent frames.
func (b *rebuild) check() int {
	silent := 0
	for i, v := range b.out {
		if v == -1 {
			silent++
			continue
		}
		if int(v) != b.start+i {
			b.t.Fatalf("take frame %d holds engine frame %v, want %d: a gap was misplaced", i, v, b.start+i)
		}
	}
	return silent
}

// TestTapGapsLandExactly: frames dropped while the ring is full are
// reported where they are missing, with their engine frame; a gap that
// spans several callbacks is one gap, reported once the callback wrote
// past it.
func TestTapGapsLandExactly(t *testing.T) {
	tap := NewTap(16)
	w := &rampWriter{tap: tap}
	w.write(5) // before the capture
	tap.EnableFrom(7)
	b := &rebuild{t: t, start: 7, buf: make([]float32, 2*6)}
	w.write(10) // 5..14: captures 7..14 (8 frames)
	w.write(10) // 15..24: 8 fit, 23-24 dropped
	w.write(10) // 25..34: all dropped, same place: the gap grows
	if d := tap.Dropped(); d != 12 {
		t.Fatalf("dropped %d frames, want 12", d)
	}
	if f, ok := tap.Start(); !ok || f != 7 {
		t.Fatalf("Start = %d, %v; want 7, true", f, ok)
	}
	b.drain(tap)
	if len(b.out) != 16 || b.gaps != 0 {
		t.Fatalf("before the callback writes past the gap: %d frames, %d gaps; want 16 frames and the gap pending", len(b.out), b.gaps)
	}
	w.write(3) // 35..37 fit: the gap 23..34 is final
	w.write(20)
	b.drain(tap)
	w.write(4)
	b.drain(tap)
	if b.gaps != 2 {
		t.Fatalf("%d gaps reported, want 2", b.gaps)
	}
	if silent := b.check(); uint64(silent) != tap.Dropped() {
		t.Fatalf("%d silent frames for %d dropped", silent, tap.Dropped())
	}
	if last := b.start + len(b.out) - 1; last != w.next-1 {
		t.Fatalf("the take ends at engine frame %d, want %d", last, w.next-1)
	}
}

// TestTapManyGaps: more gaps pending than the tap keeps records of are
// still all accounted for; the ones beyond the records may be placed late.
func TestTapManyGaps(t *testing.T) {
	tap := NewTap(8)
	tap.Enable(true)
	w := &rampWriter{tap: tap}
	dst := make([]float32, 2*3)
	for range 3 * tapGapSlots {
		w.write(6)
		tap.Read(dst) // frees 3 frames: the next write drops again, elsewhere
	}
	// Only the accounting is checked here: Read consumed frames past
	// the gaps' positions.
	buf := make([]float32, 64)
	var total uint64
	for {
		n, gap, _ := tap.ReadGap(buf)
		total += gap
		if n == 0 && gap == 0 {
			break
		}
	}
	w.write(1)
	for {
		n, gap, _ := tap.ReadGap(buf)
		total += gap
		if n == 0 && gap == 0 {
			break
		}
	}
	if total != tap.Dropped() {
		t.Fatalf("gaps add up to %d frames, dropped %d", total, tap.Dropped())
	}
}

// TestTapSlowConsumer: a consumer that stalls now and then, while the
// producer keeps time: the take has every frame at its place, dropped
// frames replaced by exactly as much silence (run with -race).
func TestTapSlowConsumer(t *testing.T) {
	tap := NewTap(1024)
	tap.Enable(true)
	w := &rampWriter{tap: tap}
	const buffers = 3000
	var wg sync.WaitGroup
	wg.Add(1)
	stop := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(stop)
		for i := range buffers {
			w.write(64)
			if i%16 == 0 {
				time.Sleep(100 * time.Microsecond)
			}
		}
	}()
	b := &rebuild{t: t, buf: make([]float32, 2*100)}
	for i := 0; ; i++ {
		b.drain(tap)
		select {
		case <-stop:
			wg.Wait()
			b.drain(tap)
			w.write(64) // fits now: a gap just before it is final
			b.drain(tap)
			if tap.Dropped() == 0 {
				t.Fatal("the consumer never fell behind: the test proved nothing")
			}
			if silent := b.check(); uint64(silent) != tap.Dropped() {
				t.Fatalf("%d silent frames for %d dropped", silent, tap.Dropped())
			}
			if len(b.out) != w.next {
				t.Fatalf("the take has %d frames, the callback wrote %d", len(b.out), w.next)
			}
			t.Logf("%d frames, %d dropped in %d gaps", len(b.out), tap.Dropped(), b.gaps)
			return
		default:
		}
		if i%7 == 0 {
			time.Sleep(3 * time.Millisecond) // the disk is slow
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

func TestTapGapsDoNotAllocate(t *testing.T) {
	tap := NewTap(256)
	tap.Enable(true)
	l, r := make([]float32, 200), make([]float32, 200)
	dst := make([]float32, 2*64)
	if n := testing.AllocsPerRun(1000, func() {
		tap.Write(l, r)
		tap.Write(l, r) // drops
		for {
			n, gap, _ := tap.ReadGap(dst)
			if n == 0 && gap == 0 {
				break
			}
		}
	}); n != 0 {
		t.Fatalf("tap with gaps: %v allocations per write and read", n)
	}
}

// BenchmarkTapWriteDropping is the callback's cost when the consumer is
// stalled and every buffer is dropped (the gap grows in place).
func BenchmarkTapWriteDropping(b *testing.B) {
	t := NewTap(1024)
	t.Enable(true)
	l, r := make([]float32, 128), make([]float32, 128)
	b.ReportAllocs()
	for b.Loop() {
		t.Write(l, r)
	}
}
