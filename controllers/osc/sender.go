package osc

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync/atomic"

	goosc "github.com/hypebeast/go-osc/osc"

	"github.com/chronus-audio/chronus/controllers"
)

// Packet is an OSC message or bundle to send (go-osc's type: build one with
// NewMessage, or go-osc's NewBundle).
type Packet = goosc.Packet

// Message is an OSC message to send (go-osc's type). Arguments may be
// int32, int64, float32, float64, string, []byte, bool, nil or a go-osc
// Timetag value; a Go int is not accepted by go-osc's encoder.
type Message = goosc.Message

// NewMessage returns a message for address with the given arguments.
func NewMessage(address string, args ...any) *Message { return goosc.NewMessage(address, args...) }

// DefaultReplyPort is the UDP port replies and feedback go to on a client's
// host, TouchOSC's default incoming port.
const DefaultReplyPort = 9000

var errNotStarted = errors.New("osc: sender has no socket (controller not started or closed)")

// Sender sends OSC packets (feedback to the tablets, replies) over one
// long-lived UDP socket, and over the TCP connections of TCP clients. It
// encodes with go-osc's MarshalBinary; unlike go-osc's Client it never
// resolves or dials per send.
//
// The Sender of a Controller sends from the Controller's listening socket,
// so replies come from the port the clients send to. Its destinations are
// the configured feedback hosts plus every client in the Controller's table:
// a UDP client at its host on the reply port (or at its own port with
// Config.ReplyToSource), a TCP client over its connection, with the framing
// it uses. Addresses are deduplicated, so two senders on one host get one
// copy.
//
// All methods are safe for concurrent use. They allocate (encoding does) and
// may block briefly in a UDP write, so call them from a normal goroutine,
// never from the audio thread.
type Sender struct {
	conn      atomic.Pointer[net.UDPConn]
	own       bool
	clients   *clientTable
	stats     *counters
	replyPort uint16
	toSource  bool
	targets   []netip.AddrPort
}

// NewSender returns a standalone Sender with its own UDP socket (any free
// port) that sends to targets. Close it when done.
func NewSender(targets ...netip.AddrPort) (*Sender, error) {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{})
	if err != nil {
		return nil, fmt.Errorf("osc: open sender socket: %w", err)
	}
	s := &Sender{own: true, stats: new(counters), targets: append([]netip.AddrPort(nil), targets...)}
	s.conn.Store(conn)
	return s, nil
}

// Close closes a standalone Sender's socket. For a Controller's Sender it
// does nothing: Controller.Close closes the socket.
func (s *Sender) Close() error {
	if !s.own {
		return nil
	}
	if c := s.conn.Swap(nil); c != nil {
		return c.Close()
	}
	return nil
}

