package osc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chronus-audio/chronus/controllers"
	goosc "github.com/hypebeast/go-osc/osc"
)

// enc encodes a message with go-osc, the encoder Sender uses.
func enc(t testing.TB, addr string, args ...any) []byte {
	t.Helper()
	b, err := goosc.NewMessage(addr, args...).MarshalBinary()
	if err != nil {
		t.Fatalf("encode %s: %v", addr, err)
	}
	return b
}

// bundle builds a bundle by hand so the test controls every timetag and
// element size.
func bundle(tt uint64, elems ...[]byte) []byte {
	b := append([]byte(bundleTag), binary.BigEndian.AppendUint64(nil, tt)...)
	for _, e := range elems {
		b = binary.BigEndian.AppendUint32(b, uint32(len(e)))
		b = append(b, e...)
	}
	return b
}

// raw builds a message from its parts, padding each string part.
func raw(addr, tags string, data ...[]byte) []byte {
	b := oscString(nil, addr)
	b = oscString(b, tags)
	for _, d := range data {
		b = append(b, d...)
	}
	return b
}

func oscString(b []byte, s string) []byte {
	b = append(b, s...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func be32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decodeOne(t *testing.T, pkt []byte) controllers.Event {
	t.Helper()
	var ev controllers.Event
	if err := DecodeMessage(pkt, &ev); err != nil {
		t.Fatalf("DecodeMessage(% x): %v", pkt, err)
	}
	return ev
}

func TestDecodeArguments(t *testing.T) {
	blob := []byte{1, 2, 3, 4, 5}
	ev := decodeOne(t, enc(t, "/synth/all", int32(-7), int64(1)<<40, float32(0.25), 2.5,
		"first", blob, true, false))
	if got := ev.Address(); got != "/synth/all" {
		t.Errorf("address = %q", got)
	}
	if ev.Kind != controllers.OSC || ev.NArgs != 8 {
		t.Fatalf("kind %v, %d args; want osc, 8", ev.Kind, ev.NArgs)
	}
	want := []controllers.Arg{
		{Type: 'i', I: -7, F: -7},
		{Type: 'h', I: 1 << 40, F: 1 << 40},
		{Type: 'f', I: 0, F: 0.25},
		{Type: 'd', I: 2, F: 2.5},
		{Type: 's', Kept: true, I: 5},
		{Type: 'b', I: 5},
		{Type: 'T', I: 1, F: 1},
		{Type: 'F'},
	}
	for i, w := range want {
		if ev.Args[i] != w {
			t.Errorf("arg %d = %+v, want %+v", i, ev.Args[i], w)
		}
	}
	if ev.String() != "first" {
		t.Errorf("Str = %q, want first", ev.String())
	}
	if !ev.Due.IsZero() || !ev.Arrived.IsZero() || ev.Source != 0 {
		t.Errorf("Due/Arrived/Source set by decoder: %v %v %d", ev.Due, ev.Arrived, ev.Source)
	}
	for i := ev.AddrLen; i < controllers.MaxAddr; i++ {
		if ev.Addr[i] != 0 {
			t.Fatalf("address not NUL padded at %d", i)
		}
	}
}

// TestDecodeLiblo decodes packets that liblo's oscsend produced (captured
// with `oscsend - ...`), including the types go-osc cannot parse.
func TestDecodeLiblo(t *testing.T) {
	cases := []struct {
		name, hex, addr string
		args            []controllers.Arg
		str             string
	}{
		{"fader", "2f312f6661646572310000002c6600003f000000", "/1/fader1",
			[]controllers.Arg{{Type: 'f', F: 0.5}}, ""},
		{"int", "2f736571000000002c69000000000001", "/seq",
			[]controllers.Arg{{Type: 'i', I: 1, F: 1}}, ""},
		{"string", "2f73796e74682f6f7363312f77617665000000002c730000736177746f6f746800000000",
			"/synth/osc1/wave", []controllers.Arg{{Type: 's', Kept: true, I: 8}}, "sawtooth"},
		// oscsend - /multi Smc sym 90403c00 A
		{"symbol midi char", "2f6d756c746900002c536d630000000073796d0090403c0000000041", "/multi",
			[]controllers.Arg{{Type: 'S', Kept: true, I: 3}, {Type: 'm', I: 0x90403c00, F: 0x90403c00}, {Type: 'c', I: 'A', F: 'A'}}, "sym"},
		// oscsend - /imp IhdN 7 -2.5
		{"impulse", "2f696d70000000002c4968644e0000000000000000000007c004000000000000", "/imp",
			[]controllers.Arg{{Type: 'I', I: 1, F: 1}, {Type: 'h', I: 7, F: 7}, {Type: 'd', I: -2, F: -2.5}, {Type: 'N'}}, ""},
		// oscsend - /synth/test ifsTFNhd 42 3.5 hello 7 2.25
		{"mixed", "2f73796e74682f74657374002c69667354464e68640000000000002a4060000068656c6c6f00000000000000000000074002000000000000",
			"/synth/test", []controllers.Arg{{Type: 'i', I: 42, F: 42}, {Type: 'f', I: 3, F: 3.5}, {Type: 's', Kept: true, I: 5},
				{Type: 'T', I: 1, F: 1}, {Type: 'F'}, {Type: 'N'}, {Type: 'h', I: 7, F: 7}, {Type: 'd', I: 2, F: 2.25}}, "hello"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkt := unhex(t, strings.ReplaceAll(c.hex, " ", ""))
			var ev controllers.Event
			err := DecodeMessage(pkt, &ev)
			if err != nil {
				t.Fatal(err)
			}
			if ev.Address() != c.addr || int(ev.NArgs) != len(c.args) || ev.String() != c.str {
				t.Fatalf("got %q %d args str %q; want %q %d args str %q",
					ev.Address(), ev.NArgs, ev.String(), c.addr, len(c.args), c.str)
			}
			for i, w := range c.args {
				if ev.Args[i] != w {
					t.Errorf("arg %d = %+v, want %+v", i, ev.Args[i], w)
				}
			}
		})
	}
}

func TestDecodeStrings(t *testing.T) {
	long := strings.Repeat("x", controllers.MaxStr+10)
	ev := decodeOne(t, enc(t, "/s", "", long, "third"))
	if ev.StrLen != 0 || ev.Args[0].I != 0 {
		t.Errorf("empty first string: StrLen %d, I %d", ev.StrLen, ev.Args[0].I)
	}
	ev = decodeOne(t, enc(t, "/s", long, "second"))
	if int(ev.StrLen) != controllers.MaxStr || ev.String() != long[:controllers.MaxStr] {
		t.Errorf("long string kept %d bytes, want %d", ev.StrLen, controllers.MaxStr)
	}
	if ev.Args[0].I != int64(len(long)) || ev.Args[1].I != 6 {
		t.Errorf("lengths %d, %d; want %d, 6", ev.Args[0].I, ev.Args[1].I, len(long))
	}
	// An empty type tag string means no arguments (go-osc reads it so too).
	ev = decodeOne(t, raw("/none", ""))
	if ev.NArgs != 0 || ev.Address() != "/none" {
		t.Errorf("empty tags: %q %d args", ev.Address(), ev.NArgs)
	}
	// A zero-length blob is valid OSC.
	ev = decodeOne(t, raw("/b", ",b", be32(0)))
	if ev.NArgs != 1 || ev.Args[0] != (controllers.Arg{Type: 'b'}) {
		t.Errorf("zero blob: %+v", ev.Args[0])
	}
}

func TestDecodeNumbers(t *testing.T) {
	cases := []struct {
		f float64
		i int64
	}{
		{1e300, math.MaxInt64}, {-1e300, math.MinInt64}, {math.NaN(), 0},
		{math.Inf(1), math.MaxInt64}, {-3.9, -3}, {3.9, 3},
	}
	for _, c := range cases {
		ev := decodeOne(t, enc(t, "/d", c.f))
		if ev.Args[0].I != c.i {
			t.Errorf("d %v: I = %d, want %d", c.f, ev.Args[0].I, c.i)
		}
	}
	ev := decodeOne(t, raw("/rgba", ",r", be32(0xff8000ff)))
	if ev.Args[0].I != 0xff8000ff {
		t.Errorf("r: I = %#x", ev.Args[0].I)
	}
	tt := NTPFromTime(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	ev = decodeOne(t, raw("/t", ",t", be64(tt)))
	if uint64(ev.Args[0].I) != tt {
		t.Errorf("t: I = %#x, want %#x", ev.Args[0].I, tt)
	}
}

func TestDecodeErrors(t *testing.T) {
	nine := raw("/nine", ",iiiiiiiii", make([]byte, 36))
	eight := raw("/eight", ",iiiiiiii", make([]byte, 32))
	addr128 := "/" + strings.Repeat("a", controllers.MaxAddr-1)
	okMsg := enc(t, "/ok", int32(1))
	cases := []struct {
		name string
		pkt  []byte
		want error
	}{
		{"empty", nil, ErrEmpty},
		{"address without NUL", []byte("/abc"), ErrTruncated},
		{"address padding cut", []byte("/ab\x00/"[:3]), ErrTruncated},
		{"no type tags", []byte("/ab\x00"), ErrTruncated},
		{"type tags without NUL", []byte("/ab\x00,iii"), ErrTruncated},
		{"type tag padding cut", []byte("/ab\x00,TFN\x00\x00"), ErrTruncated},
		{"truncated int", raw("/a", ",i", []byte{0, 0}), ErrTruncated},
		{"m without data", raw("/synth/m", ",m"), ErrTruncated},
		{"truncated double", raw("/a", ",d", be32(1)), ErrTruncated},
		{"truncated timetag", raw("/a", ",t", be32(1)), ErrTruncated},
		{"string without NUL", append(raw("/a", ",s"), "abcd"...), ErrTruncated},
		{"string padding cut", append(raw("/a", ",s"), "abcd\x00"...), ErrTruncated},
		{"blob too long", raw("/a", ",b", be32(8), []byte{1, 2, 3, 4}), ErrTruncated},
		{"blob negative", raw("/a", ",b", be32(0xffffffff)), ErrTruncated},
		{"blob padding cut", raw("/a", ",b", be32(3), []byte{1, 2, 3}), ErrTruncated},
		{"tags without comma", raw("/a", "i", be32(1)), ErrBadTypeTag},
		{"unknown tag", raw("/a", ",z", be32(1)), ErrBadTypeTag},
		{"array", raw("/a", ",[i]", be32(1)), ErrBadTypeTag},
		{"open bracket", raw("/synth/a[", ",i", be32(1)), ErrBadPattern},
		{"lone brace", raw("/synth/a}", ","), ErrBadPattern},
		{"address too long", raw(addr128+"a", ","), ErrOversized},
		{"nine arguments", nine, ErrOversized},
		// oscsend - /synth/test ifsTFNhdc 42 3.5 hello 7 2.25 x
		{"nine arguments from liblo", unhex(t, "2f73796e74682f74657374002c69667354464e68646300000000002a4060000068656c6c6f0000000000000000000007400200000000000000000078"), ErrOversized},
		{"packet too big", append(raw("/big", ",b", be32(MaxPacket)), make([]byte, MaxPacket)...), ErrOversized},
		{"garbage", []byte("hello world"), ErrNotOSC},
		{"tags only", []byte(",m\x00\x00"), ErrNotOSC},
		{"bad bundle tag", []byte("#bundlX\x00\x00\x00\x00\x00\x00\x00\x00\x01"), ErrNotOSC},
		{"bundle tag cut", []byte("#bund"), ErrTruncated},
		{"bundle timetag cut", []byte("#bundle\x00\x00\x00"), ErrTruncated},
		{"element size cut", append(bundle(1), 0, 0), ErrTruncated},
		{"element size zero", bundle(1, nil), ErrBadBundle},
		{"element size not /4", append(bundle(1), append(be32(6), "/a\x00\x00,\x00"...)...), ErrBadBundle},
		{"element past end", append(bundle(1), append(be32(16), okMsg[:8]...)...), ErrBadBundle},
		{"element with trailing bytes", bundle(1, append(okMsg, 0, 0, 0, 0)), ErrBadBundle},
		{"element message cut", bundle(1, okMsg[:8]), ErrBadBundle},
		{"element not OSC", bundle(1, []byte("junk")), ErrNotOSC},
		{"element bad pattern", bundle(1, okMsg, raw("/x/{a", ",")), ErrBadPattern},
		{"nested header cut", bundle(1, []byte("#bundle\x00")), ErrBadBundle},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var d Decoder
			err := d.Decode(c.pkt)
			if err != c.want {
				t.Fatalf("Decode(% x) = %v, want %v", c.pkt, err, c.want)
			}
			var ev controllers.Event
			if d.Next(&ev) {
				t.Fatal("Next returned a message after a failed Decode")
			}
		})
	}
	for _, ok := range [][]byte{eight, raw(addr128, ","), bundle(1)} {
		var d Decoder
		if err := d.Decode(ok); err != nil {
			t.Errorf("Decode(% x) = %v, want nil (at the limit)", ok, err)
		}
	}
}

