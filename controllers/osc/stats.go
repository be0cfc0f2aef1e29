package osc

import "sync/atomic"

// Reason says why an incoming packet was dropped.
type Reason uint8

// Reasons for dropping a packet; Stats.Dropped is indexed by them.
const (
	ReasonEmpty      Reason = iota // zero-length datagram or frame
	ReasonTruncated                // ErrTruncated
	ReasonBadTypeTag               // ErrBadTypeTag
	ReasonBadPattern               // ErrBadPattern
	ReasonOversized                // ErrOversized, or a TCP frame over MaxPacket
	ReasonNotOSC                   // ErrNotOSC
	ReasonBadBundle                // ErrBadBundle
	ReasonBadFrame                 // a bad SLIP escape on TCP
	ReasonDenied                   // the sender is outside the allow-list
	NumReasons                     // number of reasons
)

var reasonNames = [NumReasons]string{"empty", "truncated", "bad-type-tag", "bad-pattern",
	"oversized", "not-osc", "bad-bundle", "bad-frame", "denied"}

// String names the reason in the words the logs use.
func (r Reason) String() string {
	if r < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// ReasonOf maps a Decoder error to its Reason; an error that is not one of
// the package's sentinels counts as ReasonNotOSC.
func ReasonOf(err error) Reason {
	switch err {
	case ErrEmpty:
		return ReasonEmpty
	case ErrTruncated:
		return ReasonTruncated
	case ErrBadTypeTag:
		return ReasonBadTypeTag
	case ErrBadPattern:
		return ReasonBadPattern
	case ErrOversized:
		return ReasonOversized
	case ErrBadBundle:
		return ReasonBadBundle
	}
	return ReasonNotOSC
}

// Stats is a snapshot of a Controller's counters, all counted since Start.
type Stats struct {
	Packets     uint64 // UDP datagrams and TCP frames received, bad ones included
	Messages    uint64 // messages decoded and queued for the dispatcher
	Handled     uint64 // messages given to the Handler (all but /ping)
	Bundles     uint64 // top-level bundles accepted
	LateBundles uint64 // top-level bundles with a message already due on arrival
	Pings       uint64 // /ping messages answered with /pong

	Dropped [NumReasons]uint64 // packets dropped, by reason

	HandlerPanics   uint64 // Handler calls that panicked (recovered)
	ReadErrors      uint64 // failed socket reads other than shutdown
	LogsSuppressed  uint64 // drop reports not logged (rate limit or full log queue)
	FeedbackDropped uint64 // outgoing packets not sent (encode error, full TCP queue, write error)
	FeedbackSent    uint64 // outgoing packets sent (one per destination)

	TCPAccepted uint64 // TCP connections accepted
	TCPRejected uint64 // TCP connections refused (allow-list or connection limit)
	TCPOpen     uint64 // TCP connections open now

	RecvBuffer int // the UDP socket's receive buffer in bytes, as the kernel reports it
}

// DroppedTotal returns the number of dropped packets for all reasons.
func (s Stats) DroppedTotal() uint64 {
	var n uint64
	for _, d := range s.Dropped {
		n += d
	}
	return n
}

// counters are the live atomics behind Stats.
type counters struct {
	packets, messages, handled, bundles, late, pings atomic.Uint64
	dropped                                          [NumReasons]atomic.Uint64
	panics, readErrors, logsSuppressed               atomic.Uint64
	feedbackDropped, feedbackSent                    atomic.Uint64
	tcpAccepted, tcpRejected, tcpOpen                atomic.Uint64
	recvBuffer                                       atomic.Int64
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Packets:         c.packets.Load(),
		Messages:        c.messages.Load(),
		Handled:         c.handled.Load(),
		Bundles:         c.bundles.Load(),
		LateBundles:     c.late.Load(),
		Pings:           c.pings.Load(),
		HandlerPanics:   c.panics.Load(),
		ReadErrors:      c.readErrors.Load(),
		LogsSuppressed:  c.logsSuppressed.Load(),
		FeedbackDropped: c.feedbackDropped.Load(),
		FeedbackSent:    c.feedbackSent.Load(),
		TCPAccepted:     c.tcpAccepted.Load(),
		TCPRejected:     c.tcpRejected.Load(),
		TCPOpen:         c.tcpOpen.Load(),
		RecvBuffer:      int(c.recvBuffer.Load()),
	}
	for i := range s.Dropped {
		s.Dropped[i] = c.dropped[i].Load()
	}
	return s
}
