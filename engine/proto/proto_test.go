package proto_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/chronus-audio/chronus/engine/proto"
)

var sentinels = []error{
	proto.ErrVersion, proto.ErrCRC, proto.ErrOp, proto.ErrFlags,
	proto.ErrField, proto.ErrRefine, proto.ErrValue,
}

// bitwiseCRC is CRC-32/IEEE computed bit by bit from the definition
// (reflected polynomial 0xedb88320, init and final xor 0xffffffff), with no
// table, so the golden test does not trust any table-driven code.
func bitwiseCRC(p []byte) uint32 {
	crc := ^uint32(0)
	for _, b := range p {
		crc ^= uint32(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xedb88320
			} else {
				crc >>= 1
			}
		}
	}
	return ^crc
}

func TestBitwiseCRCCheckValue(t *testing.T) {
	// The standard check value of CRC-32/ISO-HDLC (the IEEE CRC).
	if got := bitwiseCRC([]byte("123456789")); got != 0xcbf43926 {
		t.Fatalf("bitwiseCRC(123456789) = 0x%08x, want 0xcbf43926", got)
	}
}

func mustName(t testing.TB, s string) proto.Name {
	t.Helper()
	var n proto.Name
	if err := n.Set(s); err != nil {
		t.Fatalf("Name.Set(%q): %v", s, err)
	}
	return n
}

// sampleCommands returns one or more valid commands for every op.
func sampleCommands(t testing.TB) []proto.Command {
	osc := mustName(t, "osc1")
	cut := mustName(t, "cutoff")
	long := mustName(t, "ABCDEFGHIJKLMNOP") // exactly 16 bytes, no NUL
	return []proto.Command{
		{Op: proto.OpSet, Seq: 1, Module: osc, Param: cut, Value: 440},
		{Op: proto.OpSet, Seq: 2, Frame: 1 << 40, Flags: proto.FlagAbsolute, Module: long, Param: long, Value: -1e300},
		{Op: proto.OpSet, Seq: 3, Module: osc, Param: cut, Value: math.SmallestNonzeroFloat64},
		{Op: proto.OpNoteOn, Seq: 4, Channel: 9, Key: 60, Voice: 7, Value: 0.5},
		{Op: proto.OpNoteOn, Seq: 5, Channel: 15, Key: 127, Voice: math.MaxUint16, Value: 1},
		{Op: proto.OpNoteOff, Seq: 6, Key: 60, Value: 0},
		{Op: proto.OpControl, Seq: 7, Key: 74, Value: 0.25},
		{Op: proto.OpPitchBend, Seq: 8, Value: -1},
		{Op: proto.OpPitchBend, Seq: 9, Flags: proto.FlagPerNote | proto.FlagAbsolute, Key: 61, Value: 1},
		{Op: proto.OpPressure, Seq: 10, Value: 0.75},
		{Op: proto.OpProgram, Seq: 11, Key: 42},
		{Op: proto.OpAllNotesOff, Seq: 12, Channel: 3},
		{Op: proto.OpAllSoundOff, Seq: 13, Channel: 4},
		{Op: proto.OpResetControllers, Seq: 14, Channel: 5},
		{Op: proto.OpReset, Seq: math.MaxUint32, Frame: math.MaxUint64},
		{Op: proto.OpRecordStart, Seq: 16},
		{Op: proto.OpRecordStop, Seq: 17},
		{Op: proto.OpStatus, Seq: 18, Value: math.NaN()}, // value ignored: any bits
		{Op: proto.OpPatchSave, Seq: 19, Module: mustName(t, "bass-01")},
		{Op: proto.OpPatchLoad, Seq: 20, Module: mustName(t, "bass-01")},
		{Op: proto.OpPatchList, Seq: 21},
		{Op: proto.OpPatchCreate, Seq: 22, Module: mustName(t, "lfo2"), Param: mustName(t, "lfo")},
		{Op: proto.OpPatchConnect, Seq: 23, Module: mustName(t, "lfo2"), Param: mustName(t, "filter1"), Key: 5, Value: 0.5, Voice: 1},
		{Op: proto.OpPatchDisconnect, Seq: 24, Module: mustName(t, "lfo2"), Param: mustName(t, "filter1"), Key: 5},
		{Op: proto.OpPatchSet, Seq: 25, Module: mustName(t, "lfo2"), Param: mustName(t, "rate"), Value: 3.5},
		{Op: proto.OpPatchCommit, Seq: 26, Module: mustName(t, "amp1"), Channel: 3, Key: 15},
		{Op: proto.OpPatchAbort, Seq: 27},
		{Op: proto.OpPatchSelect, Seq: 28, Channel: 9, Key: 2},
		{Op: proto.OpPatchProgram, Seq: 29, Key: 81, Value: 16},
		{Op: proto.OpPatchAmount, Seq: 30, Module: mustName(t, "pitch"), Param: mustName(t, "osc"), Key: 2, Value: 12},
		{Op: proto.OpKitBegin, Seq: 31},
		{Op: proto.OpKitSound, Seq: 32, Module: mustName(t, "amp"), Key: 42, Voice: 46, Value: -0.25},
		{Op: proto.OpKitCommit, Seq: 33, Channel: 9},
		{Op: proto.OpKitSelect, Seq: 34, Channel: 9, Value: 1},
	}
}