func TestDecodeErrOffset(t *testing.T) {
	good := enc(t, "/good", int32(1))
	pkt := bundle(1, good, raw("/bad", ",z"))
	var d Decoder
	if err := d.Decode(pkt); err != ErrBadTypeTag {
		t.Fatalf("err = %v", err)
	}
	want := 16 + 4 + len(good) + 4 // header, first element, second size
	if d.ErrOffset() != want {
		t.Errorf("ErrOffset = %d, want %d", d.ErrOffset(), want)
	}
}

func TestTimetags(t *testing.T) {
	cases := []struct {
		tt   uint64
		want time.Time
	}{
		{0, time.Time{}},
		{1, time.Time{}},
		{ntpUnixOffset << 32, time.Unix(0, 0)},
		{ntpUnixOffset<<32 | 1<<31, time.Unix(0, 5e8)},
		{ntpUnixOffset<<32 | 1<<30, time.Unix(0, 2.5e8)},
		// Seconds below 2^31 are NTP era 1, which starts 2^32 s after
		// 1900-01-01, at 2036-02-07 06:28:16 UTC.
		{1 << 32, time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC)},
	}
	for _, c := range cases {
		if got := TimeFromNTP(c.tt); !got.Equal(c.want) {
			t.Errorf("TimeFromNTP(%#x) = %v, want %v", c.tt, got, c.want)
		}
	}
	for _, tm := range []time.Time{
		time.Date(2026, 3, 4, 5, 6, 7, 999999999, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 1, time.UTC),
		time.Date(2040, 1, 1, 0, 0, 0, 123456789, time.UTC),
	} {
		if got := TimeFromNTP(NTPFromTime(tm)); !got.Equal(tm) {
			t.Errorf("round trip of %v gave %v", tm, got)
		}
	}
	if NTPFromTime(time.Time{}) != 1 {
		t.Error("zero Time is not the immediate timetag")
	}
}

