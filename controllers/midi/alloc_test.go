package midi

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	gomidi "gitlab.com/gomidi/midi/v2"
	"gitlab.com/gomidi/midi/v2/drivers/testdrv"

	"github.com/chronus-audio/chronus/controllers"
)

// counting is a Handler that only counts, so that it allocates nothing itself.
type counting struct{ n atomic.Int64 }

func (h *counting) HandleEvent(*controllers.Event) { h.n.Add(1) }

// direct starts a Controller on one fake input and returns the raw callback
// the driver was given, bypassing gomidi's reader (which allocates the
// message slice it hands over).
func direct(tb testing.TB) (*Controller, *counting, func([]byte, int32)) {
	tb.Helper()
	fd := &fakeDriver{}
	in := fd.plugIn("Keys")
	fd.plugOut("Keys")
	h := &counting{}
	c, err := New(fd, Config{Poll: time.Hour, Outputs: []string{"keys"}}, h, zeroLog())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	in.mu.Lock()
	cb := in.onMsg
	in.mu.Unlock()
	return c, h, cb
}

// waitCount spins until the handler has seen n events.
func waitCount(h *counting, n int64) {
	for h.n.Load() < n {
		runtime.Gosched()
	}
}

func TestCallbackToHandlerDoesNotAllocate(t *testing.T) {
	c, h, cb := direct(t)
	msg := []byte{0x90, 60, 100}
	var n int64
	allocs := testing.AllocsPerRun(1000, func() {
		cb(msg, 0)
		n++
		waitCount(h, n)
	})
	if allocs != 0 {
		t.Errorf("driver callback to handler: %v allocations per note-on, want 0", allocs)
	}
	// With a recent send pending, the echo check takes its slow path.
	if err := c.Send(0, []byte{0xB0, 1, 1}); err != nil {
		t.Fatal(err)
	}
	allocs = testing.AllocsPerRun(1000, func() {
		cb(msg, 0)
		n++
		waitCount(h, n)
	})
	if allocs != 0 {
		t.Errorf("with the echo check: %v allocations per note-on, want 0", allocs)
	}
}

func TestSendDoesNotAllocate(t *testing.T) {
	c, _, _ := direct(t)
	c.outs[0].port.(*fakeOut).count = true
	msg := []byte{0xB0, 7, 100}
	if allocs := testing.AllocsPerRun(1000, func() {
		if err := c.Send(0, msg); err != nil {
			t.Fatal(err)
		}
	}); allocs != 0 {
		t.Errorf("Send: %v allocations, want 0", allocs)
	}
}

// BenchmarkCallbackToHandler: one note-on from the driver's callback to the
// handler on the delivery goroutine, waiting for each (a latency, not a
// throughput figure).
func BenchmarkCallbackToHandler(b *testing.B) {
	_, h, cb := direct(b)
	msg := []byte{0x90, 60, 100}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cb(msg, 0)
		waitCount(h, int64(i+1))
	}
}

// BenchmarkTestdrvNoteOn: the same through testdrv and gomidi's reader, whose
// allocations are included.
func BenchmarkTestdrvNoteOn(b *testing.B) {
	drv := testdrv.New(b.Name())
	h := &counting{}
	c, err := New(drv, Config{Poll: time.Hour}, h, zeroLog())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	outs, _ := drv.Outs()
	send, _ := gomidi.SendTo(outs[0])
	msg := gomidi.NoteOn(0, 60, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := send(msg); err != nil {
			b.Fatal(err)
		}
		waitCount(h, int64(i+1))
	}
}