// same compares two commands, treating Value by its bits (NaN payloads).
func same(a, b proto.Command) bool {
	if math.Float64bits(a.Value) != math.Float64bits(b.Value) {
		return false
	}
	a.Value, b.Value = 0, 0
	return a == b
}

func TestRoundTripEveryOp(t *testing.T) {
	cmds := sampleCommands(t)
	seen := map[proto.Op]bool{}
	for _, c := range cmds {
		seen[c.Op] = true
		t.Run(c.Op.String(), func(t *testing.T) {
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate(%v) = %v", &c, err)
			}
			var buf [proto.Size]byte
			c.Encode(&buf)
			if buf[0] != proto.Version {
				t.Errorf("byte 0 = %d, want %d", buf[0], proto.Version)
			}
			if err := proto.Check(&buf); err != nil {
				t.Fatalf("Check = %v", err)
			}
			var d proto.Command
			if err := d.Decode(&buf); err != nil {
				t.Fatalf("Decode = %v", err)
			}
			if !same(c, d) {
				t.Fatalf("round trip\n got %v\nwant %v", &d, &c)
			}
			var again [proto.Size]byte
			d.Encode(&again)
			if again != buf {
				t.Fatalf("re-encode differs:\n% x\n% x", again, buf)
			}
		})
	}
	for _, o := range proto.AllOps() {
		if !seen[o] {
			t.Errorf("op %v has no round-trip case", o)
		}
	}
}