// LocalAddr returns the address packets are sent from.
func (s *Sender) LocalAddr() netip.AddrPort {
	if c := s.conn.Load(); c != nil {
		return c.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	return netip.AddrPort{}
}

// Send sends p to every destination.
func (s *Sender) Send(p Packet) error { return s.broadcast(0, p) }

// SendExcept sends p to every destination except the client source (its
// reply address or TCP connection), so that a value a client just sent is
// not echoed back to it. source 0 excepts nobody.
func (s *Sender) SendExcept(source uint16, p Packet) error { return s.broadcast(source, p) }

// Reply sends p to the client source only: over its TCP connection, or by
// UDP to its reply address.
func (s *Sender) Reply(source uint16, p Packet) error {
	if s.clients == nil {
		return fmt.Errorf("osc: reply to source %d: a standalone sender has no clients", source)
	}
	addr, conn, ok := s.clients.lookup(source)
	if !ok {
		return fmt.Errorf("osc: reply to source %d: no such client", source)
	}
	b, err := s.encode(p)
	if err != nil {
		return err
	}
	if conn != nil {
		return s.sendTCP(conn, b)
	}
	return s.write(b, s.replyAddr(addr))
}

// SendTo sends p by UDP to dst.
func (s *Sender) SendTo(dst netip.AddrPort, p Packet) error {
	b, err := s.encode(p)
	if err != nil {
		return err
	}
	return s.write(b, dst)
}

// replyAddr is where feedback for the UDP client at addr goes.
func (s *Sender) replyAddr(addr netip.AddrPort) netip.AddrPort {
	if s.toSource {
		return addr
	}
	return netip.AddrPortFrom(addr.Addr(), s.replyPort)
}

func (s *Sender) encode(p Packet) ([]byte, error) {
	if p == nil {
		s.stats.feedbackDropped.Add(1)
		return nil, errors.New("osc: send of a nil packet")
	}
	b, err := p.MarshalBinary()
	if err != nil {
		s.stats.feedbackDropped.Add(1)
		return nil, fmt.Errorf("osc: encode packet: %w", err)
	}
	if len(b) > MaxPacket {
		s.stats.feedbackDropped.Add(1)
		return nil, fmt.Errorf("osc: encoded packet is %d bytes, over the %d-byte limit", len(b), MaxPacket)
	}
	return b, nil
}

func (s *Sender) write(b []byte, dst netip.AddrPort) error {
	conn := s.conn.Load()
	if conn == nil {
		s.stats.feedbackDropped.Add(1)
		return errNotStarted
	}
	if _, err := conn.WriteToUDPAddrPort(b, dst); err != nil {
		s.stats.feedbackDropped.Add(1)
		return fmt.Errorf("osc: send to %v: %w", dst, err)
	}
	s.stats.feedbackSent.Add(1)
	return nil
}

func (s *Sender) sendTCP(conn *tcpConn, b []byte) error {
	if !conn.enqueue(b) {
		s.stats.feedbackDropped.Add(1)
		return fmt.Errorf("osc: send to TCP client %v: its output queue is full or closed", conn.peer)
	}
	s.stats.feedbackSent.Add(1)
	return nil
}

// broadcast sends p to every destination but the client except.
func (s *Sender) broadcast(except uint16, p Packet) error {
	b, err := s.encode(p)
	if err != nil {
		return err
	}
	udp := make([]netip.AddrPort, 0, len(s.targets)+4)
	var tcp []*tcpConn
	var skip netip.AddrPort
	if s.clients != nil {
		t := s.clients
		t.mu.Lock()
		if except != 0 && int(except) < MaxClients {
			if sl := &t.slots[except]; sl.used && sl.conn == nil {
				skip = s.replyAddr(sl.addr)
			}
		}
		for i := 1; i < MaxClients; i++ {
			sl := &t.slots[i]
			switch {
			case !sl.used || i == int(except):
			case sl.conn != nil:
				tcp = append(tcp, sl.conn)
			default:
				udp = appendUnique(udp, s.replyAddr(sl.addr), skip)
			}
		}
		t.mu.Unlock()
	}
	for _, d := range s.targets {
		udp = appendUnique(udp, d, skip)
	}
	var errs []error
	for _, d := range udp {
		if err := s.write(b, d); err != nil {
			errs = append(errs, err)
		}
	}
	for _, c := range tcp {
		if err := s.sendTCP(c, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// appendUnique appends d to list unless it is already there or is skip.
func appendUnique(list []netip.AddrPort, d, skip netip.AddrPort) []netip.AddrPort {
	if d == skip {
		return list
	}
	for _, x := range list {
		if x == d {
			return list
		}
	}
	return append(list, d)
}

// MessageFromArgs builds a message for address addr from decoded arguments
// (controllers.Event.Args) and the string bytes they point into (all of
// controllers.Event.Str): numbers, booleans and nil go out as received, a
// kept string as its text and one that was not kept as "". Blobs and
// timetags, whose contents an Event does not keep, are left out. It
// allocates: not for the audio thread.
func MessageFromArgs(addr string, args []controllers.Arg, str []byte) *Message {
	m := NewMessage(addr)
	for _, a := range args {
		switch a.Type {
		case 'i', 'c', 'r', 'm':
			m.Append(int32(a.I))
		case 'h':
			m.Append(a.I)
		case 'f':
			m.Append(float32(a.F))
		case 'd':
			m.Append(a.F)
		case 'T', 'F':
			m.Append(a.I == 1)
		case 'N':
			m.Append(nil)
		case 's', 'S':
			s := ""
			if a.Kept && int(a.Off)+int(a.I) <= len(str) {
				s = string(str[a.Off : int(a.Off)+int(a.I)])
			}
			m.Append(s)
		}
	}
	return m
}
