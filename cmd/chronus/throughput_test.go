package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	goosc "github.com/hypebeast/go-osc/osc"
	"golang.org/x/sys/unix"
)

// statsConn asks a running instrument for its /stats counters over TCP
// (OSC 1.0 size-prefix framing), so replies come back on the same
// connection whatever --osc-reply-port says.
type statsConn struct {
	tb      testing.TB
	conn    net.Conn
	r       *bufio.Reader
	queries int // queries sent, each one TCP frame the instrument counts as a packet
}

func dialStats(tb testing.TB, port int) *statsConn {
	tb.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return &statsConn{tb: tb, conn: c, r: bufio.NewReader(c)}
}

// query sends addr (/stats, /stats/reset or /stats/probe) and returns the
// reply's name/value pairs.
func (s *statsConn) query(addr string) map[string]int64 {
	s.tb.Helper()
	b, err := goosc.NewMessage(addr).MarshalBinary()
	if err != nil {
		s.tb.Fatal(err)
	}
	frame := binary.BigEndian.AppendUint32(nil, uint32(len(b)))
	if _, err := s.conn.Write(append(frame, b...)); err != nil {
		s.tb.Fatal(err)
	}
	s.queries++
	s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var size [4]byte
		if _, err := io.ReadFull(s.r, size[:]); err != nil {
			s.tb.Fatalf("reading the reply to %s: %v", addr, err)
		}
		pkt := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(s.r, pkt); err != nil {
			s.tb.Fatal(err)
		}
		p, err := goosc.ParsePacket(string(pkt))
		if err != nil {
			s.tb.Fatal(err)
		}
		m, ok := p.(*goosc.Message)
		if !ok {
			continue // feedback bundles
		}
		if m.Address == "/stats/error" {
			s.tb.Fatalf("%s: %v", addr, m.Arguments)
		}
		if m.Address != "/stats" {
			continue // feedback
		}
		out := map[string]int64{}
		for i := 0; i+1 < len(m.Arguments); i += 2 {
			name, _ := m.Arguments[i].(string)
			v, _ := m.Arguments[i+1].(int64)
			out[name] = v
		}
		return out
	}
}

// monoNs is CLOCK_MONOTONIC in ns: the clock the engine stamps its
// callbacks with, shared by every process on the machine.
func monoNs() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// udpDrops returns the kernel's drop count for the UDP socket bound to port
// (/proc/net/udp and udp6, last column), or -1 if it is not listed.
func udpDrops(port int) int64 {
	want := fmt.Sprintf(":%04X", port)
	var total int64 = -1
	for _, f := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fs := strings.Fields(line)
			if len(fs) < 13 || !strings.HasSuffix(fs[1], want) {
				continue
			}
			d, err := strconv.ParseInt(fs[len(fs)-1], 10, 64)
			if err == nil {
				total = max(total, 0) + d
			}
		}
	}
	return total
}

// cpuTicks is the user+system CPU time of process pid in clock ticks
// (1/100 s on Linux), or -1.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	fs := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	if len(fs) < 13 {
		return -1
	}
	u, _ := strconv.ParseInt(fs[11], 10, 64)
	k, _ := strconv.ParseInt(fs[12], 10, 64)
	return u + k
}

// envDuration reads a duration from the environment, or returns def.
func envDuration(tb testing.TB, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return d
}

// keyboardPackets pre-encodes n messages for the Open Stage Control map's
// /chronus/keyboard [key, velocity] (channel 1): note-on, note-off of the
// same key, note-on of the next, and so on. Note-on j carries the sequence
// number j mod 16256 as key*127 + velocity-1, which the instrument's
// note-order check (stats.go) follows.
func keyboardPackets(tb testing.TB, n int) [][]byte {
	tb.Helper()
	pkts := make([][]byte, n)
	for i := range pkts {
		j := (i / 2) % orderMod
		key, vel := j/127, j%127+1
		v := float32(vel) / 127
		if i%2 == 1 {
			v = 0 // release
		}
		b, err := goosc.NewMessage("/chronus/keyboard", float32(key), v).MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		pkts[i] = b
	}
	return pkts
}