func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		cmd  proto.Command
		want []byte // bytes 0..59, hand-written from the wire table
	}{
		{
			name: "note-on",
			cmd: proto.Command{Op: proto.OpNoteOn, Flags: proto.FlagAbsolute, Seq: 0x01020304,
				Frame: 48000, Value: 0.5, Channel: 9, Key: 60, Voice: 0x0102},
			want: cat(
				[]byte{0x02, 0x02, 0x01, 0x00},       // version, op note-on, flags 1
				[]byte{0x04, 0x03, 0x02, 0x01},       // seq
				[]byte{0x80, 0xbb, 0, 0, 0, 0, 0, 0}, // frame 48000 = 0xbb80
				make([]byte, 16), make([]byte, 16),   // module, param
				[]byte{0, 0, 0, 0, 0, 0, 0xe0, 0x3f}, // 0.5 = 0x3fe0000000000000
				[]byte{9, 60, 0x02, 0x01},            // channel, key, voice
			),
		},
		{
			name: "set",
			cmd: proto.Command{Op: proto.OpSet, Seq: 7, Module: mustName(t, "osc1"),
				Param: mustName(t, "cutoff"), Value: 440},
			want: cat(
				[]byte{0x02, 0x01, 0x00, 0x00},
				[]byte{0x07, 0, 0, 0},
				make([]byte, 8),
				[]byte{'o', 's', 'c', '1'}, make([]byte, 12),
				[]byte{'c', 'u', 't', 'o', 'f', 'f'}, make([]byte, 10),
				[]byte{0, 0, 0, 0, 0, 0x80, 0x7b, 0x40}, // 440 = 1.71875*2^8 = 0x407b800000000000
				[]byte{0, 0, 0, 0},
			),
		},
		{
			name: "pitch-bend",
			cmd: proto.Command{Op: proto.OpPitchBend, Flags: proto.FlagAbsolute | proto.FlagPerNote,
				Seq: math.MaxUint32, Frame: math.MaxUint64, Value: -1, Channel: 15, Key: 127, Voice: 0xffff},
			want: cat(
				[]byte{0x02, 0x05, 0x03, 0x00},
				[]byte{0xff, 0xff, 0xff, 0xff},
				[]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
				make([]byte, 32),
				[]byte{0, 0, 0, 0, 0, 0, 0xf0, 0xbf}, // -1 = 0xbff0000000000000
				[]byte{15, 127, 0xff, 0xff},
			),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) != 60 {
				t.Fatalf("test bug: %d bytes", len(tc.want))
			}
			want := binary.LittleEndian.AppendUint32(tc.want, bitwiseCRC(tc.want))
			if a, b := bitwiseCRC(tc.want), crc32.ChecksumIEEE(tc.want); a != b {
				t.Fatalf("bitwise crc 0x%08x != hash/crc32 0x%08x", a, b)
			}
			var got [proto.Size]byte
			tc.cmd.Encode(&got)
			if !bytes.Equal(got[:], want) {
				t.Fatalf("Encode:\n got % x\nwant % x", got, want)
			}
			var d proto.Command
			if err := d.Decode((*[proto.Size]byte)(want)); err != nil {
				t.Fatal(err)
			}
			if !same(d, tc.cmd) {
				t.Fatalf("Decode = %v, want %v", &d, &tc.cmd)
			}
		})
	}
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// TestCRCMatchesHashCRC32 checks the package's own CRC against hash/crc32
// on random content in every byte 1..59.
func TestCRCMatchesHashCRC32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 10000 {
		c := proto.Command{
			Op: proto.Op(r.Uint32()), Flags: proto.Flags(r.Uint32()), Seq: r.Uint32(), Frame: r.Uint64(),
			Value: math.Float64frombits(r.Uint64()), Channel: uint8(r.Uint32()), Key: uint8(r.Uint32()),
			Voice: uint16(r.Uint32()),
		}
		for j := range proto.NameLen {
			c.Module[j], c.Param[j] = byte(r.Uint32()), byte(r.Uint32())
		}
		var b [proto.Size]byte
		c.Encode(&b)
		if got, want := binary.LittleEndian.Uint32(b[60:]), crc32.ChecksumIEEE(b[:60]); got != want {
			t.Fatalf("case %d: crc 0x%08x, hash/crc32 0x%08x", i, got, want)
		}
	}
}

func encode(t testing.TB, c proto.Command) [proto.Size]byte {
	t.Helper()
	var b [proto.Size]byte
	c.Encode(&b)
	if err := proto.Check(&b); err != nil {
		t.Fatalf("base command invalid: %v", err)
	}
	return b
}

func fixCRC(b *[proto.Size]byte) {
	binary.LittleEndian.PutUint32(b[60:], crc32.ChecksumIEEE(b[:60]))
}

func putFloat(b *[proto.Size]byte, v float64) {
	binary.LittleEndian.PutUint64(b[48:56], math.Float64bits(v))
}

