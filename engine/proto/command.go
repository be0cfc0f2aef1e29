package proto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Size is the length of one encoded command in bytes.
const Size = 64

// Version is the protocol version this package reads and writes (byte 0).
const Version = 2

// NameLen is the capacity of the module and parameter fields in bytes.
const NameLen = 16

// Refine limits: MIDI channels and 7-bit data bytes.
const (
	// MaxChannel is the highest valid Channel.
	MaxChannel = 15
	// MaxKey is the highest valid Key (note, CC or program number).
	MaxKey = 127
)

// Flags is the command's flag word (bytes 2-3).
type Flags uint16

const (
	// FlagAbsolute marks Frame as an absolute engine frame stamped by the
	// supervisor; workers apply the command exactly there. Without it Frame
	// is the sender's wish (0 = as soon as possible) and the supervisor
	// replaces it when stamping.
	FlagAbsolute Flags = 1 << 0
	// FlagPerNote makes pressure and pitch-bend address the note in Key
	// instead of the whole channel.
	FlagPerNote Flags = 1 << 1

	// FlagsReserved are the bits that must be zero in protocol v2.
	FlagsReserved Flags = ^(FlagAbsolute | FlagPerNote)
)

// Sentinel errors. Check returns exactly these; Decode wraps them with
// details. Never compare with ==, use errors.Is.
var (
	// ErrVersion: byte 0 is not Version.
	ErrVersion = errors.New("proto: unsupported version")
	// ErrCRC: bytes 60-63 do not match the CRC-32 of bytes 0-59.
	ErrCRC = errors.New("proto: crc mismatch")
	// ErrOp: the op is not defined.
	ErrOp = errors.New("proto: unknown op")
	// ErrFlags: a reserved flag bit is set.
	ErrFlags = errors.New("proto: reserved flag bits set")
	// ErrField: a module or parameter field is not printable ASCII followed
	// by NUL padding, is too long, or is empty where the op needs it.
	ErrField = errors.New("proto: malformed text field")
	// ErrRefine: channel > 15 or key > 127.
	ErrRefine = errors.New("proto: refine field out of range")
	// ErrValue: the value is not finite, or outside the op's range.
	ErrValue = errors.New("proto: bad value")
)

// Precomputed so Name.Set can fail without allocating.
var (
	errNameLong = fmt.Errorf("%w: longer than %d bytes", ErrField, NameLen)
	errNameByte = fmt.Errorf("%w: byte outside printable ascii 0x21..0x7e", ErrField)
)

// Name is a NUL-padded ASCII field (module id or parameter). Valid names
// hold 0..16 bytes in 0x21..0x7e followed only by NULs. A Name is comparable,
// so it can key a map without allocating.
type Name [NameLen]byte

// Set stores s, NUL padded. It fails with an error wrapping ErrField (and
// leaves n unchanged) when s is longer than NameLen or has a byte outside
// 0x21..0x7e. It does not allocate; any goroutine.
func (n *Name) Set(s string) error {
	if len(s) > NameLen {
		return errNameLong
	}
	for i := 0; i < len(s); i++ {
		if !nameByte(s[i]) {
			return errNameByte
		}
	}
	*n = Name{}
	copy(n[:], s)
	return nil
}

// Len returns the number of bytes before the first NUL. No allocation.
func (n *Name) Len() int {
	for i, b := range n {
		if b == 0 {
			return i
		}
	}
	return NameLen
}

// String returns the name up to the first NUL. It allocates.
func (n *Name) String() string { return string(n[:n.Len()]) }

// Equal reports whether the name reads s; no allocation, any goroutine.
func (n *Name) Equal(s string) bool {
	l := n.Len()
	return l == len(s) && string(n[:l]) == s // the conversion does not allocate
}

// check returns the position of the first invalid byte and why, or -1.
func (n *Name) check() (int, string) {
	i := 0
	for ; i < NameLen && n[i] != 0; i++ {
		if !nameByte(n[i]) {
			return i, "not printable ascii"
		}
	}
	for ; i < NameLen; i++ {
		if n[i] != 0 {
			return i, "follows a NUL"
		}
	}
	return -1, ""
}

