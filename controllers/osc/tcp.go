package osc

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// SLIP bytes (RFC 1055), as OSC 1.1 uses them for framing on streams.
const (
	slipEnd    = 0xC0
	slipEsc    = 0xDB
	slipEscEnd = 0xDC
	slipEscEsc = 0xDD
)

// framing is the packet framing of a TCP stream.
type framing uint32

const (
	framingUnknown framing = iota // nothing read yet
	framingSize                   // OSC 1.0: a big-endian int32 size before each packet
	framingSLIP                   // OSC 1.1: double-ended SLIP
)

// TCP limits: together with Config.MaxTCPConns they bound the memory one
// client, and all of them, can hold.
const (
	tcpReadBuf   = 16 << 10  // bytes read from the socket at once
	tcpOutQueue  = 64        // packets waiting to be written to one client
	tcpOutBytes  = 256 << 10 // bytes waiting to be written to one client
	maxSkipFrame = 16 << 20  // a size prefix above this closes the connection
)

var errBadSize = errors.New("osc: negative or absurd TCP frame size")

// frameSink receives what a framer finds in the stream.
type frameSink interface {
	frame(pkt []byte)    // one complete packet; valid only during the call
	badFrame(why Reason) // a frame that was dropped
}

// framer splits a TCP byte stream into OSC packets. The framing is chosen
// by the first byte: SLIP streams start with END (0xC0), size-prefixed ones
// with the high byte of a size, which is never 0xC0 for a valid size. It
// holds at most MaxPacket bytes of a frame, whatever the client sends.
type framer struct {
	mode  framing
	frame []byte // the frame so far; capacity MaxPacket
	open  bool   // a frame has started and not ended
	n     uint64 // frames started, to tell one open frame from the next

	// size-prefix framing
	hdr  [4]byte
	hdrN int
	need int // payload bytes still to come
	skip int // bytes of an oversized frame still to discard

	// SLIP framing
	esc      bool // the previous byte was ESC
	bad      bool // this frame had a bad escape
	overflow bool // this frame grew past MaxPacket
}

// feed processes p, reporting frames to s. It returns an error only when the
// stream cannot be resynchronised (a negative or absurd size prefix).
func (f *framer) feed(p []byte, s frameSink) error {
	if f.frame == nil {
		f.frame = make([]byte, 0, MaxPacket)
	}
	if f.mode == framingUnknown && len(p) > 0 {
		f.mode = detectFraming(p[0])
	}
	if f.mode == framingSLIP {
		f.feedSLIP(p, s)
		return nil
	}
	for len(p) > 0 {
		if f.skip > 0 {
			k := min(f.skip, len(p))
			f.skip -= k
			p = p[k:]
			if f.skip == 0 {
				f.open = false
			}
			continue
		}
		if f.need == 0 {
			if f.hdrN == 0 {
				f.open = true
				f.n++
			}
			k := copy(f.hdr[f.hdrN:], p)
			f.hdrN += k
			p = p[k:]
			if f.hdrN < 4 {
				return nil
			}
			f.hdrN = 0
			size := int32(binary.BigEndian.Uint32(f.hdr[:]))
			switch {
			case size < 0 || size > maxSkipFrame:
				return errBadSize
			case size == 0:
				f.open = false
				s.badFrame(ReasonEmpty)
			case size > MaxPacket:
				f.skip = int(size)
				s.badFrame(ReasonOversized)
			default:
				f.need = int(size)
				f.frame = f.frame[:0]
			}
			continue
		}
		k := min(f.need, len(p))
		f.frame = append(f.frame, p[:k]...)
		f.need -= k
		p = p[k:]
		if f.need == 0 {
			f.open = false
			s.frame(f.frame)
		}
	}
	return nil
}