func TestDecodeErrors(t *testing.T) {
	set := encode(t, proto.Command{Op: proto.OpSet, Module: mustName(t, "osc1"), Param: mustName(t, "cutoff"), Value: 1})
	tests := []struct {
		name string
		base [proto.Size]byte
		edit func(b *[proto.Size]byte)
		crc  bool // recompute the CRC after edit
		want error
		msg  string // regexp the Decode message must match
	}{
		{"version 0", set, func(b *[64]byte) { b[0] = 0 }, true, proto.ErrVersion, `^proto: unsupported version: got 0, want 2$`},
		{"version 1", set, func(b *[64]byte) { b[0] = 1 }, true, proto.ErrVersion, `got 1, want 2`},
		{"version 3 bad crc", set, func(b *[64]byte) { b[0] = 3 }, false, proto.ErrVersion, `got 3`},
		{"crc byte", set, func(b *[64]byte) { b[61] ^= 0x10 }, false, proto.ErrCRC,
			`^proto: crc mismatch: stored 0x[0-9a-f]{8} computed 0x[0-9a-f]{8}$`},
		{"payload bit", set, func(b *[64]byte) { b[20] ^= 1 }, false, proto.ErrCRC, `crc mismatch`},
		{"op 0", set, func(b *[64]byte) { b[1] = 0 }, true, proto.ErrOp, `^proto: unknown op: 0x00$`},
		{"op 0x0c", set, func(b *[64]byte) { b[1] = 0x0c }, true, proto.ErrOp, `0x0c`},
		{"op 0x46", set, func(b *[64]byte) { b[1] = 0x46 }, true, proto.ErrOp, `0x46`},
		{"op 0xff", set, func(b *[64]byte) { b[1] = 0xff }, true, proto.ErrOp, `0xff`},
		{"flag bit 2", set, func(b *[64]byte) { b[2] = 4 }, true, proto.ErrFlags, `^proto: reserved flag bits set: 0x0004`},
		{"flag bit 15", set, func(b *[64]byte) { b[3] = 0x80 }, true, proto.ErrFlags, `0x8000`},
		{"module control byte", set, func(b *[64]byte) { b[17] = 0x07 }, true, proto.ErrField,
			`^proto: malformed text field: module byte 1 \(0x07\) not printable ascii$`},
		{"module space", set, func(b *[64]byte) { b[16] = ' ' }, true, proto.ErrField, `module byte 0 \(0x20\)`},
		{"module del", set, func(b *[64]byte) { b[18] = 0x7f }, true, proto.ErrField, `module byte 2 \(0x7f\)`},
		{"module high bit", set, func(b *[64]byte) { b[19] = 0xc3 }, true, proto.ErrField, `module byte 3 \(0xc3\)`},
		{"module byte after nul", set, func(b *[64]byte) { b[31] = 'x' }, true, proto.ErrField, `module byte 15 \(0x78\) follows a NUL`},
		{"param byte after nul", set, func(b *[64]byte) { b[32+7] = 'x' }, true, proto.ErrField, `param byte 7 \(0x78\) follows a NUL`},
		{"param bad byte", set, func(b *[64]byte) { b[32] = 0x80 }, true, proto.ErrField, `param byte 0 \(0x80\)`},
		{"set empty module", set, func(b *[64]byte) { clear(b[16:32]) }, true, proto.ErrField, `set needs a non-empty module$`},
		{"set empty param", set, func(b *[64]byte) { clear(b[32:48]) }, true, proto.ErrField, `set needs a non-empty param$`},
		{"patch-save empty name", set, func(b *[64]byte) { b[1] = byte(proto.OpPatchSave); clear(b[16:32]) }, true, proto.ErrField, `patch-save needs`},
		{"set NaN", set, func(b *[64]byte) { putFloat(b, math.NaN()) }, true, proto.ErrValue, `^proto: bad value: set value NaN not finite$`},
		{"set +Inf", set, func(b *[64]byte) { putFloat(b, math.Inf(1)) }, true, proto.ErrValue, `\+Inf not finite`},
		{"set -Inf", set, func(b *[64]byte) { putFloat(b, math.Inf(-1)) }, true, proto.ErrValue, `-Inf not finite`},
		{"patch-set NaN", set, func(b *[64]byte) { b[1] = byte(proto.OpPatchSet); putFloat(b, math.NaN()) }, true, proto.ErrValue, `patch-set value NaN`},
		{"control above 1", set, func(b *[64]byte) { b[1] = byte(proto.OpControl); putFloat(b, math.Nextafter(1, 2)) }, true, proto.ErrValue,
			`^proto: bad value: control value 1.0000000000000002 not in \[0, 1\]$`},
		{"control negative", set, func(b *[64]byte) { b[1] = byte(proto.OpControl); putFloat(b, -1e-300) }, true, proto.ErrValue, `not in \[0, 1\]`},
		{"note-on velocity 1.5", set, func(b *[64]byte) { b[1] = byte(proto.OpNoteOn); putFloat(b, 1.5) }, true, proto.ErrValue, `note-on value 1.5`},
		{"note-off NaN", set, func(b *[64]byte) { b[1] = byte(proto.OpNoteOff); putFloat(b, math.NaN()) }, true, proto.ErrValue, `note-off value NaN not finite`},
		{"pitch-bend below -1", set, func(b *[64]byte) { b[1] = byte(proto.OpPitchBend); putFloat(b, -1.01) }, true, proto.ErrValue, `not in \[-1, 1\]`},
		{"pressure 2", set, func(b *[64]byte) { b[1] = byte(proto.OpPressure); putFloat(b, 2) }, true, proto.ErrValue, `pressure value 2`},
		{"channel 16", set, func(b *[64]byte) { b[56] = 16 }, true, proto.ErrRefine, `^proto: refine field out of range: channel 16 not in 0..15$`},
		{"channel 255", set, func(b *[64]byte) { b[56] = 255 }, true, proto.ErrRefine, `channel 255`},
		{"key 128", set, func(b *[64]byte) { b[57] = 128 }, true, proto.ErrRefine, `key 128 not in 0..127$`},
		{"zeroed", [64]byte{}, func(b *[64]byte) {}, false, proto.ErrVersion, `got 0`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.base
			tc.edit(&b)
			if tc.crc {
				fixCRC(&b)
			}
			if got := proto.Check(&b); got != tc.want {
				t.Errorf("Check = %v, want exactly %v", got, tc.want)
			}
			orig := proto.Command{Op: proto.OpStatus, Seq: 99, Value: 42}
			d := orig
			err := d.Decode(&b)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, want errors.Is %v", err, tc.want)
			}
			for _, s := range sentinels {
				if s != tc.want && errors.Is(err, s) {
					t.Errorf("Decode error also matches %v", s)
				}
			}
			if !regexp.MustCompile(tc.msg).MatchString(err.Error()) {
				t.Errorf("Decode message %q does not match %q", err, tc.msg)
			}
			if !same(d, orig) {
				t.Errorf("Decode changed the command on failure: %v", &d)
			}
		})
	}
}

