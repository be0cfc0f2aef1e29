package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"gitlab.com/gomidi/midi/v2/smf"
)

func TestMIDITakeReadsBackOnTheSameTimeline(t *testing.T) {
	path := filepath.Join(t.TempDir(), "take.mid")
	take, err := NewMIDITake(path, 48000)
	if err != nil {
		t.Fatal(err)
	}
	// Out of order on purpose; sysex and realtime are not channel messages.
	take.Add(48000, []byte{0x80, 60, 0})
	take.Add(0, []byte{0x90, 60, 100})
	take.Add(24000, []byte{0xB0, 64, 127})
	take.Add(1, []byte{0xF8})
	take.Add(72000, []byte{0xE1, 0, 0x40})
	take.Add(720000, []byte{0xC2, 5})
	if take.Len() != 5 {
		t.Fatalf("%d events kept, want 5", take.Len())
	}
	if err := take.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	type got struct {
		us  int64
		msg string
	}
	var evs []got
	err = smf.ReadTracksFrom(bytes.NewReader(b)).Do(func(te smf.TrackEvent) {
		if te.Message.IsMeta() {
			return
		}
		evs = append(evs, got{te.AbsMicroSeconds, te.Message.String()})
	}).Error()
	if err != nil {
		t.Fatal(err)
	}
	want := []int64{0, 500000, 1000000, 1500000, 15000000} // frames / 48000 s
	if len(evs) != len(want) {
		t.Fatalf("read back %d events: %+v", len(evs), evs)
	}
	for i, w := range want {
		if d := evs[i].us - w; d < -600 || d > 600 { // one tick is 521 µs
			t.Fatalf("event %d (%s) at %d µs, want %d", i, evs[i].msg, evs[i].us, w)
		}
	}
	if _, err := NewMIDITake(path, 48000); err == nil {
		t.Fatal("an existing take was not refused")
	}
}

func TestVLQ(t *testing.T) {
	for _, tc := range []struct {
		v    uint32
		want []byte
	}{{0, []byte{0}}, {0x7f, []byte{0x7f}}, {0x80, []byte{0x81, 0}}, {0x3fff, []byte{0xff, 0x7f}}, {0x200000, []byte{0x81, 0x80, 0x80, 0}}} {
		if got := appendVLQ(nil, tc.v); !bytes.Equal(got, tc.want) {
			t.Errorf("vlq(%#x) = %x, want %x", tc.v, got, tc.want)
		}
	}
}