// BenchmarkOSCThroughput floods a real `chronus run --output null` with OSC
// over UDP on 127.0.0.1 at CHRONUS_OSC_RATE messages a second (default
// 50000) for CHRONUS_SOAK (default 3 s), from one Go sender writing
// pre-encoded datagrams, paced every 200 µs. The messages are note-ons and
// note-offs on /chronus/keyboard, numbered (see keyboardPackets).
//
// Measured through the instrument's /stats reply (stats.go), as the
// difference between a reply before the flood and one after it has drained:
//
//   - msgs/s: datagrams sent / time the sender took (the rate achieved);
//   - lost: datagrams sent that the OSC controller never read (the kernel
//     dropped them: socket buffer full); kernel-drops is the socket's own
//     drop counter from /proc/net/udp, as a cross-check;
//   - not-applied: messages whose command did not reach engine.Send
//     successfully (lost, unmapped or refused as busy);
//   - reordered: note-ons that reached the engine with a smaller number
//     than the one before (gaps from loss are counted apart, as skipped);
//   - underruns: blocks the engine played as silence during the flood;
//   - gap-max-ms: the longest time between two consecutive audio callback
//     ends, sampled every 250 µs inside the instrument (gap-missed counts
//     the steps where the sampler saw more than one callback at once, whose
//     gaps are unknown; GC pauses and scheduling stalls show here);
//   - cb-max-ms: the longest audio callback (engine statistics, since start);
//   - instrument-cpu-%: CPU time of the chronus process (not its workers)
//     during the flood, in percent of one core.
func BenchmarkOSCThroughput(b *testing.B) {
	d := envDuration(b, "CHRONUS_SOAK", 3*time.Second)
	rate := 50000.0
	if v := os.Getenv("CHRONUS_OSC_RATE"); v != "" {
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil {
			b.Fatal(err)
		}
	}
	n := int(rate * d.Seconds())
	n -= n % 2
	pkts := keyboardPackets(b, n)
	for i := 0; i < b.N; i++ {
		in := startInstrumentWith(b, false)
		st := dialStats(b, in.port)
		conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: in.port})
		if err != nil {
			b.Fatal(err)
		}
		conn.SetWriteBuffer(4 << 20)
		time.Sleep(time.Second) // workers and the spare settle
		drops0 := udpDrops(in.port)
		before := st.query("/stats/reset")
		q0 := st.queries

		cpu0 := cpuTicks(in.cmd.Process.Pid)
		began := time.Now()
		sent := 0
		for sent < n {
			due := min(n, int(time.Since(began).Seconds()*rate)+1)
			for ; sent < due; sent++ {
				if _, err := conn.Write(pkts[sent]); err != nil {
					b.Fatalf("send %d: %v", sent, err)
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
		took := time.Since(began)
		cpu := float64(cpuTicks(in.cmd.Process.Pid)-cpu0) / 100 / took.Seconds()
		conn.Close()

		// Drain: wait until the instrument has handled everything it read.
		var after map[string]int64
		for deadline := time.Now().Add(10 * time.Second); ; {
			time.Sleep(100 * time.Millisecond)
			after = st.query("/stats")
			tcp := int64(st.queries - q0) // our queries are TCP frames
			if after["osc_handled"]-before["osc_handled"]-tcp >= int64(n) || time.Now().After(deadline) {
				time.Sleep(300 * time.Millisecond)
				after = st.query("/stats")
				break
			}
		}
		tcp := int64(st.queries - q0)
		delta := func(k string) float64 { return float64(after[k] - before[k]) }
		got := delta("osc_packets") - float64(tcp)
		lost := float64(n) - got
		applied := delta("cmds_sent")
		kdrops := float64(-1)
		if d1 := udpDrops(in.port); d1 >= 0 && drops0 >= 0 {
			kdrops = float64(d1 - drops0)
		}
		in.terminateQuiet()

		b.ReportMetric(float64(n)/took.Seconds(), "msgs/s")
		b.ReportMetric(lost, "lost")
		b.ReportMetric(kdrops, "kernel-drops")
		b.ReportMetric(float64(n)-applied, "not-applied")
		b.ReportMetric(delta("order_backward"), "reordered")
		b.ReportMetric(delta("order_skipped"), "skipped")
		b.ReportMetric(delta("underruns"), "underruns")
		b.ReportMetric(float64(after["gap_max_ns"])/1e6, "gap-max-ms")
		b.ReportMetric(delta("gap_missed"), "gap-missed")
		b.ReportMetric(float64(after["callback_max_ns"])/1e6, "cb-max-ms")
		b.ReportMetric(float64(after["osc_recv_buffer"]), "rcvbuf-bytes")
		b.ReportMetric(100*cpu, "instrument-cpu-%")
		b.Logf("sent %d in %v; instrument read %.0f, handled %.0f, commands sent %.0f (refused %.0f), in order %.0f, stray offs %.0f, osc dropped %.0f",
			n, took.Round(time.Millisecond), got, delta("osc_handled")-float64(tcp), applied, delta("cmds_refused"),
			delta("order_in"), delta("order_stray_offs"), delta("osc_dropped"))
	}
}

// BenchmarkOSCLatency measures the time from a UDP packet to the first
// sample of the note it starts: p50 and p99 (nearest rank, so the largest
// below 100 notes) over CHRONUS_LATENCY_NOTES notes (default 60, about 15 s),
// with CHRONUS_LATENCY_FLAGS added to `chronus run` (e.g. "--lead 2").
//
// Method. The benchmark reads CLOCK_MONOTONIC just before it writes each
// datagram (a closed hi-hat, /2/push3 of the TouchOSC map, after at least
// 100 ms of exact digital silence; effects are dry). Inside the instrument,
// /stats/probe (stats.go) reads the engine's output tap from a frame fixed
// in advance, so every tapped sample has its engine frame, and finds the
// first non-zero sample after 4800 zero frames. A sampler polling the play
// position every 250 µs knows when each audio callback returned (the engine
// stamps that with CLOCK_MONOTONIC, the same clock in every process); the
// onset is timed at the return of the callback whose frames include it.
// On the null device that is when the sample is handed to the "card"; on a
// real card the card's own output latency (typically one or two buffers) is
// added on top and is not measured here. The latency covers the sender's
// syscall, loopback, the OSC read loop and decoder, the dispatcher, the
// map, engine.Send, the wait for the next callback (up to one device buffer,
// uniformly distributed because notes are sent at random times), the
// workers' lead and the synth's look-ahead. inexact counts onsets whose
// callback the sampler did not see by itself (timed at a later callback,
// so too late by up to a buffer); they are kept, not hidden.
func BenchmarkOSCLatency(b *testing.B) {
	notes := 60
	if v := os.Getenv("CHRONUS_LATENCY_NOTES"); v != "" {
		var err error
		if notes, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	on, _ := goosc.NewMessage("/2/push3", float32(1)).MarshalBinary()
	off, _ := goosc.NewMessage("/2/push3", float32(0)).MarshalBinary()
	for i := 0; i < b.N; i++ {
		in := launch(b, nil, false, strings.Fields(os.Getenv("CHRONUS_LATENCY_FLAGS"))...)
		st := dialStats(b, in.port)
		conn, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: in.port})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range []*goosc.Message{goosc.NewMessage("/mod/reverb/mix", float32(0)), goosc.NewMessage("/mod/delay/mix", float32(0))} {
			p, _ := m.MarshalBinary()
			conn.Write(p)
		}
		time.Sleep(time.Second)
		st.query("/stats/reset")
		last := st.query("/stats/probe")
		time.Sleep(700 * time.Millisecond) // the tap starts 0.5 s ahead
		var lat []float64
		inexact := 0
		for k := 0; k < notes; k++ {
			// Random spacing, so the packets fall at every phase of the
			// device buffer.
			time.Sleep(time.Duration(150+rand.IntN(100)) * time.Millisecond)
			t0 := monoNs()
			if _, err := conn.Write(on); err != nil {
				b.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			conn.Write(off)
			var r map[string]int64
			for deadline := time.Now().Add(2 * time.Second); ; {
				r = st.query("/stats")
				if r["onsets"] > last["onsets"] || time.Now().After(deadline) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if r["probing"] != 1 {
				b.Fatalf("the probe stopped: %v", r)
			}
			if got := r["onsets"] - last["onsets"]; got != 1 {
				b.Fatalf("note %d: %d onsets found, want 1 (is the output silent between notes?)", k, got)
			}
			if r["onset_exact"] == 0 {
				inexact++
			}
			lat = append(lat, float64(r["onset_mono_ns"]-t0)/1e6)
			last = r
		}
		end := st.query("/stats")
		in.terminateQuiet()
		slices.Sort(lat)
		// Nearest rank: with fewer than 100 notes p99 is the largest.
		pct := func(p float64) float64 { return lat[max(0, int(math.Ceil(p*float64(len(lat))))-1)] }
		b.ReportMetric(pct(0.50), "p50-ms")
		b.ReportMetric(pct(0.99), "p99-ms")
		b.ReportMetric(lat[0], "min-ms")
		b.ReportMetric(lat[len(lat)-1], "max-ms")
		b.ReportMetric(float64(inexact), "inexact")
		b.ReportMetric(float64(end["underruns"]), "underruns")
		b.Logf("%d notes, latencies (ms): %.2f", len(lat), lat)
	}
}