// TestCRCDetectsEveryBitFlip flips each bit of bytes 1..63 of a valid
// record and expects ErrCRC (byte 0 is the version, checked first).
func TestCRCDetectsEveryBitFlip(t *testing.T) {
	for _, c := range sampleCommands(t) {
		good := encode(t, c)
		for i := 1; i < proto.Size; i++ {
			for bit := range 8 {
				b := good
				b[i] ^= 1 << bit
				if err := proto.Check(&b); err != proto.ErrCRC {
					t.Fatalf("%v: flip byte %d bit %d: Check = %v, want ErrCRC", c.Op, i, bit, err)
				}
			}
		}
	}
}

// TestCRCMessageNumbers checks that the stored and computed CRCs in the
// message are the real ones.
func TestCRCMessageNumbers(t *testing.T) {
	b := encode(t, proto.Command{Op: proto.OpReset})
	binary.LittleEndian.PutUint32(b[60:], 0xdeadbeef)
	var d proto.Command
	err := d.Decode(&b)
	want := fmt.Sprintf("proto: crc mismatch: stored 0xdeadbeef computed 0x%08x", crc32.ChecksumIEEE(b[:60]))
	if err == nil || err.Error() != want {
		t.Fatalf("Decode = %v, want %q", err, want)
	}
}

func TestReservedFlagsEveryBit(t *testing.T) {
	base := encode(t, proto.Command{Op: proto.OpReset})
	for bit := range 16 {
		b := base
		binary.LittleEndian.PutUint16(b[2:4], 1<<bit)
		fixCRC(&b)
		err := proto.Check(&b)
		defined := proto.Flags(1<<bit)&proto.FlagsReserved == 0
		switch {
		case defined && err != nil:
			t.Errorf("defined flag bit %d rejected: %v", bit, err)
		case !defined && err != proto.ErrFlags:
			t.Errorf("reserved flag bit %d: Check = %v, want ErrFlags", bit, err)
		}
	}
	if proto.FlagsReserved != ^(proto.FlagAbsolute | proto.FlagPerNote) {
		t.Errorf("FlagsReserved = 0x%04x", uint16(proto.FlagsReserved))
	}
}