func TestDecodeNestedBundles(t *testing.T) {
	base := time.Date(2026, 6, 1, 20, 0, 0, 0, time.UTC)
	at := func(d time.Duration) uint64 { return NTPFromTime(base.Add(d)) }
	m := func(name string) []byte { return enc(t, "/"+name, int32(len(name))) }
	pkt := bundle(at(time.Second),
		m("a"),
		bundle(at(2*time.Second), m("b"), bundle(1, m("c")), m("d")),
		bundle(at(500*time.Millisecond), m("e")), // earlier than its parent
		m("f"),
		bundle(at(3*time.Second)), // empty
		bundle(at(3*time.Second), bundle(at(4*time.Second), m("g"))),
	)
	want := []struct {
		addr string
		due  time.Duration
	}{{"/a", time.Second}, {"/b", 2 * time.Second}, {"/c", 2 * time.Second}, {"/d", 2 * time.Second},
		{"/e", time.Second}, {"/f", time.Second}, {"/g", 4 * time.Second}}
	var d Decoder
	if err := d.Decode(pkt); err != nil {
		t.Fatal(err)
	}
	if !d.Bundle() || d.Len() != len(want) {
		t.Fatalf("Bundle %v Len %d, want true %d", d.Bundle(), d.Len(), len(want))
	}
	var ev controllers.Event
	for i, w := range want {
		if !d.Next(&ev) {
			t.Fatalf("only %d messages", i)
		}
		if ev.Address() != w.addr || !ev.Due.Equal(base.Add(w.due)) {
			t.Errorf("message %d: %s due %v; want %s due %v", i, ev.Address(), ev.Due, w.addr, base.Add(w.due))
		}
		if ev.Args[0].I != int64(len(w.addr)-1) {
			t.Errorf("message %d: arg %d", i, ev.Args[0].I)
		}
	}
	if d.Next(&ev) {
		t.Errorf("extra message %s", ev.Address())
	}
	// An immediate bundle gives zero Due.
	if err := d.Decode(bundle(1, m("now"))); err != nil || !d.Next(&ev) || !ev.Due.IsZero() {
		t.Errorf("immediate bundle: err %v, Due %v", err, ev.Due)
	}
}

