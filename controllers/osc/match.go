package osc

import (
	"bytes"
	"fmt"
	"math/bits"

	"github.com/chronus-audio/chronus/controllers"
)

// maxSeg is the longest pattern segment (the text between two '/') that
// Match accepts; it bounds the matcher's state sets to four words.
const maxSeg = 255

// Handler receives decoded OSC messages.
//
// Contract: HandleOSC is called from one goroutine only (the Controller's
// dispatcher), once per message, in the order the messages arrived; the
// next call starts only after the previous one returned. ev is valid only
// during the call: copy the value (*ev) to keep it. A handler that blocks
// delays every later message, so it should hand slow work to another
// goroutine. A panic in HandleOSC is recovered, counted and logged by the
// Controller, and the next message is handled normally.
type Handler interface {
	HandleOSC(ev *controllers.Event)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ev *controllers.Event)

// HandleOSC calls f(ev).
func (f HandlerFunc) HandleOSC(ev *controllers.Event) { f(ev) }

// IsPattern reports whether address holds any OSC pattern character
// ('*', '?', '[', ']', '{', '}'). It never allocates.
func IsPattern(address []byte) bool {
	for _, c := range address {
		switch c {
		case '*', '?', '[', ']', '{', '}':
			return true
		}
	}
	return false
}

// ValidPattern returns ErrBadPattern if pattern is not a valid OSC 1.0
// address pattern, else nil. A pattern must start with '/'; '[' needs a
// closing ']' in the same segment with at least one character between
// (after an optional '!'), ranges must not run backwards; '{' needs a
// closing '}' in the same segment and its comma-separated alternatives are
// literal text (no '*', '?', '[', ']', '{'); a lone ']' or '}' is an error.
// Segments are limited to 255 bytes. It never allocates.
func ValidPattern(pattern []byte) error { return checkPattern(pattern) }

func checkPattern(p []byte) error {
	if len(p) == 0 || p[0] != '/' {
		return ErrBadPattern
	}
	seg := 0 // start of the current segment
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '/':
			if i-seg > maxSeg {
				return ErrBadPattern
			}
			seg = i + 1
		case '[':
			j := classEnd(p, i)
			if j < 0 {
				return ErrBadPattern
			}
			k := i + 1
			if p[k] == '!' {
				k++
			}
			for k < j {
				if k+2 < j && p[k+1] == '-' {
					if p[k] > p[k+2] {
						return ErrBadPattern
					}
					k += 3
				} else {
					k++
				}
			}
			i = j
		case '{':
			j := i + 1
			for ; j < len(p) && p[j] != '}'; j++ {
				switch p[j] {
				case '/', '{', '[', ']', '*', '?':
					return ErrBadPattern
				}
			}
			if j == len(p) {
				return ErrBadPattern
			}
			i = j
		case ']', '}':
			return ErrBadPattern
		}
	}
	if len(p)-seg > maxSeg {
		return ErrBadPattern
	}
	return nil
}

// classEnd returns the index of the ']' closing the class that opens at
// p[i] == '[', or -1 if it is not closed in its segment or is empty.
func classEnd(p []byte, i int) int {
	k := i + 1
	if k < len(p) && p[k] == '!' {
		k++
	}
	if k >= len(p) || p[k] == ']' {
		return -1
	}
	for ; k < len(p); k++ {
		switch p[k] {
		case ']':
			return k
		case '/':
			return -1
		}
	}
	return -1
}

// Match reports whether the OSC address pattern matches address, following
// OSC 1.0: the match is anchored at both ends and made segment by segment
// ('/' is never matched by a wildcard, and both must have the same number
// of segments). In a segment, '*' matches any run of characters, '?' any one
// character, "[abc]", "[a-z]" one character of the set, "[!a-z]" one
// character outside it, and "{foo,bar}" any one of the alternatives.
// address is taken literally. An invalid pattern gives ErrBadPattern (see
// ValidPattern), never a panic.
//
// Match never allocates and runs in time proportional to
// len(pattern)*len(address), whatever the pattern.
func Match(pattern, address []byte) (bool, error) {
	if err := checkPattern(pattern); err != nil {
		return false, err
	}
	return matchPath(pattern, address), nil
}

// matchPath matches a checked pattern against address, segment by segment.
func matchPath(p, a []byte) bool {
	for {
		pi := bytes.IndexByte(p, '/')
		ai := bytes.IndexByte(a, '/')
		ps, as := p, a
		if pi >= 0 {
			ps = p[:pi]
		}
		if ai >= 0 {
			as = a[:ai]
		}
		if !matchSeg(ps, as) {
			return false
		}
		if pi < 0 || ai < 0 {
			return pi < 0 && ai < 0
		}
		p, a = p[pi+1:], a[ai+1:]
	}
}

// stateSet is a set of positions in a pattern segment (0..maxSeg).
type stateSet [4]uint64

func (s *stateSet) add(i int)      { s[i>>6] |= 1 << (uint(i) & 63) }
func (s *stateSet) has(i int) bool { return s[i>>6]&(1<<(uint(i)&63)) != 0 }
func (s *stateSet) empty() bool    { return s[0]|s[1]|s[2]|s[3] == 0 }

