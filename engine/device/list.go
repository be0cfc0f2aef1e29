package device

// DeviceInfo describes one PortAudio output device.
type DeviceInfo struct {
	Index       int
	Name        string
	HostAPI     string
	Channels    int
	DefaultRate float64
	Default     bool
}