// TestIgnoredValueRoundTrips: ops that ignore Value accept any bits,
// including NaN payloads, and keep them.
func TestIgnoredValueRoundTrips(t *testing.T) {
	for _, o := range []proto.Op{proto.OpProgram, proto.OpAllNotesOff, proto.OpReset, proto.OpStatus, proto.OpPatchAbort} {
		for _, bits := range []uint64{0x7ff8000000000001, 0xfff0000000000000, 0x7ff0000000000000, 0x8000000000000000} {
			c := proto.Command{Op: o, Value: math.Float64frombits(bits)}
			b := encode(t, c)
			var d proto.Command
			if err := d.Decode(&b); err != nil {
				t.Fatalf("%v value 0x%x: %v", o, bits, err)
			}
			if got := math.Float64bits(d.Value); got != bits {
				t.Fatalf("%v: value bits 0x%x, want 0x%x", o, got, bits)
			}
		}
	}
}

func TestValidateMatchesCheck(t *testing.T) {
	cases := []struct {
		c    proto.Command
		want error
	}{
		{proto.Command{}, proto.ErrOp},
		{proto.Command{Op: proto.OpReset, Flags: 1 << 5}, proto.ErrFlags},
		{proto.Command{Op: proto.OpSet, Value: 1}, proto.ErrField},
		{proto.Command{Op: proto.OpControl, Value: 2}, proto.ErrValue},
		{proto.Command{Op: proto.OpNoteOn, Key: 200}, proto.ErrRefine},
		{proto.Command{Op: proto.OpNoteOn, Channel: 16}, proto.ErrRefine},
		{proto.Command{Op: proto.OpNoteOn, Channel: 15, Key: 127, Value: 1}, nil},
	}
	for _, tc := range cases {
		if got := tc.c.Validate(); got != tc.want {
			t.Errorf("Validate(%v) = %v, want %v", &tc.c, got, tc.want)
		}
		var b [proto.Size]byte
		tc.c.Encode(&b)
		if got := proto.Check(&b); got != tc.want {
			t.Errorf("Check(Encode(%v)) = %v, want %v", &tc.c, got, tc.want)
		}
	}
}

func TestOps(t *testing.T) {
	workers := map[proto.Op]bool{
		proto.OpSet: true, proto.OpNoteOn: true, proto.OpNoteOff: true, proto.OpControl: true,
		proto.OpPitchBend: true, proto.OpPressure: true, proto.OpProgram: true, proto.OpAllNotesOff: true,
		proto.OpAllSoundOff: true, proto.OpResetControllers: true, proto.OpReset: true,
		proto.OpPatchCreate: true, proto.OpPatchConnect: true, proto.OpPatchDisconnect: true,
		proto.OpPatchSet: true, proto.OpPatchCommit: true, proto.OpPatchAbort: true,
		proto.OpPatchSelect: true, proto.OpPatchProgram: true, proto.OpPatchAmount: true,
		proto.OpKitBegin: true, proto.OpKitSound: true, proto.OpKitCommit: true, proto.OpKitSelect: true,
	}
	all := proto.AllOps()
	if len(all) != 30 {
		t.Fatalf("AllOps has %d ops, want 30", len(all))
	}
	names := map[string]bool{}
	for i, o := range all {
		if i > 0 && o <= all[i-1] {
			t.Errorf("AllOps not strictly increasing at %v", o)
		}
		s := o.String()
		if names[s] || strings.HasPrefix(s, "op(") || s != strings.ToLower(s) {
			t.Errorf("bad or duplicate name %q for 0x%02x", s, uint8(o))
		}
		names[s] = true
		if p, err := proto.ParseOp(s); err != nil || p != o {
			t.Errorf("ParseOp(%q) = %v, %v", s, p, err)
		}
		if o.ForWorkers() != workers[o] {
			t.Errorf("%v.ForWorkers() = %v", o, o.ForWorkers())
		}
	}
	valid := 0
	for i := range 256 {
		if proto.Op(i).Valid() {
			valid++
		} else if proto.Op(i).ForWorkers() {
			t.Errorf("unknown op 0x%02x ForWorkers", i)
		}
	}
	if valid != len(all) {
		t.Errorf("%d valid ops, AllOps has %d", valid, len(all))
	}
	if got := proto.Op(0xff).String(); got != "op(0xff)" {
		t.Errorf("Op(0xff).String() = %q", got)
	}
	if _, err := proto.ParseOp("Note-On"); err != proto.ErrOp {
		t.Errorf("ParseOp(Note-On) err = %v", err)
	}
	all[0] = 0 // AllOps returns a copy
	if proto.AllOps()[0] != proto.OpSet {
		t.Error("AllOps shares its backing array")
	}
}