func (f *framer) feedSLIP(p []byte, s frameSink) {
	for _, c := range p {
		if c == slipEnd {
			switch {
			case f.overflow:
				s.badFrame(ReasonOversized)
			case f.bad || f.esc:
				s.badFrame(ReasonBadFrame)
			case len(f.frame) > 0:
				s.frame(f.frame)
			}
			// An empty frame (END END) is normal in double-ended SLIP.
			f.frame, f.open, f.esc, f.bad, f.overflow = f.frame[:0], false, false, false, false
			continue
		}
		if !f.open {
			f.open = true
			f.n++
		}
		if f.esc {
			f.esc = false
			switch c {
			case slipEscEnd:
				c = slipEnd
			case slipEscEsc:
				c = slipEsc
			default:
				f.bad = true
				continue
			}
		} else if c == slipEsc {
			f.esc = true
			continue
		}
		if len(f.frame) == MaxPacket {
			f.overflow = true
			continue
		}
		f.frame = append(f.frame, c)
	}
}

// detectFraming tells the framing of a stream from its first byte.
func detectFraming(first byte) framing {
	if first == slipEnd {
		return framingSLIP
	}
	return framingSize
}

// appendFrame appends pkt to dst framed as mode (size prefix by default).
func appendFrame(dst, pkt []byte, mode framing) []byte {
	if mode != framingSLIP {
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(pkt)))
		return append(dst, pkt...)
	}
	dst = append(dst, slipEnd)
	for _, c := range pkt {
		switch c {
		case slipEnd:
			dst = append(dst, slipEsc, slipEscEnd)
		case slipEsc:
			dst = append(dst, slipEsc, slipEscEsc)
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, slipEnd)
}

// tcpConn is one TCP client: a reader goroutine (framing, decoding, queueing
// to the dispatcher) and a writer goroutine (feedback and replies from a
// bounded queue, so a client that does not read cannot block the Sender).
type tcpConn struct {
	c    *Controller
	nc   *net.TCPConn
	peer netip.AddrPort
	id   uint16

	mode   atomic.Uint32 // the client's framing, once seen
	out    chan []byte
	queued atomic.Int64 // bytes in out
	done   chan struct{}
	once   sync.Once
	why    atomic.Pointer[string] // why the connection was closed by us

	// Reader goroutine only.
	fr  framer
	in  input
	now time.Time
}

// enqueue queues pkt for writing; false if the queue is full or closed.
func (t *tcpConn) enqueue(pkt []byte) bool {
	select {
	case <-t.done:
		return false
	default:
	}
	n := int64(len(pkt))
	if t.queued.Add(n) > tcpOutBytes {
		t.queued.Add(-n)
		return false
	}
	select {
	case t.out <- pkt:
		return true
	default:
		t.queued.Add(-n)
		return false
	}
}

// close shuts the connection once, recording why (empty: the client
// closed it or the Controller is closing).
func (t *tcpConn) close(why string) {
	t.once.Do(func() {
		if why != "" {
			t.why.Store(&why)
		}
		close(t.done)
		t.nc.Close()
	})
}

// readLoop reads frames until the connection ends.
func (t *tcpConn) readLoop() {
	c := t.c
	defer c.wg.Done()
	defer c.dropConn(t)
	buf := make([]byte, tcpReadBuf)
	var deadlineFor uint64 // frame number the read deadline was set for; 0 = none
	for {
		n, err := t.nc.Read(buf)
		if n > 0 {
			t.now = time.Now()
			if t.fr.mode == framingUnknown {
				// Before any frame is queued, so that a reply (to /ping,
				// say) is written in the client's framing.
				t.mode.Store(uint32(detectFraming(buf[0])))
			}
			if ferr := t.fr.feed(buf[:n], t); ferr != nil {
				c.drop(ReasonBadFrame, t.id, t.peer, true, nil, 0, 4, t.now)
				t.close("its frame size prefix is negative or absurd")
				return
			}
			// A frame that has started must be finished within
			// FrameTimeout, so a client cannot hold a frame buffer open
			// by trickling bytes; an idle connection may stay open.
			switch {
			case t.fr.open && deadlineFor != t.fr.n:
				t.nc.SetReadDeadline(t.now.Add(c.cfg.FrameTimeout))
				deadlineFor = t.fr.n
			case !t.fr.open && deadlineFor != 0:
				t.nc.SetReadDeadline(time.Time{})
				deadlineFor = 0
			}
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.close("it did not finish a frame in time")
			} else {
				t.close("")
			}
			return
		}
	}
}