func TestDecodeDepth(t *testing.T) {
	inner := enc(t, "/deep")
	pkt := inner
	for i := 0; i < MaxDepth; i++ {
		pkt = bundle(1, pkt)
	}
	var d Decoder
	if err := d.Decode(pkt); err != nil {
		t.Fatalf("depth %d: %v", MaxDepth, err)
	}
	var ev controllers.Event
	if !d.Next(&ev) || ev.Address() != "/deep" {
		t.Fatal("deep message not returned")
	}
	if err := d.Decode(bundle(1, pkt)); err != ErrOversized {
		t.Fatalf("depth %d: %v, want ErrOversized", MaxDepth+1, err)
	}
}

// TestDecoderReuse checks that a Decoder forgets its previous packet and
// that Next overwrites every field.
func TestDecoderReuse(t *testing.T) {
	var d Decoder
	var ev controllers.Event
	if err := d.Decode(enc(t, "/long/address/here", "str", int32(1), int32(2))); err != nil {
		t.Fatal(err)
	}
	d.Next(&ev)
	ev.Source, ev.Arrived = 9, time.Now()
	if err := d.Decode(enc(t, "/x")); err != nil {
		t.Fatal(err)
	}
	d.Next(&ev)
	want := controllers.Event{Kind: controllers.OSC, AddrLen: 2}
	copy(want.Addr[:], "/x")
	if ev != want {
		t.Errorf("reused event = %+v", ev)
	}
	if d.Decode([]byte("bad")) == nil || d.Next(&ev) {
		t.Error("Next after a failed Decode")
	}
}

