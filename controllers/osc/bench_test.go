package osc

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/controllers"
	goosc "github.com/hypebeast/go-osc/osc"
)

func BenchmarkDecodeFloat(b *testing.B) {
	pkt := enc(b, "/1/fader1", float32(0.5))
	var d Decoder
	var ev controllers.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if d.Decode(pkt) != nil || !d.Next(&ev) {
			b.Fatal("decode failed")
		}
	}
}

// BenchmarkDecodeBundle decodes a bundle of four messages, one of them in a
// nested bundle; one op is the whole bundle.
func BenchmarkDecodeBundle(b *testing.B) {
	pkt := bundle(NTPFromTime(time.Now()),
		enc(b, "/3/xy", float32(0.25), float32(0.75)),
		enc(b, "/1/fader1", float32(0.5)),
		bundle(1, enc(b, "/2/push1", float32(1))),
		enc(b, "/text_1", "hello", int32(3)))
	var d Decoder
	var ev controllers.Event
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if d.Decode(pkt) != nil {
			b.Fatal("decode failed")
		}
		for d.Next(&ev) {
		}
	}
}

// BenchmarkGoOSCParseFloat is the reference: go-osc's parser on the same
// message as BenchmarkDecodeFloat.
func BenchmarkGoOSCParseFloat(b *testing.B) {
	s := string(enc(b, "/1/fader1", float32(0.5)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := goosc.ParsePacket(s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	p, a := []byte("/synth/osc[12]/{freq,gain}*"), []byte("/synth/osc2/gain_fine")
	b.ReportAllocs()
	for b.Loop() {
		if ok, _ := Match(p, a); !ok {
			b.Fatal("no match")
		}
	}
}

func benchRouter(b *testing.B, addr string) {
	var r Router
	n := 0
	for _, a := range []string{"/1/fader1", "/1/fader2", "/1/fader3", "/1/fader4", "/1/fader5",
		"/1/toggle1", "/1/toggle2", "/3/xy", "/synth/osc1/freq", "/synth/osc2/freq"} {
		r.HandleFunc(a, func(*controllers.Event) { n++ })
	}
	ev := event(addr)
	b.ReportAllocs()
	for b.Loop() {
		r.Dispatch(ev)
	}
	if n == 0 {
		b.Fatal("nothing dispatched")
	}
}

func BenchmarkRouterExact(b *testing.B)   { benchRouter(b, "/1/fader3") }
func BenchmarkRouterPattern(b *testing.B) { benchRouter(b, "/1/fader[1-3]") }

// BenchmarkUDPLoop measures messages per second through the real loop: a
// client socket on loopback, the UDP reader, the queue and the dispatcher,
// into a counting handler. The client keeps no more messages in flight than
// the socket's receive buffer holds (counting 2 KiB of kernel memory per
// small datagram), so none is lost and every one is counted; a tighter
// window makes the client wait for the dispatcher after every few messages
// and measures wake-up latency instead. allocs/op covers every goroutine,
// the client's writes included.
func BenchmarkUDPLoop(b *testing.B) {
	var n atomic.Int64
	c, _ := start(b, Config{NoTCP: true}, HandlerFunc(func(*controllers.Event) { n.Add(1) }))
	conn := dial(b, c, "")
	pkt := enc(b, "/1/fader1", float32(0.5))
	window := int64(min(max(c.Stats().RecvBuffer/2048, 64), 4096))
	b.ReportAllocs()
	b.ResetTimer()
	began := time.Now()
	for i := 0; i < b.N; i++ {
		for int64(i)-n.Load() >= window {
			runtime.Gosched()
		}
		if _, err := conn.Write(pkt); err != nil {
			b.Fatal(err)
		}
	}
	for n.Load() < int64(b.N) {
		runtime.Gosched()
		if time.Since(began) > time.Minute {
			b.Fatalf("%d of %d messages arrived", n.Load(), b.N)
		}
	}
	elapsed := time.Since(began)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(window), "window")
	if s := c.Stats(); s.DroppedTotal() != 0 || s.Handled != uint64(b.N) {
		b.Fatalf("stats %+v", s)
	}
}
