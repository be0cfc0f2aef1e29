package osc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/chronus-audio/chronus/controllers"
)

// Size limits of the decoder. Packets and messages beyond them are rejected
// with ErrOversized rather than truncated, so a message is never routed by a
// cut-off address or misread with arguments missing.
const (
	// MaxPacket is the largest packet accepted, on UDP and on TCP.
	MaxPacket = 64 << 10
	// MaxDepth is how deeply bundles may nest (the outermost bundle is 1).
	MaxDepth = 16
)

// Decoder errors. Decode returns exactly one of these, never a wrapped error,
// so checking them costs nothing and allocates nothing.
var (
	// ErrEmpty is a zero-length packet.
	ErrEmpty = errors.New("osc: empty packet")
	// ErrTruncated is a packet that ends inside a string, its padding, an
	// argument or a bundle header, or a blob whose length is impossible.
	ErrTruncated = errors.New("osc: truncated packet")
	// ErrBadTypeTag is a type tag string that does not start with ',' or
	// holds a tag this decoder does not know (arrays '[' ']' included).
	ErrBadTypeTag = errors.New("osc: bad type tag")
	// ErrBadPattern is an address pattern with unbalanced or malformed
	// brackets or braces.
	ErrBadPattern = errors.New("osc: bad address pattern")
	// ErrOversized is a packet over MaxPacket, an address over
	// controllers.MaxAddr bytes, a message with more than controllers.MaxArgs
	// arguments or bundles nested deeper than MaxDepth.
	ErrOversized = errors.New("osc: packet exceeds a size limit")
	// ErrNotOSC is a packet (or bundle element) that starts with neither
	// '/' (a message) nor "#bundle" (a bundle).
	ErrNotOSC = errors.New("osc: not an OSC packet")
	// ErrBadBundle is a bundle element whose size is not a positive multiple
	// of 4 within the packet, or does not match the size of its content.
	ErrBadBundle = errors.New("osc: bundle element size does not match its content")
)

const bundleTag = "#bundle\x00"

// ntpUnixOffset is the number of seconds from 1900-01-01 (NTP epoch) to
// 1970-01-01 (Unix epoch).
const ntpUnixOffset = 2208988800

// level is one open bundle while Next walks a packet.
type level struct {
	end int       // offset just past the bundle's last element
	due time.Time // when the bundle's messages are due; zero = now
}

// Decoder decodes OSC 1.0 packets (messages and bundles, nested bundles
// included) into controllers.Event values without allocating.
//
// Decode checks the whole packet first, so a bundle is either delivered
// whole or rejected whole (OSC bundles are atomic); Next then fills one Event
// per message, in packet order:
//
//	if err := d.Decode(pkt); err != nil { /* drop, count */ }
//	for d.Next(&ev) { /* use ev */ }
//
// Argument mapping (see controllers.Arg): 'i', 'h', 'c', 'r', 'm' set I and
// F; 'f', 'd' set F and I (truncated, clamped to int64, NaN = 0); 'T'/'F'
// are 1/0; 'N' is 0; 'I' (an OSC 1.1 impulse) is 1; 's'/'S' set I to the
// string's length and the first of them is copied to Event.Str (cut at
// controllers.MaxStr bytes); 'b' sets I to the blob's length (the bytes are
// not kept); 't' sets I to the raw 64-bit NTP timetag. Padding bytes are not
// checked for zero and bytes after a top-level message's last argument are
// ignored, as go-osc and liblo do. A message with no type tag string at all
// (which OSC 1.0 asks receivers to tolerate from very old senders) is
// rejected as truncated, as go-osc does; an empty one means no arguments.
//
// A Decoder is not safe for concurrent use; give each goroutine its own.
// The zero value is ready to use.
type Decoder struct {
	// NoPatternCheck turns off the address-pattern check that makes Decode
	// return ErrBadPattern. Only tools that forward addresses verbatim (and
	// the differential test against go-osc, which has no such check) want it.
	NoPatternCheck bool

	pkt     []byte
	bundle  bool
	n       int
	errOff  int
	pos     int
	depth   int
	stack   [MaxDepth]level
	scratch controllers.Event
}

