package recorder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-audio/wav"
)

// memFile is an in-memory io.WriteSeeker that behaves like a file: writing
// past the end grows it, seeking past the end leaves a hole.
type memFile struct {
	b   []byte
	pos int64
}

func (m *memFile) Write(p []byte) (int, error) {
	if end := m.pos + int64(len(p)); end > int64(len(m.b)) {
		m.b = append(m.b, make([]byte, end-int64(len(m.b)))...)
	}
	copy(m.b[m.pos:], p)
	m.pos += int64(len(p))
	return len(p), nil
}

func (m *memFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += m.pos
	case io.SeekEnd:
		off += int64(len(m.b))
	}
	if off < 0 {
		return 0, errors.New("negative seek")
	}
	m.pos = off
	return off, nil
}

// discard is a WriteSeeker that stores nothing and never allocates.
type discard struct{ pos, size int64 }

func (d *discard) Write(p []byte) (int, error) {
	d.pos += int64(len(p))
	d.size = max(d.size, d.pos)
	return len(p), nil
}

func (d *discard) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekCurrent:
		off += d.pos
	case io.SeekEnd:
		off += d.size
	}
	d.pos = off
	return off, nil
}

var errInjected = errors.New("injected failure")

// faulty wraps a memFile and fails the failWrite-th Write or failSeek-th
// Seek (1-based; 0 = never). short makes that Write short with no error.
type faulty struct {
	memFile
	writes, seeks       int
	failWrite, failSeek int
	short               bool
}

func (f *faulty) Write(p []byte) (int, error) {
	f.writes++
	if f.writes == f.failWrite {
		if f.short {
			return f.memFile.Write(p[:len(p)/2])
		}
		return 0, errInjected
	}
	return f.memFile.Write(p)
}

func (f *faulty) Seek(off int64, whence int) (int64, error) {
	f.seeks++
	if f.seeks == f.failSeek {
		return 0, errInjected
	}
	return f.memFile.Seek(off, whence)
}

// signal returns frames*channels samples: a sine per channel plus the
// given specials spread through the start of the buffer.
func signal(frames, channels int, specials ...float32) []float32 {
	s := make([]float32, frames*channels)
	for i := range frames {
		for c := range channels {
			s[i*channels+c] = float32(0.8 * math.Sin(2*math.Pi*float64(i)*float64(c+1)/97))
		}
	}
	copy(s, specials)
	return s
}

var extremes = []float32{
	0, 1, -1, 0.5, -0.5, 1.5, -2, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
	1e-9, -1e-9, 0.25, -0.75, math.Nextafter32(1, 0), math.Nextafter32(-1, 0), 3e38, -3e38,
}

// wantInt is the documented integer conversion written independently of
// quantize: clamp, NaN -> 0, round half away from zero via floor.
func wantInt(x float32, scale float64) int {
	v := float64(x)
	if math.IsNaN(v) {
		return 0
	}
	v = math.Max(-1, math.Min(1, v)) * scale
	if v < 0 {
		return -int(math.Floor(-v + 0.5))
	}
	return int(math.Floor(v + 0.5))
}

func wantFloat(x float32) float32 {
	switch {
	case math.IsNaN(float64(x)):
		return 0
	case math.IsInf(float64(x), 1):
		return 1
	case math.IsInf(float64(x), -1):
		return -1
	}
	return x
}

func TestQuantizeHandValues(t *testing.T) {
	tests := []struct {
		x        float32
		s16, s24 int32
	}{
		{0, 0, 0},
		{1, 32767, 8388607},
		{-1, -32767, -8388607},
		{2, 32767, 8388607},
		{-2, -32767, -8388607},
		{0.5, 16384, 4194304},    // 16383.5 and 4194303.5 round away from zero
		{-0.5, -16384, -4194304}, // symmetric
		{0.25, 8192, 2097152},    // 8191.75, 2097151.75
		{1.0 / 32767, 1, 256},    // one 16-bit step; 256.0078 24-bit steps
		{float32(math.NaN()), 0, 0},
		{float32(math.Inf(1)), 32767, 8388607},
		{float32(math.Inf(-1)), -32767, -8388607},
	}
	for _, tc := range tests {
		if got := quantize(tc.x, 32767); got != tc.s16 {
			t.Errorf("quantize(%v, s16) = %d, want %d", tc.x, got, tc.s16)
		}
		if got := quantize(tc.x, 8388607); got != tc.s24 {
			t.Errorf("quantize(%v, s24) = %d, want %d", tc.x, got, tc.s24)
		}
	}
}