func TestName(t *testing.T) {
	var n proto.Name
	for _, s := range []string{"", "a", "osc1", "filter1.cutoff", "ABCDEFGHIJKLMNOP", "~!{}"} {
		if err := n.Set(s); err != nil {
			t.Fatalf("Set(%q) = %v", s, err)
		}
		if n.String() != s || n.Len() != len(s) || !n.Equal(s) {
			t.Errorf("Set(%q): String %q Len %d Equal %v", s, n.String(), n.Len(), n.Equal(s))
		}
		if n.Equal(s+"x") || (s != "" && n.Equal(s[:len(s)-1])) {
			t.Errorf("Set(%q): Equal matches a different string", s)
		}
		for i := len(s); i < proto.NameLen; i++ {
			if n[i] != 0 {
				t.Fatalf("Set(%q): byte %d = 0x%02x, want NUL padding", s, i, n[i])
			}
		}
	}
	_ = n.Set("keep")
	for _, s := range []string{"ABCDEFGHIJKLMNOPQ", "a b", "tab\t", "nul\x00", "é", "\x7f"} {
		err := n.Set(s)
		if !errors.Is(err, proto.ErrField) {
			t.Errorf("Set(%q) = %v, want ErrField", s, err)
		}
		if !n.Equal("keep") {
			t.Errorf("Set(%q) changed the name to %q", s, n.String())
		}
	}
	var c proto.Command
	if err := c.SetModule("osc1"); err != nil || c.ModuleString() != "osc1" {
		t.Errorf("SetModule: %v %q", err, c.ModuleString())
	}
	if err := c.SetParam("gain"); err != nil || c.ParamString() != "gain" {
		t.Errorf("SetParam: %v %q", err, c.ParamString())
	}
	if err := c.SetParam("much-too-long-parameter"); !errors.Is(err, proto.ErrField) {
		t.Errorf("SetParam(long) = %v", err)
	}
}

func TestSeqDiff(t *testing.T) {
	tests := []struct {
		prev, next uint32
		want       int32
	}{
		{5, 6, 1}, {5, 5, 0}, {5, 9, 4}, {9, 5, -4},
		{math.MaxUint32, 0, 1}, {math.MaxUint32 - 1, 2, 4}, {0, math.MaxUint32, -1},
	}
	for _, tc := range tests {
		if got := proto.SeqDiff(tc.prev, tc.next); got != tc.want {
			t.Errorf("SeqDiff(%d, %d) = %d, want %d", tc.prev, tc.next, got, tc.want)
		}
	}
}