func TestDecodeAllocs(t *testing.T) {
	msg := enc(t, "/1/fader1", float32(0.5))
	bnd := bundle(NTPFromTime(time.Now()), msg, bundle(1, enc(t, "/2/push1", float32(1), "label")), msg)
	var d Decoder
	var ev controllers.Event
	for name, pkt := range map[string][]byte{"message": msg, "bundle": bnd} {
		n := 0
		allocs := testing.AllocsPerRun(200, func() {
			if err := d.Decode(pkt); err != nil {
				t.Fatal(err)
			}
			for d.Next(&ev) {
				n++
			}
		})
		if allocs != 0 || n == 0 {
			t.Errorf("%s: %v allocs per decode (%d messages), want 0", name, allocs, n)
		}
	}
	bad := []byte("/synth/a[\x00\x00\x00,\x00\x00\x00")
	if a := testing.AllocsPerRun(200, func() { d.Decode(bad) }); a != 0 {
		t.Errorf("rejecting: %v allocs, want 0", a)
	}
	if a := testing.AllocsPerRun(200, func() { DecodeMessage(msg, &ev) }); a != 0 {
		t.Errorf("DecodeMessage: %v allocs, want 0", a)
	}
	if !bytes.Equal(msg, enc(t, "/1/fader1", float32(0.5))) {
		t.Error("Decode modified the packet")
	}
}

// TestDecodeKeepsEveryString: every string argument that fits is kept in
// order (Event.StringArg), the first one also as Event.String, and one that
// does not fit is reported as not kept rather than cut.
func TestDecodeKeepsEveryString(t *testing.T) {
	long := strings.Repeat("x", 120) // does not fit after the first two
	msg := goosc.NewMessage("/patch/connect", "osc1", float32(0.5), "filter1.cutoff", long, "mul")
	b, err := msg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var ev controllers.Event
	if err := DecodeMessage(b, &ev); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		s  string
		ok bool
	}{{"osc1", true}, {"", false}, {"filter1.cutoff", true}, {"", false}, {"mul", true}}
	for i, w := range want {
		if s, ok := ev.StringArg(i); s != w.s || ok != w.ok {
			t.Errorf("StringArg(%d) = %q, %v; want %q, %v", i, s, ok, w.s, w.ok)
		}
	}
	if ev.String() != "osc1" {
		t.Errorf("String() = %q", ev.String())
	}
	if _, ok := ev.StringArg(5); ok {
		t.Error("StringArg past the arguments reported a string")
	}
}
