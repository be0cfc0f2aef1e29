//go:build !cgo

package device

import "errors"

var errNoCgo = errors.New("device: this chronus was built without cgo, so PortAudio is not available")

// OpenPortAudio is unavailable without cgo.
func OpenPortAudio(cfg Config, src Source) (Output, error) { return nil, errNoCgo }

// List is unavailable without cgo.
func List() ([]DeviceInfo, error) { return nil, errNoCgo }