func nameByte(b byte) bool { return b >= 0x21 && b <= 0x7e }

// Command is one decoded protocol-v2 command. It is a plain value with no
// synchronisation: copy it between goroutines, do not share it.
type Command struct {
	Op      Op
	Flags   Flags
	Seq     uint32  // sequence number, see SeqDiff
	Frame   uint64  // target frame; 0 = as soon as possible
	Module  Name    // module id
	Param   Name    // parameter
	Value   float64 // op-dependent, see the package doc
	Channel uint8   // MIDI channel 0..15
	Key     uint8   // note, CC or program number 0..127
	Voice   uint16  // voice id, 0 = none
}

// SetModule sets the module id; see Name.Set. No allocation.
func (c *Command) SetModule(s string) error { return c.Module.Set(s) }

// SetParam sets the parameter; see Name.Set. No allocation.
func (c *Command) SetParam(s string) error { return c.Param.Set(s) }

// ModuleString returns the module id as a string. It allocates.
func (c *Command) ModuleString() string { return c.Module.String() }

// ParamString returns the parameter as a string. It allocates.
func (c *Command) ParamString() string { return c.Param.String() }

// Encode writes c to dst with version 2 and a fresh CRC. It does not
// validate (see Validate) and does not allocate; any goroutine, including
// the audio thread.
func (c *Command) Encode(dst *[Size]byte) {
	dst[0] = Version
	dst[1] = byte(c.Op)
	binary.LittleEndian.PutUint16(dst[2:4], uint16(c.Flags))
	binary.LittleEndian.PutUint32(dst[4:8], c.Seq)
	binary.LittleEndian.PutUint64(dst[8:16], c.Frame)
	*(*Name)(dst[16:32]) = c.Module
	*(*Name)(dst[32:48]) = c.Param
	binary.LittleEndian.PutUint64(dst[48:56], math.Float64bits(c.Value))
	dst[56] = c.Channel
	dst[57] = c.Key
	binary.LittleEndian.PutUint16(dst[58:60], c.Voice)
	binary.LittleEndian.PutUint32(dst[60:64], checksum(dst))
}

// Decode checks src as Check does and, if it is valid, stores it in c. On
// failure c is unchanged and the error wraps one of the sentinels with
// details ("proto: crc mismatch: stored 0x... computed 0x..."); only that
// path allocates. Any goroutine, including the audio thread when it can
// afford the allocation on failure (else use Check first).
func (c *Command) Decode(src *[Size]byte) error {
	var d Command
	if f := check(src, &d); f.kind != nil {
		return f.err()
	}
	*c = d
	return nil
}

// Check reports whether src is a valid command, returning one of the
// sentinel errors (or nil). It never allocates; any goroutine, including
// the audio thread.
func Check(src *[Size]byte) error {
	var d Command
	return check(src, &d).kind
}

// Validate reports whether c would decode after Encode, returning one of
// ErrOp, ErrFlags, ErrField, ErrRefine, ErrValue (or nil). It never
// allocates; any goroutine.
func (c *Command) Validate() error { return c.validate().kind }

// SeqDiff returns next-prev in serial-number arithmetic (RFC 1982), so it
// survives wrap-around: 1 means in order, 0 a repeat, n > 1 that n-1
// commands are missing, and a negative value an old or reordered command.
func SeqDiff(prev, next uint32) int32 { return int32(next - prev) }

// String formats c for logs and test failures. It allocates.
func (c *Command) String() string {
	return fmt.Sprintf("%v seq=%d frame=%d flags=0x%x module=%q param=%q value=%g ch=%d key=%d voice=%d",
		c.Op, c.Seq, c.Frame, uint16(c.Flags), c.Module.String(), c.Param.String(), c.Value, c.Channel, c.Key, c.Voice)
}

// fault describes why a record is invalid. It holds only scalars, constant
// strings and sentinels, so producing one never allocates; f.err formats it.
type fault struct {
	kind  error  // sentinel; nil = valid
	field string // "module", "param", "channel", "key"
	why   string
	pos   int
	a, b  uint64
	op    Op
}