// frame implements frameSink: one complete packet from the stream.
func (t *tcpConn) frame(pkt []byte) {
	c := t.c
	c.stats.packets.Add(1)
	s := &c.clients.slots[t.id]
	s.packets.Add(1)
	s.last.Store(t.now.UnixNano())
	c.packet(&t.in, pkt, t.id, t.peer, true, t.now)
}

// badFrame implements frameSink.
func (t *tcpConn) badFrame(why Reason) {
	c := t.c
	c.stats.packets.Add(1)
	c.clients.slots[t.id].packets.Add(1)
	c.drop(why, t.id, t.peer, true, nil, 0, 0, t.now)
}

// writeLoop writes queued packets with the client's framing. A write that
// cannot finish within Config.WriteTimeout closes the connection.
func (t *tcpConn) writeLoop() {
	c := t.c
	defer c.wg.Done()
	var buf []byte
	for {
		select {
		case pkt := <-t.out:
			t.queued.Add(-int64(len(pkt)))
			buf = appendFrame(buf[:0], pkt, framing(t.mode.Load()))
			t.nc.SetWriteDeadline(time.Now().Add(c.cfg.WriteTimeout))
			if _, err := t.nc.Write(buf); err != nil {
				c.stats.feedbackDropped.Add(1)
				t.close("it did not read what we sent in time")
				return
			}
		case <-t.done:
			return
		}
	}
}

// acceptLoop accepts TCP clients until the listener closes.
func (c *Controller) acceptLoop() {
	defer c.wg.Done()
	for {
		nc, err := c.tcp.AcceptTCP()
		if err != nil {
			if c.isClosing() || errors.Is(err, net.ErrClosed) {
				return
			}
			c.stats.readErrors.Add(1)
			c.logf(logRec{kind: logAcceptErr, err: err})
			select {
			case <-time.After(5 * time.Millisecond):
			case <-c.done:
				return
			}
			continue
		}
		now := time.Now()
		ap := nc.RemoteAddr().(*net.TCPAddr).AddrPort()
		peer := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		// Count before closing, so that a client seeing the close also sees
		// the count.
		if !c.allowed(peer.Addr()) {
			c.drop(ReasonDenied, 0, peer, true, nil, 0, 0, now)
			nc.Close()
			continue
		}
		t := &tcpConn{c: c, nc: nc, peer: peer, out: make(chan []byte, tcpOutQueue), done: make(chan struct{})}
		if !c.addConn(t, now) {
			c.stats.tcpRejected.Add(1)
			if _, ok := c.refused.allow(now.UnixNano()); ok {
				c.logf(logRec{kind: logRefused, from: peer, tcp: true})
			} else {
				c.stats.logsSuppressed.Add(1)
			}
			nc.Close()
			continue
		}
		nc.SetNoDelay(true)
		c.stats.tcpAccepted.Add(1)
		c.logf(logRec{kind: logConnected, from: peer, source: t.id, tcp: true})
		c.wg.Add(2)
		go t.readLoop()
		go t.writeLoop()
	}
}

// addConn registers t and gives it an id, unless MaxTCPConns are open or
// the client table is full.
func (c *Controller) addConn(t *tcpConn, now time.Time) bool {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if c.conns == nil || len(c.conns) >= c.cfg.MaxTCPConns {
		return false
	}
	t.id = c.clients.tcpID(t, now.UnixNano())
	if t.id == 0 {
		return false
	}
	c.conns[t] = struct{}{}
	c.stats.tcpOpen.Add(1)
	return true
}

// dropConn forgets a closed connection.
func (c *Controller) dropConn(t *tcpConn) {
	t.close("")
	c.connMu.Lock()
	_, ok := c.conns[t]
	delete(c.conns, t)
	c.connMu.Unlock()
	if !ok {
		return
	}
	c.clients.release(t.id)
	c.stats.tcpOpen.Add(^uint64(0))
	rec := logRec{kind: logDisconnected, from: t.peer, source: t.id, tcp: true}
	if why := t.why.Load(); why != nil {
		rec.why = *why
	}
	c.logf(rec)
}