func TestZeroAllocs(t *testing.T) {
	cmds := sampleCommands(t)
	good := encode(t, cmds[0])
	bad := good
	bad[5] ^= 1
	var sink int
	checks := []struct {
		name string
		fn   func()
	}{
		{"Encode", func() {
			var b [proto.Size]byte // local: must stay on the stack
			cmds[3].Encode(&b)
			sink += int(b[63])
		}},
		{"Decode", func() {
			b := good
			var d proto.Command
			if d.Decode(&b) != nil {
				panic("decode failed")
			}
			sink += int(d.Key)
		}},
		{"Check good", func() {
			b := good
			if proto.Check(&b) != nil {
				panic("check failed")
			}
		}},
		{"Check bad", func() {
			b := bad
			if proto.Check(&b) != proto.ErrCRC {
				panic("check passed")
			}
		}},
		{"Validate", func() { _ = cmds[4].Validate() }},
		{"SetModule", func() {
			var c proto.Command
			if c.SetModule("filter1") != nil || c.SetModule("bad name") == nil {
				panic("SetModule")
			}
			sink += c.Module.Len()
		}},
		{"Equal", func() {
			if !cmds[0].Module.Equal("osc1") {
				panic("Equal")
			}
		}},
		{"ParseOp", func() {
			o, _ := proto.ParseOp("patch-abort")
			sink += int(o)
		}},
		{"Op.String", func() { sink += len(proto.OpNoteOn.String()) }},
	}
	for _, tc := range checks {
		if n := testing.AllocsPerRun(1000, tc.fn); n != 0 {
			t.Errorf("%s: %v allocs per run, want 0", tc.name, n)
		}
	}
	_ = sink
}

func FuzzDecode(f *testing.F) {
	for _, c := range sampleCommands(f) {
		var b [proto.Size]byte
		c.Encode(&b)
		f.Add(b[:], false)
		f.Add(b[:], true)
	}
	f.Add([]byte{}, false)
	f.Add(bytes.Repeat([]byte{0xff}, 64), true)
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		var src [proto.Size]byte
		copy(src[:], data)
		if fix { // lets the fuzzer get past the CRC to the field checks
			fixCRC(&src)
		}
		orig := src
		chk := proto.Check(&src)
		pre := proto.Command{Op: proto.OpStatus, Seq: 12345, Value: 7}
		d := pre
		err := d.Decode(&src)
		if src != orig {
			t.Fatal("Check or Decode modified the input")
		}
		if (chk == nil) != (err == nil) {
			t.Fatalf("Check = %v but Decode = %v", chk, err)
		}
		if err != nil {
			if !errors.Is(err, chk) || !isSentinel(chk) {
				t.Fatalf("Check = %v, Decode = %v", chk, err)
			}
			if !same(d, pre) {
				t.Fatal("Decode changed the command on failure")
			}
			if src[0] == proto.Version && binary.LittleEndian.Uint32(src[60:]) != crc32.ChecksumIEEE(src[:60]) && chk != proto.ErrCRC {
				t.Fatalf("bad CRC not reported: %v", chk)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("decoded command does not validate: %v", err)
		}
		var again [proto.Size]byte
		d.Encode(&again)
		if again != src {
			t.Fatalf("re-encode differs\n in % x\nout % x", src, again)
		}
	})
}

func isSentinel(err error) bool {
	for _, s := range sentinels {
		if err == s {
			return true
		}
	}
	return false
}

func BenchmarkEncode(b *testing.B) {
	c := proto.Command{Op: proto.OpSet, Seq: 1, Frame: 48000, Value: 440}
	_ = c.SetModule("osc1")
	_ = c.SetParam("cutoff")
	var buf [proto.Size]byte
	b.SetBytes(proto.Size)
	b.ReportAllocs()
	for b.Loop() {
		c.Encode(&buf)
	}
}

func BenchmarkDecode(b *testing.B) {
	c := proto.Command{Op: proto.OpSet, Seq: 1, Frame: 48000, Value: 440}
	_ = c.SetModule("osc1")
	_ = c.SetParam("cutoff")
	var buf [proto.Size]byte
	c.Encode(&buf)
	var d proto.Command
	b.SetBytes(proto.Size)
	b.ReportAllocs()
	for b.Loop() {
		if err := d.Decode(&buf); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	c := proto.Command{Op: proto.OpNoteOn, Key: 60, Value: 1}
	var buf [proto.Size]byte
	c.Encode(&buf)
	b.SetBytes(proto.Size)
	b.ReportAllocs()
	for b.Loop() {
		if err := proto.Check(&buf); err != nil {
			b.Fatal(err)
		}
	}
}