// Decode checks pkt and prepares Next to return its messages. It does not
// copy pkt: pkt must stay unchanged until the last call to Next. On error it
// returns one of the package's Err* sentinels and Next returns false.
//
// Decode may be called from any goroutine that owns d; it never allocates,
// locks, blocks or logs.
func (d *Decoder) Decode(pkt []byte) error {
	d.pkt, d.bundle, d.n, d.errOff, d.pos, d.depth = nil, false, 0, 0, 0, 0
	if len(pkt) == 0 {
		return ErrEmpty
	}
	if len(pkt) > MaxPacket {
		return ErrOversized
	}
	switch pkt[0] {
	case '/':
		if _, err := d.message(pkt, 0, false, &d.scratch); err != nil {
			return err
		}
		d.n = 1
	case '#':
		tt, err := d.header(pkt, 0, false)
		if err != nil {
			return err
		}
		if err := d.checkBundle(pkt, 0, 1); err != nil {
			return err
		}
		d.bundle = true
		d.depth = 1
		d.stack[0] = level{end: len(pkt), due: TimeFromNTP(tt)}
		d.pos = 16
	default:
		return ErrNotOSC
	}
	d.pkt = pkt
	return nil
}

// Next fills ev with the next message of the packet given to Decode and
// reports whether there was one. Every field of ev is overwritten: Kind is
// controllers.OSC, Due is the message's bundle time (zero for a message
// outside a bundle or in an immediate one); Source and Arrived are left
// zero for the caller to set.
func (d *Decoder) Next(ev *controllers.Event) bool {
	if d.pkt == nil {
		return false
	}
	if !d.bundle {
		if d.pos != 0 {
			return false
		}
		*ev = d.scratch // decoded by Decode
		d.pos = len(d.pkt)
		return true
	}
	for d.depth > 0 {
		top := &d.stack[d.depth-1]
		if d.pos >= top.end {
			d.depth--
			continue
		}
		start := d.pos + 4
		end := start + int(binary.BigEndian.Uint32(d.pkt[d.pos:]))
		if d.pkt[start] == '#' {
			due := TimeFromNTP(binary.BigEndian.Uint64(d.pkt[start+8:]))
			// An enclosed bundle is never due before its enclosing one
			// (OSC 1.0 requires it); an immediate one inherits its time.
			if due.IsZero() || due.Before(top.due) {
				due = top.due
			}
			d.stack[d.depth] = level{end: end, due: due}
			d.depth++
			d.pos = start + 16
			continue
		}
		d.message(d.pkt[start:end], start, true, ev) // checked by Decode
		ev.Due = top.due
		d.pos = end
		return true
	}
	return false
}

// Len returns the number of messages in the packet given to the last
// successful Decode.
func (d *Decoder) Len() int { return d.n }

// Bundle reports whether the packet given to the last successful Decode was
// a bundle.
func (d *Decoder) Bundle() bool { return d.bundle }

// ErrOffset returns the byte offset in the packet at which the last Decode
// found its error: the start of the bad message, bundle header or element.
func (d *Decoder) ErrOffset() int { return d.errOff }

// DecodeMessage decodes a packet that must be a single message (not a
// bundle) into ev, checking its address pattern. It never allocates.
func DecodeMessage(pkt []byte, ev *controllers.Event) error {
	var d Decoder
	if len(pkt) > 0 && pkt[0] == '#' {
		return ErrNotOSC
	}
	if err := d.Decode(pkt); err != nil {
		return err
	}
	d.Next(ev)
	return nil
}

