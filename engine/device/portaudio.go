//go:build cgo

package device

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gordonklaus/portaudio"

	"github.com/chronus-audio/chronus/engine/quiet"
)

// PortAudio is initialised once per process and terminated with the last
// user: its device list is cached until Terminate.
var (
	paMu    sync.Mutex
	paUsers int
)

func paAcquire() error {
	paMu.Lock()
	defer paMu.Unlock()
	if paUsers == 0 {
		// Never let the JACK client library spawn a server of its own.
		if os.Getenv("JACK_NO_START_SERVER") == "" {
			os.Setenv("JACK_NO_START_SERVER", "1")
		}
		restore := quiet.Silence()
		err := portaudio.Initialize()
		restore()
		if err != nil {
			return fmt.Errorf("device: portaudio initialise: %w", err)
		}
	}
	paUsers++
	return nil
}

func paRelease() {
	paMu.Lock()
	defer paMu.Unlock()
	paUsers--
	if paUsers == 0 {
		restore := quiet.Silence()
		_ = portaudio.Terminate()
		restore()
	}
}

// List returns the PortAudio devices that can play. Normal goroutines only.
func List() ([]DeviceInfo, error) {
	if err := paAcquire(); err != nil {
		return nil, err
	}
	defer paRelease()
	restore := quiet.Silence()
	devs, err := portaudio.Devices()
	def, _ := portaudio.DefaultOutputDevice()
	restore()
	if err != nil {
		return nil, fmt.Errorf("device: list devices: %w", err)
	}
	var out []DeviceInfo
	for _, d := range devs {
		if d.MaxOutputChannels < 1 {
			continue
		}
		api := ""
		if d.HostApi != nil {
			api = d.HostApi.Name
		}
		out = append(out, DeviceInfo{
			Index: d.Index, Name: d.Name, HostAPI: api, Channels: d.MaxOutputChannels,
			DefaultRate: d.DefaultSampleRate, Default: def != nil && def.Index == d.Index,
		})
	}
	return out, nil
}

// ErrNoDevice means PortAudio found no device that can play.
var ErrNoDevice = errors.New("device: no audio output device found")

func pickDevice(want string) (*portaudio.DeviceInfo, error) {
	restore := quiet.Silence()
	devs, err := portaudio.Devices()
	def, derr := portaudio.DefaultOutputDevice()
	restore()
	if err != nil {
		return nil, fmt.Errorf("device: list devices: %w", err)
	}
	if want == "" {
		if derr == nil && def != nil && def.MaxOutputChannels >= 1 {
			return def, nil
		}
		for _, d := range devs {
			if d.MaxOutputChannels >= 1 {
				return d, nil
			}
		}
		return nil, ErrNoDevice
	}
	if i, err := strconv.Atoi(want); err == nil {
		for _, d := range devs {
			if d.Index == i && d.MaxOutputChannels >= 1 {
				return d, nil
			}
		}
		return nil, fmt.Errorf("device: no output device with index %d", i)
	}
	for _, d := range devs {
		if d.MaxOutputChannels >= 1 && strings.Contains(strings.ToLower(d.Name), strings.ToLower(want)) {
			return d, nil
		}
	}
	return nil, fmt.Errorf("device: no output device whose name contains %q", want)
}

// PortAudioOutput plays through PortAudio. The callback runs on the host's
// real-time thread (JACK's client thread on JACK).
type PortAudioOutput struct {
	src    Source
	c      counters
	stream *portaudio.Stream
	info   Info
	once   sync.Once
}

// OpenPortAudio opens a stereo float32 stream. Normal goroutines only.
func OpenPortAudio(cfg Config, src Source) (Output, error) {
	if err := paAcquire(); err != nil {
		return nil, err
	}
	dev, err := pickDevice(cfg.Device)
	if err != nil {
		paRelease()
		return nil, err
	}
	o := &PortAudioOutput{src: src}
	p := portaudio.StreamParameters{
		Output: portaudio.StreamDeviceParameters{
			Device: dev, Channels: 2, Latency: dev.DefaultLowOutputLatency,
		},
		SampleRate:      cfg.SampleRate,
		FramesPerBuffer: cfg.FramesPerBuffer,
	}
	restore := quiet.Silence()
	s, err := portaudio.OpenStream(p, o.callback)
	restore()
	if err != nil {
		paRelease()
		return nil, fmt.Errorf("device: open %q at %v Hz: %w", dev.Name, cfg.SampleRate, err)
	}
	o.stream = s
	var lat time.Duration
	if si := s.Info(); si != nil {
		lat = si.OutputLatency
	}
	o.info = Info{Backend: PortAudio, Device: dev.Name, SampleRate: cfg.SampleRate,
		FramesPerBuffer: cfg.FramesPerBuffer, Latency: lat}
	return o, nil
}

// callback runs on the host's audio thread: no allocation, lock or log.
func (o *PortAudioOutput) callback(out [][]float32, _ portaudio.StreamCallbackTimeInfo, flags portaudio.StreamCallbackFlags) {
	t0 := monoNow()
	if flags&portaudio.OutputUnderflow != 0 {
		o.c.underflows.Add(1)
		o.c.fault(&ErrUnderflow)
	}
	o.c.render(o.src, out[0], out[1])
	o.c.took(monoNow() - t0)
	o.c.callbacks.Add(1)
	o.c.frames.Add(uint64(len(out[0])))
}

// Start starts the stream. Normal goroutines only.
func (o *PortAudioOutput) Start() error {
	if err := o.stream.Start(); err != nil {
		return fmt.Errorf("device: start %q: %w", o.info.Device, err)
	}
	return nil
}

// Close aborts the stream at once and releases PortAudio. Normal goroutines only.
func (o *PortAudioOutput) Close() error {
	var err error
	o.once.Do(func() {
		_ = o.stream.Abort()
		err = o.stream.Close()
		paRelease()
	})
	return err
}

// Info describes the opened stream.
func (o *PortAudioOutput) Info() Info { return o.info }

// Stats returns the audio thread's counters. Normal goroutines only.
func (o *PortAudioOutput) Stats() Stats { return o.c.stats() }

// Err returns the first audio-thread fault. Normal goroutines only.
func (o *PortAudioOutput) Err() error { return o.c.err() }