// TestQuantizeProperties sweeps float32 values across [-1.1, 1.1]: the
// error is at most half a step, the mapping is monotonic and odd.
func TestQuantizeProperties(t *testing.T) {
	for _, scale := range []float64{32767, 8388607} {
		prev := int32(math.MinInt32)
		for i := -1100000; i <= 1100000; i += 7 {
			x := float32(i) / 1e6
			q := quantize(x, scale)
			if q < prev {
				t.Fatalf("scale %v: not monotonic at %v", scale, x)
			}
			prev = q
			if q != int32(wantInt(x, scale)) {
				t.Fatalf("scale %v: quantize(%v) = %d, want %d", scale, x, q, wantInt(x, scale))
			}
			if -quantize(-x, scale) != q {
				t.Fatalf("scale %v: quantize(-%v) != -quantize(%v)", scale, x, x)
			}
			c := math.Max(-1, math.Min(1, float64(x)))
			if e := math.Abs(float64(q)/scale - c); e > 0.5/scale*(1+1e-12) {
				t.Fatalf("scale %v: error %g at %v exceeds half a step", scale, e, x)
			}
		}
	}
}

// TestQuantizeRandomBits compares quantize with math.Round on random
// float32 bit patterns, which reach the tiny magnitudes a sweep misses.
func TestQuantizeRandomBits(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 2000000 {
		x := math.Float32frombits(r.Uint32()) // mostly huge or tiny
		if i%2 == 0 {
			x = float32(2*r.Float64() - 1) // the range that matters
		}
		for _, scale := range []float64{32767, 8388607} {
			v := math.Max(-1, math.Min(1, float64(x)))
			want := int32(math.Round(v * scale))
			if math.IsNaN(float64(x)) {
				want = 0
			}
			if got := quantize(x, scale); got != want {
				t.Fatalf("quantize(%g, %v) = %d, math.Round gives %d", x, scale, got, want)
			}
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range []Format{F32, S16, S24} {
		for _, s := range []string{f.String(), strings.ToUpper(f.String())} {
			if got, err := ParseFormat(s); err != nil || got != f {
				t.Errorf("ParseFormat(%q) = %v, %v", s, got, err)
			}
		}
	}
	for _, s := range []string{"", "u8", "s32", "float"} {
		if _, err := ParseFormat(s); err == nil || !strings.HasPrefix(err.Error(), "recorder: ") {
			t.Errorf("ParseFormat(%q) err = %v", s, err)
		}
	}
	if Format(0) != F32 {
		t.Error("zero Format is not F32")
	}
	if got := Format(9).String(); got != "format(9)" {
		t.Errorf("Format(9).String() = %q", got)
	}
}

type hdrField struct {
	off  int
	want any // string (4CC or raw bytes), uint16 or uint32
}

func checkFields(t *testing.T, b []byte, fields []hdrField) {
	t.Helper()
	for _, f := range fields {
		switch w := f.want.(type) {
		case string:
			if got := string(b[f.off : f.off+len(w)]); got != w {
				t.Errorf("offset %d: %q, want %q", f.off, got, w)
			}
		case uint16:
			if got := binary.LittleEndian.Uint16(b[f.off:]); got != w {
				t.Errorf("offset %d: %d (0x%x), want %d (0x%x)", f.off, got, got, w, w)
			}
		case uint32:
			if got := binary.LittleEndian.Uint32(b[f.off:]); got != w {
				t.Errorf("offset %d: %d (0x%x), want %d (0x%x)", f.off, got, got, w, w)
			}
		default:
			t.Fatalf("bad field %v", f)
		}
	}
}

const (
	pcmGUID = "\x01\x00\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
)

// TestHeaderFields checks every header field against values worked out by
// hand from the WAVE specification.
func TestHeaderFields(t *testing.T) {
	tests := []struct {
		name           string
		rate, channels int
		f              Format
		frames         int
		size           int // file size
		fields         []hdrField
	}{
		{"s16 stereo plain pcm", 44100, 2, S16, 10, 44 + 40, []hdrField{
			{0, "RIFF"}, {4, uint32(36 + 40)}, {8, "WAVE"},
			{12, "fmt "}, {16, uint32(16)}, {20, uint16(1)}, {22, uint16(2)},
			{24, uint32(44100)}, {28, uint32(176400)}, {32, uint16(4)}, {34, uint16(16)},
			{36, "data"}, {40, uint32(40)},
		}},
		{"s16 mono plain pcm", 8000, 1, S16, 3, 44 + 6, []hdrField{
			{4, uint32(42)}, {20, uint16(1)}, {22, uint16(1)}, {28, uint32(16000)}, {32, uint16(2)}, {40, uint32(6)},
		}},
		{"s16 six channels extensible", 48000, 6, S16, 2, 68 + 24, []hdrField{
			{0, "RIFF"}, {4, uint32(60 + 24)}, {8, "WAVE"},
			{12, "fmt "}, {16, uint32(40)}, {20, uint16(0xfffe)}, {22, uint16(6)},
			{24, uint32(48000)}, {28, uint32(576000)}, {32, uint16(12)}, {34, uint16(16)},
			{36, uint16(22)}, {38, uint16(16)}, {40, uint32(0)}, {44, pcmGUID},
			{60, "data"}, {64, uint32(24)},
		}},
		{"s24 mono extensible odd size", 96000, 1, S24, 5, 68 + 15 + 1, []hdrField{
			{0, "RIFF"}, {4, uint32(60 + 15 + 1)}, {8, "WAVE"},
			{12, "fmt "}, {16, uint32(40)}, {20, uint16(0xfffe)}, {22, uint16(1)},
			{24, uint32(96000)}, {28, uint32(288000)}, {32, uint16(3)}, {34, uint16(24)},
			{36, uint16(22)}, {38, uint16(24)}, {40, uint32(4)}, {44, pcmGUID},
			{60, "data"}, {64, uint32(15)}, {83, "\x00"},
		}},
		{"f32 stereo ieee float with fact", 48000, 2, F32, 7, 58 + 56, []hdrField{
			{0, "RIFF"}, {4, uint32(50 + 56)}, {8, "WAVE"},
			{12, "fmt "}, {16, uint32(18)}, {20, uint16(3)}, {22, uint16(2)},
			{24, uint32(48000)}, {28, uint32(384000)}, {32, uint16(8)}, {34, uint16(32)},
			{36, uint16(0)},
			{38, "fact"}, {42, uint32(4)}, {46, uint32(7)},
			{50, "data"}, {54, uint32(56)},
		}},
		{"f32 six channels ieee float", 44100, 6, F32, 1, 58 + 24, []hdrField{
			{4, uint32(50 + 24)}, {16, uint32(18)}, {20, uint16(3)}, {22, uint16(6)},
			{28, uint32(44100 * 24)}, {32, uint16(24)}, {34, uint16(32)}, {46, uint32(1)}, {54, uint32(24)},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &memFile{}
			w, err := NewWriter(m, tc.rate, tc.channels, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(signal(tc.frames, tc.channels)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if len(m.b) != tc.size {
				t.Fatalf("file size %d, want %d", len(m.b), tc.size)
			}
			checkFields(t, m.b, tc.fields)
			var one bytes.Buffer
			if err := WriteWAV(&one, tc.rate, tc.channels, tc.f, signal(tc.frames, tc.channels)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(one.Bytes(), m.b) {
				t.Errorf("WriteWAV differs from Writer")
			}
		})
	}
}

// TestEmptyHeader: NewWriter alone leaves a valid empty file (data size 0).
func TestEmptyHeader(t *testing.T) {
	m := &memFile{}
	if _, err := NewWriter(m, 48000, 2, F32); err != nil {
		t.Fatal(err)
	}
	checkFields(t, m.b, []hdrField{{4, uint32(50)}, {46, uint32(0)}, {50, "data"}, {54, uint32(0)}})
	if len(m.b) != 58 {
		t.Fatalf("size %d", len(m.b))
	}
}

// decodeGoAudio reads a WAV with github.com/go-audio/wav and returns its
// format and samples as ints (float samples as their raw bits).
func decodeGoAudio(t *testing.T, b []byte) (*wav.Decoder, []int) {
	t.Helper()
	d := wav.NewDecoder(bytes.NewReader(b))
	if !d.IsValidFile() {
		t.Fatalf("go-audio/wav: not a valid file: %v", d.Err())
	}
	if err := d.Rewind(); err != nil {
		t.Fatal(err)
	}
	buf, err := d.FullPCMBuffer()
	if err != nil {
		t.Fatalf("go-audio/wav: %v", err)
	}
	return d, buf.Data
}

// checkSamples compares decoded ints with the documented conversion.
func checkSamples(t *testing.T, f Format, got []int, in []float32) {
	t.Helper()
	// go-audio's FullPCMBuffer turns a trailing pad byte into one bogus
	// sample (it reads the padded chunk size); ignore exactly that.
	if f == S24 && len(in)%2 == 1 && len(got) == len(in)+1 {
		got = got[:len(in)]
	}
	if len(got) != len(in) {
		t.Fatalf("%d samples decoded, want %d", len(got), len(in))
	}
	for i, x := range in {
		var ok bool
		var want any
		switch f {
		case S16:
			want = wantInt(x, 32767)
			ok = got[i] == want
		case S24:
			want = wantInt(x, 8388607)
			ok = got[i] == want
		case F32:
			w := wantFloat(x)
			want = w
			ok = math.Float32bits(w) == uint32(int32(got[i]))
		}
		if !ok {
			t.Fatalf("sample %d (in %v): got %d, want %v", i, x, got[i], want)
		}
	}
}

func TestGoAudioRoundTrip(t *testing.T) {
	for _, f := range []Format{S16, S24, F32} {
		for _, ch := range []int{1, 2, 3, 8} {
			t.Run(fmt.Sprintf("%v/%dch", f, ch), func(t *testing.T) {
				in := signal(4801, ch, extremes...)
				m := &memFile{}
				w, err := NewWriter(m, 48000, ch, f)
				if err != nil {
					t.Fatal(err)
				}
				// uneven block sizes, whole frames each
				for rest, k := in, 1; len(rest) > 0; k = k*3 + 1 {
					n := min(len(rest), k*ch)
					if err := w.Write(rest[:n]); err != nil {
						t.Fatal(err)
					}
					rest = rest[n:]
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if w.Frames() != 4801 {
					t.Errorf("Frames = %d", w.Frames())
				}
				d, got := decodeGoAudio(t, m.b)
				wantTag := uint16(0xfffe)
				switch {
				case f == F32:
					wantTag = 3
				case f == S16 && ch <= 2:
					wantTag = 1
				}
				if d.SampleRate != 48000 || int(d.NumChans) != ch || int(d.BitDepth) != 8*f.bytes() || d.WavAudioFormat != wantTag {
					t.Fatalf("go-audio/wav: rate %d chans %d bits %d tag 0x%x", d.SampleRate, d.NumChans, d.BitDepth, d.WavAudioFormat)
				}
				if dur, err := d.Duration(); err != nil || dur.Round(time.Millisecond) != 100*time.Millisecond {
					t.Errorf("go-audio/wav: duration %v, %v", dur, err)
				}
				checkSamples(t, f, got, in)
			})
		}
	}
}

// soxInfo runs `sox --i` and each `soxi -X` on path.
func soxInfo(t *testing.T, path string) (info string, soxi map[string]string) {
	t.Helper()
	soxiPath := waitForTool(t, "soxi")
	out, err := exec.Command("sox", "--i", path).CombinedOutput()
	if err != nil {
		t.Fatalf("sox --i: %v\n%s", err, out)
	}
	soxi = map[string]string{}
	for _, opt := range []string{"r", "c", "s", "b", "p", "e", "t"} {
		o, err := exec.Command(soxiPath, "-"+opt, path).CombinedOutput()
		if err != nil {
			t.Fatalf("soxi -%s: %v\n%s", opt, err, o)
		}
		soxi[opt] = strings.TrimSpace(string(o))
	}
	return string(out), soxi
}

// waitForTool waits up to a minute for a tool the lead installs; it fails
// (never skips) if the tool does not appear.
func waitForTool(t *testing.T, name string) string {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(2 * time.Second) {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not installed", name)
		}
	}
}

func infoField(t *testing.T, info, key string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*: (.*)$`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("sox --i has no %q:\n%s", key, info)
	}
	return strings.TrimSpace(m[1])
}

// soxDecode has sox decode path to raw 32-bit signed integers (its internal
// sample format, so no conversion of its own beyond the input format's) and
// returns them; stderr must be empty (no warnings).
func soxDecode(t *testing.T, path string) []int32 {
	t.Helper()
	cmd := exec.Command("sox", "-D", path, "-t", "raw", "-e", "signed-integer", "-b", "32", "-L", "-")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("sox decode: %v\n%s", err, stderr.Bytes())
	}
	if stderr.Len() != 0 {
		t.Errorf("sox printed warnings:\n%s", stderr.Bytes())
	}
	raw := stdout.Bytes()
	out := make([]int32, len(raw)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out
}

// soxSample is what sox's int32 sample should be for input x: integer
// formats are shifted to the top of 32 bits; floats are scaled by 2^31,
// rounded half away from zero and clipped (sox's SOX_FLOAT_32BIT_TO_SAMPLE).
func soxSample(f Format, x float32) int32 {
	switch f {
	case S16:
		return int32(wantInt(x, 32767)) << 16
	case S24:
		return int32(wantInt(x, 8388607)) << 8
	}
	v := float64(wantFloat(x)) * (1 << 31)
	r := math.Floor(math.Abs(v) + 0.5)
	if v < 0 {
		return int32(max(-r, math.MinInt32))
	}
	return int32(min(r, math.MaxInt32))
}

func TestSox(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		f                         Format
		rate, channels, frames    int
		precision, encoding, bits string
	}{
		{S16, 44100, 2, 44100, "16-bit", "16-bit Signed Integer PCM", "16"},
		{S16, 48000, 4, 1000, "16-bit", "16-bit Signed Integer PCM", "16"},
		{S24, 96000, 1, 9601, "24-bit", "24-bit Signed Integer PCM", "24"},
		{S24, 48000, 2, 480, "24-bit", "24-bit Signed Integer PCM", "24"},
		{F32, 48000, 2, 48000, "25-bit", "32-bit Floating Point PCM", "32"},
		{F32, 22050, 6, 777, "25-bit", "32-bit Floating Point PCM", "32"},
	}
	for _, tc := range tests {
		name := fmt.Sprintf("%v-%dch-%d", tc.f, tc.channels, tc.rate)
		t.Run(name, func(t *testing.T) {
			specials := []float32{0, 0.5, -0.5, 1e-6, -1e-6, float32(math.NaN()), -0.99,
				1, -1, float32(math.Inf(1)), float32(math.Inf(-1))}
			if tc.f != F32 { // sox would clip float input beyond ±1, and warn
				specials = append(specials, 1.5, -2, 3e38)
			}
			in := signal(tc.frames, tc.channels, specials...)
			path := filepath.Join(dir, name+".wav")
			file, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			w, err := NewWriter(file, tc.rate, tc.channels, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			for rest := in; len(rest) > 0; {
				n := min(len(rest), 64*tc.channels)
				if err := w.Write(rest[:n]); err != nil {
					t.Fatal(err)
				}
				rest = rest[n:]
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if err := file.Close(); err != nil {
				t.Fatal(err)
			}

			info, soxi := soxInfo(t, path)
			checks := []struct{ got, want, what string }{
				{infoField(t, info, "Channels"), strconv.Itoa(tc.channels), "sox --i channels"},
				{infoField(t, info, "Sample Rate"), strconv.Itoa(tc.rate), "sox --i rate"},
				{infoField(t, info, "Precision"), tc.precision, "sox --i precision"},
				{infoField(t, info, "Sample Encoding"), tc.encoding, "sox --i encoding"},
				{soxi["r"], strconv.Itoa(tc.rate), "soxi -r"},
				{soxi["c"], strconv.Itoa(tc.channels), "soxi -c"},
				{soxi["s"], strconv.Itoa(tc.frames), "soxi -s"},
				{soxi["b"], tc.bits, "soxi -b"},
				{soxi["p"], strings.TrimSuffix(tc.precision, "-bit"), "soxi -p"},
				{soxi["e"], strings.SplitN(tc.encoding, " ", 2)[1], "soxi -e"},
				{soxi["t"], "wav", "soxi -t"},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s = %q, want %q", c.what, c.got, c.want)
				}
			}
			if d := infoField(t, info, "Duration"); !strings.Contains(d, fmt.Sprintf("= %d samples", tc.frames)) {
				t.Errorf("sox --i duration %q, want %d samples", d, tc.frames)
			}
			got := soxDecode(t, path)
			if len(got) != len(in) {
				t.Fatalf("sox decoded %d samples, want %d", len(got), len(in))
			}
			for i, x := range in {
				if want := soxSample(tc.f, x); got[i] != want {
					t.Fatalf("sox sample %d (in %v) = %d, want %d", i, x, got[i], want)
				}
			}
		})
	}
}

// TestTruncatedAfterFlush simulates a crash: after Flush the writer keeps
// going (filling and writing its buffer), then the file is cut at the size
// it had when Flush returned. Both readers must read the flushed audio.
func TestTruncatedAfterFlush(t *testing.T) {
	for _, f := range []Format{S16, S24, F32} {
		t.Run(f.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.wav")
			file, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer file.Close()
			w, err := NewWriter(file, 48000, 1, f)
			if err != nil {
				t.Fatal(err)
			}
			first := signal(12345, 1, extremes...) // odd: S24 needs a pad byte
			if err := w.Write(first); err != nil {
				t.Fatal(err)
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			st, err := file.Stat()
			if err != nil {
				t.Fatal(err)
			}
			flushed := st.Size()
			if err := w.Write(signal(100000, 1)); err != nil { // > buffer: reaches the file
				t.Fatal(err)
			}
			if st, _ := file.Stat(); st.Size() <= flushed {
				t.Fatalf("test bug: later samples did not reach the file (%d <= %d)", st.Size(), flushed)
			}
			if err := file.Truncate(flushed); err != nil { // the "crash"
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, got := decodeGoAudio(t, b)
			checkSamples(t, f, got, first)
			_, soxi := soxInfo(t, path)
			if soxi["s"] != "12345" {
				t.Errorf("soxi -s = %s, want 12345", soxi["s"])
			}
			if f != F32 { // the extremes include values sox would clip as float
				if n := len(soxDecode(t, path)); n != len(first) {
					t.Errorf("sox decoded %d samples, want %d", n, len(first))
				}
			}
		})
	}
}

// TestPadByteOverwritten: a pad byte written by Flush is replaced by the
// next samples, so the data stays contiguous.
func TestPadByteOverwritten(t *testing.T) {
	m := &memFile{}
	w, err := NewWriter(m, 48000, 1, S24)
	if err != nil {
		t.Fatal(err)
	}
	in := []float32{0.1, -0.2, 0.3, -0.4, 0.5, -0.6}
	steps := []struct {
		n, data, size int
	}{
		{3, 9, 68 + 10},  // odd: pad
		{2, 15, 68 + 16}, // pad overwritten, new pad
		{1, 18, 68 + 18}, // even: no pad
	}
	off := 0
	for _, s := range steps {
		if err := w.Write(in[off : off+s.n]); err != nil {
			t.Fatal(err)
		}
		off += s.n
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if len(m.b) != s.size || m.pos != int64(s.size) {
			t.Fatalf("after %d samples: size %d pos %d, want %d", off, len(m.b), m.pos, s.size)
		}
		checkFields(t, m.b, []hdrField{{4, uint32(s.size - 8)}, {64, uint32(s.data)}})
		if s.data%2 == 1 && m.b[len(m.b)-1] != 0 {
			t.Fatalf("pad byte 0x%02x", m.b[len(m.b)-1])
		}
		_, got := decodeGoAudio(t, m.b)
		checkSamples(t, S24, got, in[:off])
	}
}

func TestNonZeroStart(t *testing.T) {
	m := &memFile{}
	prefix := []byte("prefix-bytes")
	m.Write(prefix)
	w, err := NewWriter(m, 32000, 2, S16)
	if err != nil {
		t.Fatal(err)
	}
	in := signal(100, 2)
	if err := w.Write(in); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(m.b, prefix) {
		t.Fatalf("prefix overwritten: %q", m.b[:len(prefix)])
	}
	_, got := decodeGoAudio(t, m.b[len(prefix):])
	checkSamples(t, S16, got, in)
}

// TestDeterministic: the same audio gives the same bytes whatever the
// block sizes, and WriteWAV matches Writer.
func TestDeterministic(t *testing.T) {
	in := signal(30000, 2, extremes...)
	for _, f := range []Format{S16, S24, F32} {
		a, b := &memFile{}, &memFile{}
		wa, _ := NewWriter(a, 48000, 2, f)
		wb, _ := NewWriter(b, 48000, 2, f)
		if err := wa.Write(in); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(in); i += 128 {
			if err := wb.Write(in[i:min(i+128, len(in))]); err != nil {
				t.Fatal(err)
			}
			if i%4096 == 0 {
				if err := wb.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := errors.Join(wa.Close(), wb.Close()); err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		if err := WriteWAV(&c, 48000, 2, f, in); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a.b, b.b) || !bytes.Equal(a.b, c.Bytes()) {
			t.Errorf("%v: renders differ", f)
		}
	}
}

func TestArgumentErrors(t *testing.T) {
	bad := []struct {
		rate, ch int
		f        Format
	}{
		{0, 2, F32}, {-1, 2, F32}, {48000, 0, F32}, {48000, 2, Format(7)},
		{48000, 16384, F32}, // block align 65536 > uint16
		{math.MaxUint32/8 + 1, 2, F32},
	}
	for _, b := range bad {
		if _, err := NewWriter(&memFile{}, b.rate, b.ch, b.f); err == nil || !strings.HasPrefix(err.Error(), "recorder: ") {
			t.Errorf("NewWriter(%d, %d, %v) err = %v", b.rate, b.ch, b.f, err)
		}
		if err := WriteWAV(io.Discard, b.rate, b.ch, b.f, nil); err == nil {
			t.Errorf("WriteWAV(%d, %d, %v) accepted", b.rate, b.ch, b.f)
		}
	}
	if _, err := NewWriter(&memFile{}, 48000, 16383, F32); err != nil {
		t.Errorf("16383 channels of f32 (block 65532) rejected: %v", err)
	}
	w, _ := NewWriter(&memFile{}, 48000, 2, S16)
	if err := w.Write(make([]float32, 3)); !errors.Is(err, errPartialFrame) {
		t.Errorf("partial frame: %v", err)
	}
	if err := WriteWAV(io.Discard, 48000, 2, S16, make([]float32, 3)); !errors.Is(err, errPartialFrame) {
		t.Errorf("WriteWAV partial frame: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := w.Write(make([]float32, 2)); err != ErrClosed {
		t.Errorf("Write after Close = %v", err)
	}
	if err := w.Flush(); err != ErrClosed {
		t.Errorf("Flush after Close = %v", err)
	}
}

func TestInjectedErrors(t *testing.T) {
	big := make([]float32, bufSize) // 2-4 buffer drains depending on format
	tests := []struct {
		name string
		f    *faulty
		step string // where the error must surface: "new", "write", "flush"
	}{
		{"header write", &faulty{failWrite: 1}, "new"},
		{"start seek", &faulty{failSeek: 1}, "new"},
		{"short header write", &faulty{failWrite: 1, short: true}, "new"},
		{"data write during Write", &faulty{failWrite: 2}, "write"},
		{"short data write", &faulty{failWrite: 2, short: true}, "write"},
		{"final data write in Flush", &faulty{failWrite: 4}, "flush"},
		{"header rewrite", &faulty{failWrite: 5}, "flush"},
		{"seek to header", &faulty{failSeek: 2}, "flush"},
		{"seek back to end", &faulty{failSeek: 3}, "flush"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantErr := errInjected
			if tc.f.short {
				wantErr = io.ErrShortWrite
			}
			w, err := NewWriter(tc.f, 48000, 2, S16)
			if tc.step == "new" {
				if !errors.Is(err, wantErr) || w != nil {
					t.Fatalf("NewWriter = %v, %v; want %v", w, err, wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			err = w.Write(big) // S16: 2 bytes/sample -> 2 full buffers written
			if tc.step == "write" {
				if !errors.Is(err, wantErr) {
					t.Fatalf("Write = %v, want %v", err, wantErr)
				}
			} else {
				if err != nil {
					t.Fatalf("Write = %v", err)
				}
				if err := w.Write(big[:10]); err != nil {
					t.Fatal(err)
				}
				err = w.Flush()
				if !errors.Is(err, wantErr) {
					t.Fatalf("Flush = %v, want %v (writes %d seeks %d)", err, wantErr, tc.f.writes, tc.f.seeks)
				}
			}
			if !strings.HasPrefix(err.Error(), "recorder: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			// sticky
			for name, e := range map[string]error{"Write": w.Write(big[:2]), "Flush": w.Flush(), "Close": w.Close()} {
				if !errors.Is(e, wantErr) {
					t.Errorf("%s after failure = %v", name, e)
				}
			}
		})
	}
	if err := WriteWAV(&faulty{failWrite: 2}, 48000, 2, S16, big); !errors.Is(err, errInjected) {
		t.Errorf("WriteWAV = %v", err)
	}
	if err := WriteWAV(&faulty{failWrite: 1}, 48000, 2, S16, big); !errors.Is(err, errInjected) {
		t.Errorf("WriteWAV header = %v", err)
	}
}

// TestSizeLimit puts the writer just below the 4 GiB RIFF limit (the byte
// counters are set directly rather than writing 4 GiB) and checks that Write
// refuses exactly the first block that would not fit.
func TestSizeLimit(t *testing.T) {
	for _, tc := range []struct {
		f        Format
		channels int
	}{{F32, 2}, {S16, 1}, {S24, 1}, {S24, 2}} {
		t.Run(fmt.Sprintf("%v-%d", tc.f, tc.channels), func(t *testing.T) {
			d := &discard{}
			w, err := NewWriter(d, 48000, tc.channels, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			// Largest data size in whole frames with RIFF size <= 2^32-1.
			maxData := int64(math.MaxUint32) - int64(w.hdrLen-8)
			maxData -= maxData % int64(w.block)
			if maxData&1 == 1 && int64(w.hdrLen-8)+maxData+1 > math.MaxUint32 {
				maxData -= int64(w.block)
			}
			const lastFrames = 3
			w.data = maxData - lastFrames*int64(w.block)
			w.written = w.data
			w.frames = w.data / int64(w.block)
			d.pos = int64(w.hdrLen) + w.written // where those bytes would end
			if err := w.Write(make([]float32, (lastFrames+1)*tc.channels)); err != ErrTooLarge {
				t.Fatalf("Write one frame too many = %v, want ErrTooLarge", err)
			}
			if w.data != maxData-lastFrames*int64(w.block) || w.n != 0 {
				t.Fatal("refused Write changed the writer")
			}
			if err := w.Write(make([]float32, lastFrames*tc.channels)); err != nil {
				t.Fatalf("Write up to the limit = %v", err)
			}
			if err := w.Write(make([]float32, tc.channels)); err != ErrTooLarge {
				t.Fatalf("Write past the limit = %v", err)
			}
			if err := w.Write(nil); err != nil {
				t.Fatalf("empty Write at the limit = %v", err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			riff := binary.LittleEndian.Uint32(w.hdr[4:])
			if int64(riff) != int64(w.hdrLen-8)+maxData+maxData&1 || int64(riff)+8 != d.size {
				t.Errorf("riff size %d, file size %d, data %d", riff, d.size, maxData)
			}
			if math.MaxUint32-int64(riff) >= int64(w.block)+1 {
				t.Errorf("limit too strict: %d bytes unused", math.MaxUint32-int64(riff))
			}
		})
	}
}

func TestWriteAllocs(t *testing.T) {
	block := signal(64, 2, extremes...)
	for _, f := range []Format{S16, S24, F32} {
		file, err := os.Create(filepath.Join(t.TempDir(), "a.wav"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ws := range []io.WriteSeeker{&discard{}, file} {
			w, err := NewWriter(ws, 48000, 2, f)
			if err != nil {
				t.Fatal(err)
			}
			_ = w.Write(block) // warm-up
			// 2000 blocks of 64 stereo frames drain the buffer several times.
			if n := testing.AllocsPerRun(2000, func() {
				if w.Write(block) != nil {
					panic("write")
				}
			}); n != 0 {
				t.Errorf("%v %T: Write: %v allocs", f, ws, n)
			}
			if n := testing.AllocsPerRun(50, func() {
				_ = w.Write(block[:2])
				if w.Flush() != nil {
					panic("flush")
				}
			}); n != 0 {
				t.Errorf("%v %T: Flush: %v allocs", f, ws, n)
			}
		}
		file.Close()
	}
}

func BenchmarkWrite(b *testing.B) {
	block := signal(256, 2)
	for _, f := range []Format{S16, S24, F32} {
		b.Run(f.String(), func(b *testing.B) {
			w, err := NewWriter(&discard{}, 48000, 2, f)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(4 * len(block))) // float32 input bytes
			b.ReportAllocs()
			for b.Loop() {
				if err := w.Write(block); err != nil {
					b.Fatal(err)
				}
				if w.data > 1<<31 {
					w.data, w.written = 0, 0 // stay far below the RIFF limit
				}
			}
		})
	}
}