// header checks the "#bundle" string and returns the timetag of the bundle
// at the start of b. nested says b is a bundle element, whose truncation
// means its size field is wrong.
func (d *Decoder) header(b []byte, off int, nested bool) (uint64, error) {
	d.errOff = off
	if len(b) < 8 {
		if string(b) == bundleTag[:len(b)] {
			return 0, truncated(nested)
		}
		return 0, ErrNotOSC
	}
	if string(b[:8]) != bundleTag {
		return 0, ErrNotOSC
	}
	if len(b) < 16 {
		return 0, truncated(nested)
	}
	return binary.BigEndian.Uint64(b[8:16]), nil
}

func truncated(nested bool) error {
	if nested {
		return ErrBadBundle
	}
	return ErrTruncated
}

// checkBundle checks every element of the bundle b (whose header is already
// checked) at nesting level depth.
func (d *Decoder) checkBundle(b []byte, off, depth int) error {
	pos := 16
	for pos < len(b) {
		d.errOff = off + pos
		if len(b)-pos < 4 {
			return truncated(depth > 1)
		}
		size := int32(binary.BigEndian.Uint32(b[pos:]))
		pos += 4
		if size <= 0 || size%4 != 0 || int(size) > len(b)-pos {
			return ErrBadBundle
		}
		el := b[pos : pos+int(size)]
		switch el[0] {
		case '/':
			if _, err := d.message(el, off+pos, true, &d.scratch); err != nil {
				return err
			}
			d.n++
		case '#':
			if depth >= MaxDepth {
				d.errOff = off + pos
				return ErrOversized
			}
			if _, err := d.header(el, off+pos, true); err != nil {
				return err
			}
			if err := d.checkBundle(el, off+pos, depth+1); err != nil {
				return err
			}
		default:
			d.errOff = off + pos
			return ErrNotOSC
		}
		pos += int(size)
	}
	return nil
}

// pad4 rounds n up to a multiple of 4.
func pad4(n int) int { return (n + 3) &^ 3 }

