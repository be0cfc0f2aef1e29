package osc

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// MaxClients bounds the client table. Source ids run from 1 to
// MaxClients-1; 0 means "no client" (SendExcept(0, p) excepts nobody).
// When the table is full, the UDP client heard from least recently gives
// up its id.
const MaxClients = 1024

// Client describes one OSC client: a UDP host:port or a TCP connection.
type Client struct {
	Source  uint16         // the id carried in controllers.Event.Source
	Addr    netip.AddrPort // the client's address (for TCP the connection's remote end)
	TCP     bool           // a TCP connection rather than a UDP sender
	First   time.Time      // first packet (UDP) or connection time (TCP)
	Last    time.Time      // last packet, or First if none yet
	Packets uint64         // packets (UDP datagrams, TCP frames) received
	Dropped uint64         // of those, packets dropped as bad
}

// limiter lets one log line through per second and counts the rest.
type limiter struct {
	last       atomic.Int64 // UnixNano of the last line let through
	suppressed atomic.Uint64
}

// allow reports whether a line may be logged at now (UnixNano) and, if so,
// how many were suppressed since the last one.
func (l *limiter) allow(now int64) (uint64, bool) {
	last := l.last.Load()
	if last != 0 && now-last < int64(time.Second) || !l.last.CompareAndSwap(last, now) {
		l.suppressed.Add(1)
		return 0, false
	}
	return l.suppressed.Swap(0), true
}

// clientSlot is one entry of the table; its index is the Source id.
type clientSlot struct {
	// Guarded by clientTable.mu.
	used  bool
	addr  netip.AddrPort
	conn  *tcpConn
	first int64

	last    atomic.Int64 // UnixNano
	packets atomic.Uint64
	dropped atomic.Uint64
	log     limiter
}

// clientTable maps client addresses to small Source ids. Readers take the
// mutex only for a client they have not seen (or after an id was
// reassigned, which bumps gen); everything per packet is atomic.
type clientTable struct {
	mu    sync.Mutex
	slots [MaxClients]clientSlot
	udp   map[netip.AddrPort]uint16
	gen   atomic.Uint64
}

// take claims a free slot, evicting the least recently heard UDP client if
// none is free. It returns 0 if every slot holds a TCP connection.
// Called with mu held.
func (t *clientTable) take(addr netip.AddrPort, conn *tcpConn, now int64) uint16 {
	id, oldest := 0, int64(0)
	for i := 1; i < MaxClients; i++ {
		s := &t.slots[i]
		if !s.used {
			id = i
			break
		}
		if s.conn == nil && (id == 0 || s.last.Load() < oldest) {
			id, oldest = i, s.last.Load()
		}
	}
	if id == 0 {
		return 0
	}
	s := &t.slots[id]
	if s.used {
		delete(t.udp, s.addr)
		t.gen.Add(1)
	}
	s.used, s.addr, s.conn, s.first = true, addr, conn, now
	s.last.Store(now)
	s.packets.Store(0)
	s.dropped.Store(0)
	s.log.last.Store(0)
	s.log.suppressed.Store(0)
	return uint16(id)
}

// udpID returns the id of the UDP client at addr, giving it one if new.
func (t *clientTable) udpID(addr netip.AddrPort, now int64) uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if id, ok := t.udp[addr]; ok {
		return id
	}
	if t.udp == nil {
		t.udp = make(map[netip.AddrPort]uint16)
	}
	id := t.take(addr, nil, now)
	if id != 0 {
		t.udp[addr] = id
	}
	return id
}

// tcpID gives the TCP connection an id; 0 if the table is full of TCP
// connections.
func (t *clientTable) tcpID(conn *tcpConn, now int64) uint16 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.take(conn.peer, conn, now)
}

// release frees a TCP connection's id.
func (t *clientTable) release(id uint16) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.slots[id]
	if s.used && s.conn != nil {
		s.used, s.conn = false, nil
		t.gen.Add(1)
	}
}

// lookup returns the address and (for TCP) connection of id.
func (t *clientTable) lookup(id uint16) (netip.AddrPort, *tcpConn, bool) {
	if id == 0 || int(id) >= MaxClients {
		return netip.AddrPort{}, nil, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.slots[id]
	return s.addr, s.conn, s.used
}

// client describes slot id; called with mu held.
func (t *clientTable) client(id uint16) Client {
	s := &t.slots[id]
	return Client{
		Source:  id,
		Addr:    s.addr,
		TCP:     s.conn != nil,
		First:   time.Unix(0, s.first),
		Last:    time.Unix(0, s.last.Load()),
		Packets: s.packets.Load(),
		Dropped: s.dropped.Load(),
	}
}

// udpCache remembers a reader's last client so that a stream of packets
// from one tablet skips the table's mutex.
type udpCache struct {
	addr netip.AddrPort
	id   uint16
	gen  uint64
}

// lookup returns the Source id for addr, using the cache when still valid.
func (c *udpCache) lookup(t *clientTable, addr netip.AddrPort, now int64) uint16 {
	gen := t.gen.Load()
	if c.id != 0 && c.addr == addr && c.gen == gen {
		return c.id
	}
	id := t.udpID(addr, now)
	*c = udpCache{addr: addr, id: id, gen: gen}
	return id
}
