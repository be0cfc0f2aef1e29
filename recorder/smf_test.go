package recorder

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"gitlab.com/gomidi/midi/v2/smf"

	"github.com/chronus-audio/chronus/controllers/midifile"
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
		if d := evs[i].us - w; d < -1 || d > 1 { // one tick is one frame; µs are rounded
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

// TestMIDITakeKeepsExactFrames: at the usual rates one tick is one frame,
// so the loader Chronus renders with (ticks → µs → frames at the take's
// rate) gives back every event's exact frame; text events are skipped by
// it as meta events.
func TestMIDITakeKeepsExactFrames(t *testing.T) {
	for _, rate := range []int{8000, 11025, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000} {
		ppq, tempo, exact := smfTimebase(rate)
		if !exact || ppq*1000000 != int64(rate)*tempo {
			t.Fatalf("rate %d: %d ticks per quarter at %d µs is not one tick per frame", rate, ppq, tempo)
		}
		path := filepath.Join(t.TempDir(), "take.mid")
		take, err := NewMIDITake(path, rate)
		if err != nil {
			t.Fatal(err)
		}
		frames := []int64{0, 1, 2, 3, 7, 999, 1000, 1001, int64(rate) - 1, int64(rate), 12345677, 5 * 3600 * int64(rate)}
		for i, f := range frames {
			take.Add(f, []byte{0x90, byte(i), 100})
			take.AddText(f+1, "set filter/cutoff 900")
		}
		if err := take.Close(); err != nil {
			t.Fatal(err)
		}
		song, err := midifile.LoadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(song.Events) != len(frames) || song.Meta < len(frames) {
			t.Fatalf("rate %d: read back %d events and %d meta events, want %d and at least %d", rate, len(song.Events), song.Meta, len(frames), len(frames))
		}
		for i, e := range song.Events {
			if got := int64(midifile.Frame(e.Time, rate)); got != frames[i] || e.Msg[1] != byte(i) {
				t.Fatalf("rate %d: event %d (key %d) at frame %d, want %d", rate, i, e.Msg[1], got, frames[i])
			}
		}
	}
}

// TestMIDITakeOddRate: a rate no division fits falls back to 1/1920 s
// ticks, placed to the nearest tick.
func TestMIDITakeOddRate(t *testing.T) {
	const rate = 1000003 // prime: no division up to 32767 divides it
	if _, _, exact := smfTimebase(rate); exact {
		t.Fatal("a prime rate claims an exact time base")
	}
	path := filepath.Join(t.TempDir(), "take.mid")
	take, err := NewMIDITake(path, rate)
	if err != nil {
		t.Fatal(err)
	}
	take.Add(rate/2, []byte{0x90, 60, 100})
	if err := take.Close(); err != nil {
		t.Fatal(err)
	}
	song, err := midifile.LoadFile(path)
	if err != nil || len(song.Events) != 1 {
		t.Fatalf("read back %v, %v", song, err)
	}
	if d := song.Events[0].Time - 500000; d < -261 || d > 261 { // half a tick
		t.Fatalf("event at %d µs, want 500000 ± 261", song.Events[0].Time)
	}
}