// message decodes the message at the start of b into ev and returns the
// number of bytes it used. off is b's offset in the packet, for ErrOffset.
// exact says b is a bundle element: the message must fill it exactly, and
// running out of bytes means the element's size is wrong (ErrBadBundle).
func (d *Decoder) message(b []byte, off int, exact bool, ev *controllers.Event) (int, error) {
	d.errOff = off
	*ev = controllers.Event{Kind: controllers.OSC}
	short := ErrTruncated
	if exact {
		short = ErrBadBundle
	}

	// Address.
	na := bytes.IndexByte(b, 0)
	if na < 0 {
		return 0, short
	}
	if na > controllers.MaxAddr {
		return 0, ErrOversized
	}
	addr := b[:na]
	p := pad4(na + 1)
	if p > len(b) {
		return 0, short
	}
	if !d.NoPatternCheck {
		if err := checkPattern(addr); err != nil {
			return 0, err
		}
	}
	copy(ev.Addr[:], addr)
	ev.AddrLen = uint8(na)

	// Type tag string. A missing one is rejected (as go-osc does); an empty
	// one means no arguments.
	if p >= len(b) {
		return 0, short
	}
	nt := bytes.IndexByte(b[p:], 0)
	if nt < 0 {
		return 0, short
	}
	tags := b[p : p+nt]
	p = pad4(p + nt + 1)
	if p > len(b) {
		return 0, short
	}
	if len(tags) > 0 {
		if tags[0] != ',' {
			return 0, ErrBadTypeTag
		}
		tags = tags[1:]
	}
	if len(tags) > controllers.MaxArgs {
		return 0, ErrOversized
	}

	// Arguments.
	haveStr := false
	for i, t := range tags {
		a := &ev.Args[i]
		a.Type = controllers.ArgType(t)
		a.Kept, a.Off = false, 0
		switch t {
		case 'i', 'c', 'r', 'm':
			if len(b)-p < 4 {
				return 0, short
			}
			u := binary.BigEndian.Uint32(b[p:])
			if t == 'i' {
				a.I = int64(int32(u))
			} else {
				a.I = int64(u)
			}
			a.F = float64(a.I)
			p += 4
		case 'f':
			if len(b)-p < 4 {
				return 0, short
			}
			a.F = float64(math.Float32frombits(binary.BigEndian.Uint32(b[p:])))
			a.I = floatToInt(a.F)
			p += 4
		case 'h', 't':
			if len(b)-p < 8 {
				return 0, short
			}
			a.I = int64(binary.BigEndian.Uint64(b[p:]))
			if t == 'h' {
				a.F = float64(a.I)
			}
			p += 8
		case 'd':
			if len(b)-p < 8 {
				return 0, short
			}
			a.F = math.Float64frombits(binary.BigEndian.Uint64(b[p:]))
			a.I = floatToInt(a.F)
			p += 8
		case 's', 'S':
			ns := bytes.IndexByte(b[p:], 0)
			if ns < 0 {
				return 0, short
			}
			if !haveStr {
				haveStr = true
				ev.StrLen = uint8(copy(ev.Str[:], b[p:p+ns]))
				ev.StrUsed = ev.StrLen
				a.Kept = ns <= len(ev.Str)
			} else if int(ev.StrUsed)+ns <= len(ev.Str) {
				a.Off, a.Kept = ev.StrUsed, true
				ev.StrUsed += uint8(copy(ev.Str[ev.StrUsed:], b[p:p+ns]))
			}
			a.I = int64(ns)
			p = pad4(p + ns + 1)
			if p > len(b) {
				return 0, short
			}
		case 'b':
			if len(b)-p < 4 {
				return 0, short
			}
			n := int32(binary.BigEndian.Uint32(b[p:]))
			p += 4
			if n < 0 || int(n) > len(b)-p {
				return 0, short
			}
			a.I = int64(n)
			p = pad4(p + int(n))
			if p > len(b) {
				return 0, short
			}
		case 'T', 'I':
			a.I, a.F = 1, 1
		case 'F', 'N':
		default:
			return 0, ErrBadTypeTag
		}
	}
	ev.NArgs = uint8(len(tags))
	if exact && p != len(b) {
		return 0, ErrBadBundle
	}
	return p, nil
}

// floatToInt truncates f towards zero, clamped to the int64 range; NaN is 0.
// Go leaves out-of-range conversions implementation-defined.
func floatToInt(f float64) int64 {
	switch {
	case f != f:
		return 0
	case f >= 9.223372036854775807e18:
		return math.MaxInt64
	case f <= -9.223372036854775808e18:
		return math.MinInt64
	}
	return int64(f)
}

// TimeFromNTP converts an OSC timetag (64-bit NTP time: seconds since 1900
// and a 32-bit fraction) to a time.Time. The "immediately" timetag 1, and 0
// which some clients send for it, give the zero Time. Seconds below 2^31 are
// read as NTP era 1 (from 2036-02-07 on), as RFC 4330 suggests.
func TimeFromNTP(tt uint64) time.Time {
	if tt <= 1 {
		return time.Time{}
	}
	sec := int64(tt >> 32)
	if sec < 1<<31 {
		sec += 1 << 32
	}
	nsec := int64((tt & 0xffffffff) * 1e9 >> 32)
	return time.Unix(sec-ntpUnixOffset, nsec)
}

// NTPFromTime converts t to an OSC timetag; the zero Time gives 1
// ("immediately"). TimeFromNTP(NTPFromTime(t)) gives t back to the
// nanosecond for times in 1968 to 2104 (the two NTP eras TimeFromNTP reads).
func NTPFromTime(t time.Time) uint64 {
	if t.IsZero() {
		return 1
	}
	sec := uint64(t.Unix()+ntpUnixOffset) & 0xffffffff
	// Round the fraction up so that converting back (which rounds down)
	// gives the same nanosecond.
	frac := (uint64(t.Nanosecond())<<32 + 1e9 - 1) / 1e9
	return sec<<32 | frac
}