// matchSeg matches one checked pattern segment p against one address
// segment s by simulating the pattern as a nondeterministic automaton whose
// states are positions in p. That needs no backtracking, so patterns such as
// "*a*a*a*a*b" cannot take exponential time.
func matchSeg(p, s []byte) bool {
	if !IsPattern(p) {
		return bytes.Equal(p, s)
	}
	// Positions inside braces (the alternatives, their commas and the
	// closing brace), where characters are literal text.
	var brace stateSet
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '[':
			i = classEnd(p, i)
		case '{':
			for i++; p[i] != '}'; i++ {
				brace.add(i)
			}
			brace.add(i)
		}
	}
	var cur stateSet
	cur.add(0)
	closure(&cur, p, &brace)
	for _, c := range s {
		var next stateSet
		for w := range cur {
			for m := cur[w]; m != 0; m &= m - 1 {
				i := w<<6 | bits.TrailingZeros64(m)
				if i >= len(p) {
					continue
				}
				if brace.has(i) {
					if p[i] != ',' && p[i] != '}' && p[i] == c {
						next.add(i + 1)
					}
					continue
				}
				switch p[i] {
				case '*':
					next.add(i)
				case '?':
					next.add(i + 1)
				case '[':
					j := classEnd(p, i)
					if classHas(p[i+1:j], c) {
						next.add(j + 1)
					}
				case '{':
				default:
					if p[i] == c {
						next.add(i + 1)
					}
				}
			}
		}
		if next.empty() {
			return false
		}
		closure(&next, p, &brace)
		cur = next
	}
	return cur.has(len(p))
}

// closure adds to set every position reachable without reading a
// character: past a '*', into each alternative of a '{', and from the end
// of an alternative past its '}'. All these moves go forward, so one
// ascending pass finds them all.
func closure(set *stateSet, p []byte, brace *stateSet) {
	for i := 0; i < len(p); i++ {
		if !set.has(i) {
			continue
		}
		if brace.has(i) {
			if p[i] == ',' || p[i] == '}' {
				j := i
				for p[j] != '}' {
					j++
				}
				set.add(j + 1)
			}
			continue
		}
		switch p[i] {
		case '*':
			set.add(i + 1)
		case '{':
			set.add(i + 1)
			for j := i + 1; p[j] != '}'; j++ {
				if p[j] == ',' {
					set.add(j + 1)
				}
			}
		}
	}
}

// classHas reports whether the class body cls (between '[' and ']') admits c.
func classHas(cls []byte, c byte) bool {
	neg := cls[0] == '!'
	if neg {
		cls = cls[1:]
	}
	in := false
	for k := 0; k < len(cls); {
		if k+2 < len(cls) && cls[k+1] == '-' {
			if cls[k] <= c && c <= cls[k+2] {
				in = true
			}
			k += 3
		} else {
			if cls[k] == c {
				in = true
			}
			k++
		}
	}
	return in != neg
}

// route is one registered address.
type route struct {
	addr []byte
	h    Handler
}

// Router dispatches a message to the Handlers registered for exact
// addresses. The incoming address may itself be a pattern (OSC 1.0 lets the
// sender use wildcards): "/synth/*/gain" reaches every registered
// "/synth/<x>/gain" in registration order. An exact incoming address is
// found in a map; a pattern is matched against every route. Neither
// allocates.
//
// Register all routes with Handle before the Router receives messages:
// Handle must not run concurrently with Dispatch. The zero value is an empty
// Router ready to use.
type Router struct {
	// Fallback, if not nil, receives the messages that matched no route.
	Fallback Handler

	exact  map[string]int
	routes []route
}

// Handle registers h for the exact OSC address. The address must start with
// '/', hold no pattern characters, fit in controllers.MaxAddr bytes and not
// be registered already.
func (r *Router) Handle(address string, h Handler) error {
	switch {
	case h == nil:
		return fmt.Errorf("osc: route %q has a nil handler", address)
	case len(address) == 0 || address[0] != '/':
		return fmt.Errorf("osc: route %q does not start with '/'", address)
	case len(address) > controllers.MaxAddr:
		return fmt.Errorf("osc: route %q is longer than %d bytes", address, controllers.MaxAddr)
	case IsPattern([]byte(address)):
		return fmt.Errorf("osc: route %q holds pattern characters; register exact addresses", address)
	}
	if r.exact == nil {
		r.exact = make(map[string]int)
	}
	if _, dup := r.exact[address]; dup {
		return fmt.Errorf("osc: route %q is registered twice", address)
	}
	r.exact[address] = len(r.routes)
	r.routes = append(r.routes, route{addr: []byte(address), h: h})
	return nil
}

// HandleFunc registers f for the exact OSC address; see Handle.
func (r *Router) HandleFunc(address string, f func(ev *controllers.Event)) error {
	if f == nil {
		return r.Handle(address, nil)
	}
	return r.Handle(address, HandlerFunc(f))
}

// Dispatch calls the Handler of every route that ev's address matches and
// returns how many it called. If none matched, Fallback (if set) gets ev. A
// malformed incoming pattern returns ErrBadPattern and calls nothing.
// Dispatch runs on the caller's goroutine and never allocates.
func (r *Router) Dispatch(ev *controllers.Event) (int, error) {
	addr := ev.AddrBytes()
	n := 0
	if !IsPattern(addr) {
		if i, ok := r.exact[string(addr)]; ok {
			r.routes[i].h.HandleOSC(ev)
			n = 1
		}
	} else {
		if err := checkPattern(addr); err != nil {
			return 0, err
		}
		for i := range r.routes {
			if matchPath(addr, r.routes[i].addr) {
				r.routes[i].h.HandleOSC(ev)
				n++
			}
		}
	}
	if n == 0 && r.Fallback != nil {
		r.Fallback.HandleOSC(ev)
	}
	return n, nil
}

// HandleOSC makes a Router a Handler: it calls Dispatch and drops its error
// (the Controller has already rejected malformed patterns).
func (r *Router) HandleOSC(ev *controllers.Event) { r.Dispatch(ev) }