// check validates src and unpacks it into d.
func check(src *[Size]byte, d *Command) fault {
	if src[0] != Version {
		return fault{kind: ErrVersion, a: uint64(src[0])}
	}
	stored := binary.LittleEndian.Uint32(src[60:64])
	if sum := checksum(src); sum != stored {
		return fault{kind: ErrCRC, a: uint64(stored), b: uint64(sum)}
	}
	d.Op = Op(src[1])
	d.Flags = Flags(binary.LittleEndian.Uint16(src[2:4]))
	d.Seq = binary.LittleEndian.Uint32(src[4:8])
	d.Frame = binary.LittleEndian.Uint64(src[8:16])
	d.Module = *(*Name)(src[16:32])
	d.Param = *(*Name)(src[32:48])
	d.Value = math.Float64frombits(binary.LittleEndian.Uint64(src[48:56]))
	d.Channel = src[56]
	d.Key = src[57]
	d.Voice = binary.LittleEndian.Uint16(src[58:60])
	return d.validate()
}

// validate checks everything but version and CRC, in wire order.
func (c *Command) validate() fault {
	info := &ops[c.Op]
	if info.name == "" {
		return fault{kind: ErrOp, op: c.Op}
	}
	if c.Flags&FlagsReserved != 0 {
		return fault{kind: ErrFlags, a: uint64(c.Flags)}
	}
	if f := checkName(&c.Module, "module", info.needModule, c.Op); f.kind != nil {
		return f
	}
	if f := checkName(&c.Param, "param", info.needParam, c.Op); f.kind != nil {
		return f
	}
	if info.value {
		v := c.Value
		if v-v != 0 { // NaN or ±Inf
			return fault{kind: ErrValue, op: c.Op, a: math.Float64bits(v), why: "not finite"}
		}
		if info.ranged && (v < info.lo || v > info.hi) {
			return fault{kind: ErrValue, op: c.Op, a: math.Float64bits(v), why: "out of range"}
		}
	}
	if c.Channel > MaxChannel {
		return fault{kind: ErrRefine, field: "channel", a: uint64(c.Channel), b: MaxChannel}
	}
	if c.Key > MaxKey {
		return fault{kind: ErrRefine, field: "key", a: uint64(c.Key), b: MaxKey}
	}
	return fault{}
}

func checkName(n *Name, field string, need bool, op Op) fault {
	if pos, why := n.check(); pos >= 0 {
		return fault{kind: ErrField, field: field, pos: pos, a: uint64(n[pos]), why: why}
	}
	if need && n[0] == 0 {
		return fault{kind: ErrField, field: field, pos: -1, op: op, why: "empty"}
	}
	return fault{}
}

// err turns f into a detailed error wrapping f.kind. It allocates.
func (f *fault) err() error {
	switch f.kind {
	case ErrVersion:
		return fmt.Errorf("%w: got %d, want %d", ErrVersion, f.a, Version)
	case ErrCRC:
		return fmt.Errorf("%w: stored 0x%08x computed 0x%08x", ErrCRC, f.a, f.b)
	case ErrOp:
		return fmt.Errorf("%w: 0x%02x", ErrOp, uint8(f.op))
	case ErrFlags:
		return fmt.Errorf("%w: 0x%04x (reserved mask 0x%04x)", ErrFlags, f.a, uint16(FlagsReserved))
	case ErrField:
		if f.pos < 0 {
			return fmt.Errorf("%w: %s needs a non-empty %s", ErrField, f.op, f.field)
		}
		return fmt.Errorf("%w: %s byte %d (0x%02x) %s", ErrField, f.field, f.pos, f.a, f.why)
	case ErrRefine:
		return fmt.Errorf("%w: %s %d not in 0..%d", ErrRefine, f.field, f.a, f.b)
	case ErrValue:
		v := math.Float64frombits(f.a)
		if info := &ops[f.op]; f.why == "out of range" {
			return fmt.Errorf("%w: %s value %g not in [%g, %g]", ErrValue, f.op, v, info.lo, info.hi)
		}
		return fmt.Errorf("%w: %s value %g not finite", ErrValue, f.op, v)
	}
	return f.kind
}
