package mapping

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/chronus-audio/chronus/controllers"
	"github.com/chronus-audio/chronus/dsp"
	"github.com/chronus-audio/chronus/engine/proto"
	"github.com/chronus-audio/chronus/mapping/tomlpos"
)

// Limits on one map file.
const (
	// MaxFileSize is the largest map file Compile accepts.
	MaxFileSize = 1 << 20
	maxRules    = 1 << 14
	maxTargets  = 64
	maxSteps    = 1 << 12
)

// Compile parses and validates one map file; file names it in errors and
// its base name is the map's identity (Map.Name). Every problem is checked:
// TOML syntax, unknown keys, wrong types, unknown kinds, curves and
// parameters, ranges outside what the target accepts, and options that do
// not fit the rule's events. The error is an *Error for the first problem
// in the file (by position), saying how many more there are.
//
// Compile allocates freely; it is for the loading goroutine, not the input
// path.
func Compile(file string, src []byte) (*Map, error) {
	if len(src) > MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("the file is %d bytes; a map may be at most %d", len(src), MaxFileSize)}
	}
	var doc map[string]any
	if err := toml.Unmarshal(src, &doc); err != nil {
		return nil, tomlError(file, err)
	}
	c := &compiler{file: file, idx: tomlpos.Build(src)}
	m := c.compile(doc)
	if err := c.err(); err != nil {
		return nil, err
	}
	m.name, m.file = baseName(file), file
	return m, nil
}

// compiler collects problems with their positions.
type compiler struct {
	file string
	idx  tomlpos.Index
	errs []*Error
}

func (c *compiler) errf(path, format string, args ...any) {
	p := c.idx.Lookup(path)
	c.errs = append(c.errs, &Error{File: c.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)})
}

// err returns the first problem by position.
func (c *compiler) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	sort.SliceStable(c.errs, func(i, j int) bool {
		a, b := c.errs[i], c.errs[j]
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
	e := *c.errs[0]
	switch n := len(c.errs) - 1; n {
	case 0:
	case 1:
		e.Msg += " (and 1 more problem)"
	default:
		e.Msg += fmt.Sprintf(" (and %d more problems)", n)
	}
	return &e
}

// table is a TOML table with its key path.
type table struct {
	m    map[string]any
	path string
}

func (t table) at(key string) string { return tomlpos.Join(t.path, key) }

func (t table) has(key string) bool {
	_, ok := t.m[key]
	return ok
}

// checkKeys reports keys not in allowed (in a stable order).
func (c *compiler) checkKeys(t table, what string, allowed []string) {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !contains(allowed, k) {
			msg := fmt.Sprintf("unknown key %q in %s", k, what)
			if s := suggest(k, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += " (known: " + strings.Join(allowed, ", ") + ")"
			}
			c.errf(t.at(k), "%s", msg)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// typeName names a decoded TOML value's type for messages.
func typeName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

func (c *compiler) str(t table, key string) (string, bool) {
	v, ok := t.m[key]
	if !ok {
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.errf(t.at(key), "%s must be a string, not %s", key, typeName(v))
	}
	return s, ok
}

func (c *compiler) boolean(t table, key string) (bool, bool) {
	v, ok := t.m[key]
	if !ok {
		return false, false
	}
	b, ok := v.(bool)
	if !ok {
		c.errf(t.at(key), "%s must be true or false, not %s", key, typeName(v))
	}
	return b, ok
}

// integer reads an integer in lo..hi.
func (c *compiler) integer(t table, key string, lo, hi int) (int, bool) {
	v, ok := t.m[key]
	if !ok {
		return 0, false
	}
	n, ok := asInt(v)
	if !ok {
		c.errf(t.at(key), "%s must be an integer, not %s", key, typeName(v))
		return 0, false
	}
	if n < int64(lo) || n > int64(hi) {
		c.errf(t.at(key), "%s = %d is out of range %d..%d", key, n, lo, hi)
		return 0, false
	}
	return int(n), true
}

func asInt(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case float64:
		if n == math.Trunc(n) && math.Abs(n) < 1<<53 {
			return int64(n), true
		}
	}
	return 0, false
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		if !math.IsNaN(n) && !math.IsInf(n, 0) {
			return n, true
		}
	}
	return 0, false
}

func (c *compiler) number(t table, key string) (float64, bool) {
	v, ok := t.m[key]
	if !ok {
		return 0, false
	}
	f, ok := asFloat(v)
	if !ok {
		c.errf(t.at(key), "%s must be a finite number, not %s", key, typeName(v))
	}
	return f, ok
}

// pair reads [a, b] of finite numbers.
// input reads the "arg" and "in" keys of t (a rule or a target) into the
// given fields, leaving them as they are when a key is absent. kinds is the
// rule's kind set: "arg" only makes sense for OSC-only rules.
func (c *compiler) input(t table, kinds kindMask, arg *uint8, hasIn *bool, inLo, inHi *float64) {
	if t.has("arg") {
		if n, ok := c.integer(t, "arg", 0, controllers.MaxArgs-1); ok {
			*arg = uint8(n)
		}
		if kinds != bit(controllers.OSC) {
			c.errf(t.at("arg"), "arg picks an OSC argument, but the rule does not match only OSC messages")
		}
	}
	if lo, hi, ok := c.pair(t, "in"); ok {
		if lo == hi {
			c.errf(t.at("in"), "in range [%g, %g] is empty", lo, hi)
		}
		*hasIn, *inLo, *inHi = true, lo, hi
	}
}

func (c *compiler) pair(t table, key string) (a, b float64, ok bool) {
	v, present := t.m[key]
	if !present {
		return 0, 0, false
	}
	arr, isArr := v.([]any)
	if isArr && len(arr) == 2 {
		a, ok1 := asFloat(arr[0])
		b, ok2 := asFloat(arr[1])
		if ok1 && ok2 {
			return a, b, true
		}
	}
	c.errf(t.at(key), "%s must be [low, high], two finite numbers", key)
	return 0, 0, false
}

// intRange reads n or [lo, hi] within min..max.
func (c *compiler) intRange(t table, key string, min, max int) (lo, hi int, ok bool) {
	v, present := t.m[key]
	if !present {
		return min, max, false
	}
	bad := func() (int, int, bool) {
		c.errf(t.at(key), "%s must be an integer %d..%d or a range [low, high] within it", key, min, max)
		return min, max, false
	}
	if n, isInt := asInt(v); isInt {
		if n < int64(min) || n > int64(max) {
			return bad()
		}
		return int(n), int(n), true
	}
	arr, isArr := v.([]any)
	if !isArr || len(arr) != 2 {
		return bad()
	}
	a, ok1 := asInt(arr[0])
	b, ok2 := asInt(arr[1])
	if !ok1 || !ok2 || a < int64(min) || b > int64(max) {
		return bad()
	}
	if a > b {
		c.errf(t.at(key), "%s range [%d, %d] runs backwards", key, a, b)
		return min, max, false
	}
	return int(a), int(b), true
}

// tables reads key as an array of tables (or one table).
func (c *compiler) tables(t table, key string) []table {
	v, ok := t.m[key]
	if !ok {
		return nil
	}
	switch x := v.(type) {
	case map[string]any:
		return []table{{x, t.at(key)}}
	case []any:
		out := make([]table, 0, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				c.errf(tomlpos.Join(t.at(key), strconv.Itoa(i)), "%s entries must be tables, not %s", key, typeName(e))
				continue
			}
			out = append(out, table{m, tomlpos.Join(t.at(key), strconv.Itoa(i))})
		}
		return out
	}
	c.errf(t.at(key), "%s must be a table or an array of tables, not %s", key, typeName(v))
	return nil
}

// defaults are the [map] settings that rules inherit.
type defaults struct {
	chEvent bool
	ch      uint8
	device  string
}

var (
	topKeys    = []string{"map", "rule"}
	mapKeys    = []string{"description", "enabled", "channel", "device"}
	ruleKeys   = []string{"name", "kind", "device", "address", "channel", "note", "cc", "program", "value", "arg", "in", "final", "to"}
	targetKeys = []string{"do", "channel", "param", "range", "curve", "steps", "key", "key_arg", "transpose", "velocity", "number", "value", "latch", "name", "when", "arg", "in", "port", "type", "address", "args", "dest"}
)

// kindByName lists the kind names a rule may use.
var kindByName = map[string]kindMask{
	"note":             noteKinds,
	"note-on":          bit(controllers.NoteOn),
	"note-off":         bit(controllers.NoteOff),
	"control":          bit(controllers.Control),
	"cc":               bit(controllers.Control),
	"pitch-bend":       bit(controllers.PitchBend),
	"bend":             bit(controllers.PitchBend),
	"pressure":         bit(controllers.Pressure),
	"aftertouch":       bit(controllers.Pressure),
	"poly-pressure":    bit(controllers.PolyPressure),
	"poly-aftertouch":  bit(controllers.PolyPressure),
	"program":          bit(controllers.Program),
	"clock":            bit(controllers.Clock),
	"start":            bit(controllers.Start),
	"stop":             bit(controllers.Stop),
	"continue":         bit(controllers.Continue),
	"sysex":            bit(controllers.SysEx),
	"osc":              bit(controllers.OSC),
	"channel-pressure": bit(controllers.Pressure),
}

// targetSpec lists, per do, the keys a target may use.
var targetSpec = map[string][]string{
	"note":              {"do", "channel", "key", "key_arg", "transpose", "velocity", "arg", "in"},
	"set":               {"do", "channel", "param", "range", "curve", "steps", "arg", "in"},
	"toggle":            {"do", "channel", "param", "range", "latch", "arg", "in"},
	"trigger":           {"do", "channel", "param", "value", "when", "arg", "in"},
	"control":           {"do", "channel", "number", "range", "curve", "steps", "arg", "in"},
	"bend":              {"do", "channel", "range", "curve", "steps", "arg", "in"},
	"pressure":          {"do", "channel", "range", "curve", "steps", "arg", "in"},
	"program":           {"do", "channel", "number", "range", "curve", "steps", "when", "arg", "in"},
	"record":            {"do", "latch", "arg", "in"},
	"record-start":      {"do", "when", "arg", "in"},
	"record-stop":       {"do", "when", "arg", "in"},
	"status":            {"do", "when", "arg", "in"},
	"all-notes-off":     {"do", "channel", "when", "arg", "in"},
	"all-sound-off":     {"do", "channel", "when", "arg", "in"},
	"reset-controllers": {"do", "channel", "when", "arg", "in"},
	"patch-load":        {"do", "name", "when", "arg", "in"},
	"midi-out":          {"do", "port", "type", "channel", "number", "velocity", "range", "curve", "steps", "arg", "in"},
	"osc-out":           {"do", "address", "args", "dest", "range", "curve", "steps", "arg", "in"},
}

var whenNames = map[string]when{"press": whenPress, "release": whenRelease, "any": whenAny}

var fixedOps = map[string]proto.Op{
	"record-start":      proto.OpRecordStart,
	"record-stop":       proto.OpRecordStop,
	"status":            proto.OpStatus,
	"all-notes-off":     proto.OpAllNotesOff,
	"all-sound-off":     proto.OpAllSoundOff,
	"reset-controllers": proto.OpResetControllers,
	"patch-load":        proto.OpPatchLoad,
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (c *compiler) compile(doc map[string]any) *Map {
	m := &Map{enabled: true}
	top := table{doc, ""}
	c.checkKeys(top, "the file", topKeys)
	def := defaults{chEvent: true}
	if v, ok := doc["map"]; ok {
		mt, ok := v.(map[string]any)
		if !ok {
			c.errf("map", "map must be a table ([map]), not %s", typeName(v))
		} else {
			t := table{mt, "map"}
			c.checkKeys(t, "[map]", mapKeys)
			m.desc, _ = c.str(t, "description")
			if b, ok := c.boolean(t, "enabled"); ok {
				m.enabled = b
			}
			if t.has("channel") {
				def.chEvent, def.ch = c.channel(t, false)
			}
			if s, ok := c.str(t, "device"); ok {
				def.device = strings.ToLower(s)
			}
		}
	}
	rules := c.tables(top, "rule")
	if len(rules) > maxRules {
		c.errf("rule."+strconv.Itoa(maxRules), "a map may hold at most %d rules", maxRules)
		rules = rules[:maxRules]
	}
	for _, rt := range rules {
		r, ok := c.rule(rt, &def, &m.latches)
		if !ok {
			continue
		}
		i := uint16(len(m.rules))
		m.rules = append(m.rules, r)
		if r.device != "" {
			m.device = true
		}
		for k := 1; k < numKinds; k++ {
			if r.kinds&(1<<k) == 0 {
				continue
			}
			if controllers.Kind(k) != controllers.OSC {
				m.byKind[k] = append(m.byKind[k], i)
				continue
			}
			if r.addr != nil && r.literal {
				if m.exact == nil {
					m.exact = map[string][]uint16{}
				}
				m.exact[string(r.addr)] = append(m.exact[string(r.addr)], i)
			} else {
				m.pattern = append(m.pattern, i)
			}
		}
	}
	return m
}

// channel reads "event", "all" or 1..16 (as the wire's 0..15).
func (c *compiler) channel(t table, allowAll bool) (event bool, ch uint8) {
	v := t.m["channel"]
	switch x := v.(type) {
	case string:
		switch x {
		case "event":
			return true, 0
		case "all":
			if allowAll {
				return false, chAll
			}
		}
	default:
		if n, ok := asInt(v); ok && n >= 1 && n <= 16 {
			return false, uint8(n - 1)
		}
	}
	what := `"event" or 1..16`
	if allowAll {
		what = `"event", "all" or 1..16`
	}
	c.errf(t.at("channel"), "channel must be %s (MIDI channels count from 1)", what)
	return true, 0
}

func (c *compiler) rule(t table, def *defaults, latches *int) (rule, bool) {
	n := len(c.errs)
	c.checkKeys(t, "a rule", ruleKeys)
	r := rule{chHi: 15, noteHi: 127, ccHi: 127, progHi: 127, device: def.device}
	r.name, _ = c.str(t, "name")

	if v, ok := t.m["kind"]; ok {
		var names []string
		switch x := v.(type) {
		case string:
			names = []string{x}
		case []any:
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					names = nil
					break
				}
				names = append(names, s)
			}
		}
		if len(names) == 0 {
			c.errf(t.at("kind"), "kind must be a kind name or an array of them")
		}
		for _, s := range names {
			k, ok := kindByName[s]
			if !ok {
				msg := fmt.Sprintf("unknown kind %q", s)
				if g := suggest(s, sortedKeys(kindByName)); g != "" {
					msg += fmt.Sprintf("; did you mean %q?", g)
				} else {
					msg += " (known: " + strings.Join(sortedKeys(kindByName), ", ") + ")"
				}
				c.errf(t.at("kind"), "%s", msg)
			}
			r.kinds |= k
		}
	}
	if s, ok := c.str(t, "address"); ok {
		if msg := checkPattern([]byte(s)); msg != "" {
			c.errf(t.at("address"), "address %q: %s", s, msg)
		} else if len(s) > controllers.MaxAddr {
			c.errf(t.at("address"), "address %q is longer than the %d bytes an event keeps", s, controllers.MaxAddr)
		} else {
			r.addr, r.literal = []byte(s), !hasPatternChars([]byte(s))
			r.nseg, r.prefix = countSegments(r.addr), r.addr
			for i, ch := range r.addr {
				if isPatternChar(ch) {
					r.prefix = r.addr[:i]
					break
				}
			}
		}
		if r.kinds == 0 {
			r.kinds = bit(controllers.OSC)
		} else if r.kinds != bit(controllers.OSC) {
			c.errf(t.at("address"), "address only matches OSC messages, but kind says otherwise")
		}
	}
	if r.kinds == 0 {
		switch {
		case t.has("note"):
			r.kinds = noteKinds
		case t.has("cc"):
			r.kinds = bit(controllers.Control)
		case t.has("program"):
			r.kinds = bit(controllers.Program)
		case !t.has("kind"):
			c.errf(t.path, "say which events the rule matches: kind, address, note, cc or program")
		}
	}
	if s, ok := c.str(t, "device"); ok {
		if s == "" {
			c.errf(t.at("device"), "device must not be empty (leave it out to match every device)")
		}
		r.device = strings.ToLower(s)
	}
	osc := r.kinds&bit(controllers.OSC) != 0
	if t.has("channel") {
		lo, hi, ok := c.intRange(t, "channel", 1, 16)
		if ok {
			r.chLo, r.chHi = uint8(lo-1), uint8(hi-1)
		}
		if osc {
			c.errf(t.at("channel"), "channel filters MIDI events; OSC messages have none")
		}
	}
	filter := func(key string, kinds kindMask, lo, hi *uint8, what string) {
		if !t.has(key) {
			return
		}
		a, b, ok := c.intRange(t, key, 0, 127)
		if ok {
			*lo, *hi = uint8(a), uint8(b)
		}
		if r.kinds&kinds == 0 {
			c.errf(t.at(key), "%s filters %s, but the rule matches none", key, what)
		}
	}
	filter("note", noteKinds|bit(controllers.PolyPressure), &r.noteLo, &r.noteHi, "note or poly-pressure events")
	filter("cc", bit(controllers.Control), &r.ccLo, &r.ccHi, "control events")
	filter("program", bit(controllers.Program), &r.progLo, &r.progHi, "program events")
	if lo, hi, ok := c.pair(t, "value"); ok {
		if lo > hi {
			c.errf(t.at("value"), "value range [%g, %g] runs backwards", lo, hi)
		}
		r.hasVal, r.valLo, r.valHi = true, lo, hi
	}
	c.input(t, r.kinds, &r.arg, &r.hasIn, &r.inLo, &r.inHi)
	r.final, _ = c.boolean(t, "final")

	targets := c.tables(t, "to")
	switch {
	case !t.has("to"):
		c.errf(t.path, "the rule does nothing: add to = { do = ... }")
	case len(targets) == 0 && len(c.errs) == n:
		c.errf(t.at("to"), "to is empty: the rule does nothing")
	case len(targets) > maxTargets:
		c.errf(t.at("to"), "a rule may have at most %d targets", maxTargets)
		targets = targets[:maxTargets]
	}
	for _, tt := range targets {
		if tg, ok := c.target(tt, &r, def, latches); ok {
			r.targets = append(r.targets, tg)
		}
	}
	return r, len(c.errs) == n
}

func (c *compiler) target(t table, r *rule, def *defaults, latches *int) (target, bool) {
	n := len(c.errs)
	tg := target{latch: -1, chEvent: def.chEvent, ch: def.ch}
	do, ok := c.str(t, "do")
	if !ok {
		if !t.has("do") {
			c.errf(t.path, "a target needs do = %s", strings.Join(quoteAll(sortedKeys(targetSpec)), ", "))
		}
		return tg, false
	}
	keys, ok := targetSpec[do]
	if !ok {
		msg := fmt.Sprintf("unknown do = %q", do)
		if s := suggest(do, sortedKeys(targetSpec)); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		} else {
			msg += " (known: " + strings.Join(sortedKeys(targetSpec), ", ") + ")"
		}
		c.errf(t.at("do"), "%s", msg)
		return tg, false
	}
	for _, k := range sortedKeys(t.m) {
		if contains(keys, k) {
			continue
		}
		if contains(targetKeys, k) {
			c.errf(t.at(k), "%s does not apply to do = %q (it takes: %s)", k, do, strings.Join(keys[1:], ", "))
		} else {
			msg := fmt.Sprintf("unknown key %q in a target", k)
			if s := suggest(k, keys); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += " (do = \"" + do + "\" takes: " + strings.Join(keys[1:], ", ") + ")"
			}
			c.errf(t.at(k), "%s", msg)
		}
	}
	if t.has("channel") {
		tg.chEvent, tg.ch = c.channel(t, do != "note")
	}
	if s, ok := c.str(t, "when"); ok {
		w, known := whenNames[s]
		if !known {
			c.errf(t.at("when"), `when must be "press", "release" or "any", not %q`, s)
		}
		tg.when = w
	}
	if t.has("arg") || t.has("in") {
		tg.ownInput, tg.arg, tg.hasIn, tg.inLo, tg.inHi = true, r.arg, r.hasIn, r.inLo, r.inHi
		c.input(t, r.kinds, &tg.arg, &tg.hasIn, &tg.inLo, &tg.inHi)
	}
	osc := r.kinds&bit(controllers.OSC) != 0
	onlyOSC := r.kinds == bit(controllers.OSC)

	switch do {
	case "note":
		tg.act = actNote
		c.numberSource(t, "key", r, &tg, false)
		if t.has("key_arg") {
			if t.has("key") {
				c.errf(t.at("key_arg"), "give key or key_arg, not both")
			}
			if i, ok := c.integer(t, "key_arg", 0, controllers.MaxArgs-1); ok {
				tg.mode, tg.idx = numArg, uint8(i)
			}
			if !onlyOSC {
				c.errf(t.at("key_arg"), "key_arg reads an OSC argument, but the rule does not match only OSC messages")
			}
		}
		if tr, ok := c.integer(t, "transpose", -127, 127); ok {
			tg.trans = int16(tr)
		}
		tg.velValue, tg.vel = !osc, 100.0/127
		if v, ok := t.m["velocity"]; ok {
			switch x := v.(type) {
			case string:
				if x == "value" {
					tg.velValue = true
				} else {
					c.errf(t.at("velocity"), `velocity must be "value" or 1..127`)
				}
			default:
				if n, ok := asInt(v); ok && n >= 1 && n <= 127 {
					tg.velValue, tg.vel = false, float64(n)/127
				} else {
					c.errf(t.at("velocity"), `velocity must be "value" or 1..127`)
				}
			}
		}
	case "set":
		tg.act = actSet
		p := c.param(t, &tg)
		c.shape(t, &tg, p, 0, 0, true)
	case "toggle":
		tg.act = actToggle
		if p := c.param(t, &tg); p != dsp.ParamNone {
			lo, hi := p.Range()
			if a, b, ok := c.pair(t, "range"); ok {
				if c.inside(t, "range", a, b, lo, hi, p.String()) {
					lo, hi = a, b
				}
			}
			tg.onOff = [2]float64{lo, hi}
		}
		c.latch(t, &tg, latches)
	case "trigger":
		tg.act = actTrigger
		if p := c.param(t, &tg); p != dsp.ParamNone {
			v, ok := c.number(t, "value")
			switch {
			case ok:
				lo, hi := p.Range()
				c.inside(t, "value", v, v, lo, hi, p.String())
				tg.value = v
			case !t.has("value"):
				c.errf(t.path, "do = \"trigger\" needs the value to set")
			}
		}
	case "control":
		tg.act = actControl
		c.numberSource(t, "number", r, &tg, false)
		c.shape(t, &tg, dsp.ParamNone, 0, 1, false)
	case "bend":
		tg.act = actBend
		c.shape(t, &tg, dsp.ParamNone, -1, 1, false)
	case "pressure":
		tg.act = actPressure
		c.shape(t, &tg, dsp.ParamNone, 0, 1, false)
	case "program":
		tg.act = actProgram
		c.numberSource(t, "number", r, &tg, true)
		if tg.mode == numValue {
			c.shape(t, &tg, dsp.ParamNone, 0, 127, false)
		} else {
			for _, k := range []string{"range", "curve", "steps"} {
				if t.has(k) {
					c.errf(t.at(k), "%s only applies to number = \"value\"", k)
				}
			}
		}
	case "record":
		tg.act = actRecord
		c.latch(t, &tg, latches)
	case "midi-out":
		c.midiOut(t, r, &tg)
	case "osc-out":
		c.oscOut(t, r, &tg)
	default:
		tg.act, tg.op = actOp, fixedOps[do]
		if do == "patch-load" {
			name, ok := c.str(t, "name")
			switch {
			case ok:
				if err := tg.module.Set(name); err != nil || name == "" {
					c.errf(t.at("name"), "name must be 1..%d printable ASCII characters without spaces", proto.NameLen)
				}
			case !t.has("name"):
				c.errf(t.path, "do = \"patch-load\" needs the name of the patch")
			}
		}
	}
	return tg, len(c.errs) == n
}

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = strconv.Quote(x)
	}
	return out
}

// numberSource reads key ("key" or "number"): "event", 0..127, "$n" (an
// address segment) or, for programs, "value". Absent, it defaults to
// "event" when every event the rule matches has a number; for a program,
// to "event" for program and note events and to "value" otherwise.
func (c *compiler) numberSource(t table, key string, r *rule, tg *target, allowValue bool) {
	numbered := r.kinds&^numberedKinds == 0 && r.kinds != 0
	v, ok := t.m[key]
	if !ok {
		switch {
		case t.has("key_arg"):
		case allowValue && r.kinds&^(noteKinds|bit(controllers.Program)) == 0:
			tg.mode = numEvent
		case allowValue:
			tg.mode = numValue
		case numbered:
			tg.mode = numEvent
		default:
			c.errf(t.path, "give %s: these events carry no note or controller number", key)
		}
		return
	}
	what := `"event", "$N" (an address segment) or 0..127`
	if allowValue {
		what = `"event", "value", "$N" (an address segment) or 0..127`
	}
	switch x := v.(type) {
	case string:
		switch {
		case x == "event":
			if !numbered {
				c.errf(t.at(key), "%s = \"event\" needs events with a number (note, control, program, poly-pressure)", key)
			}
			tg.mode = numEvent
		case x == "value" && allowValue:
			tg.mode = numValue
		case strings.HasPrefix(x, "$"):
			i, err := strconv.Atoi(x[1:])
			switch {
			case err != nil || i < 1:
				c.errf(t.at(key), "%s must be %s", key, what)
			case r.kinds != bit(controllers.OSC) || r.addr == nil:
				c.errf(t.at(key), "%s = %q reads the OSC address, but the rule has no address", key, x)
			case i > countSegments(r.addr):
				c.errf(t.at(key), "%s = %q, but the address %q has only %d segments", key, x, r.addr, countSegments(r.addr))
			default:
				tg.mode, tg.idx = numSeg, uint8(i)
			}
		default:
			c.errf(t.at(key), "%s must be %s", key, what)
		}
	default:
		n, ok := asInt(v)
		if !ok || n < 0 || n > 127 {
			c.errf(t.at(key), "%s must be %s", key, what)
			return
		}
		tg.mode, tg.num = numFixed, uint8(n)
	}
}

// param reads "module/name" and stores the synth's canonical names.
func (c *compiler) param(t table, tg *target) dsp.Param {
	s, ok := c.str(t, "param")
	if !ok {
		if !t.has("param") {
			c.errf(t.path, "this target needs param = \"module/name\", e.g. \"filter/cutoff\"")
		}
		return dsp.ParamNone
	}
	mod, name, found := strings.Cut(s, "/")
	if !found || mod == "" || name == "" || strings.Contains(name, "/") {
		c.errf(t.at("param"), "param must be \"module/name\", e.g. \"filter/cutoff\", not %q", s)
		return dsp.ParamNone
	}
	p, ok := dsp.ParamByName(mod, name)
	if !ok {
		msg := fmt.Sprintf("unknown parameter %q", s)
		if g := suggest(strings.ToLower(s), paramNames()); g != "" {
			msg += fmt.Sprintf("; did you mean %q?", g)
		}
		c.errf(t.at("param"), "%s", msg)
		return dsp.ParamNone
	}
	cm, cn, _ := strings.Cut(p.String(), "/")
	if tg.module.Set(cm) != nil || tg.param.Set(cn) != nil {
		c.errf(t.at("param"), "parameter %q has a name longer than %d bytes", p.String(), proto.NameLen)
	}
	return p
}

// paramNames lists the synth's canonical parameter names.
func paramNames() []string {
	out := make([]string, 0, dsp.NumParams)
	for p := dsp.Param(1); int(p) < dsp.NumParams; p++ {
		out = append(out, p.String())
	}
	return out
}

// shape reads range, curve and steps. For a parameter (p != ParamNone) the
// range defaults to the parameter's and must lie within it; otherwise it
// defaults to and must lie within lo..hi. isParam says the target sets a
// parameter (so p == ParamNone means it was already reported unknown). The
// curve "none" passes the raw value, clamped to the range.
func (c *compiler) shape(t table, tg *target, p dsp.Param, lo, hi float64, isParam bool) {
	what := fmt.Sprintf("the target's %g..%g", lo, hi)
	if p != dsp.ParamNone {
		lo, hi = p.Range()
		what = p.String()
	} else if isParam {
		return // unknown parameter, already reported
	}
	kind, steps := curveLinear, 0
	name := "linear"
	if s, ok := c.str(t, "curve"); ok {
		k, known := curveNames[s]
		if !known {
			msg := fmt.Sprintf("unknown curve %q", s)
			if g := suggest(s, sortedKeys(curveNames)); g != "" {
				msg += fmt.Sprintf("; did you mean %q?", g)
			} else {
				msg += " (known: linear, exponential, logarithmic, inverted, stepped, none)"
			}
			c.errf(t.at("curve"), "%s", msg)
		}
		kind, name = k, s
	}
	if t.has("steps") {
		n, ok := c.integer(t, "steps", 2, maxSteps)
		if ok {
			steps = n
		}
		if kind == curveNone {
			c.errf(t.at("steps"), "steps does not apply to curve = %q", name)
		}
	} else if name == "stepped" || name == "steps" {
		c.errf(t.at("curve"), "curve = %q needs steps = N (2 or more)", name)
	}
	a, b := lo, hi
	if x, y, ok := c.pair(t, "range"); ok {
		if x == y && kind != curveNone {
			c.errf(t.at("range"), "range [%g, %g] is empty", x, y)
		} else if c.inside(t, "range", x, y, lo, hi, what) {
			a, b = x, y
		}
	}
	if name == "inverted" || name == "invert" {
		a, b = b, a
	}
	tg.curve = newCurve(kind, a, b, steps)
}

// inside checks that [a, b] (either order) lies within lo..hi.
func (c *compiler) inside(t table, key string, a, b, lo, hi float64, what string) bool {
	x, y := math.Min(a, b), math.Max(a, b)
	const eps = 1e-9
	if x < lo-eps*math.Max(1, math.Abs(lo)) || y > hi+eps*math.Max(1, math.Abs(hi)) {
		if a == b {
			c.errf(t.at(key), "%s = %g is outside %s (%g..%g)", key, a, what, lo, hi)
		} else {
			c.errf(t.at(key), "%s [%g, %g] is outside %s (%g..%g)", key, a, b, what, lo, hi)
		}
		return false
	}
	return true
}

// latch reads latch = true and gives the target a latch slot.
func (c *compiler) latch(t table, tg *target, latches *int) {
	if b, ok := c.boolean(t, "latch"); ok && b {
		tg.latch = *latches
		*latches++
	}
}

// suggest returns the option closest to s when it is close enough to be a
// typo, else "".
func suggest(s string, options []string) string {
	best, bestD := "", len(s)/3+1
	if bestD > 3 {
		bestD = 3
	}
	for _, o := range options {
		if d := editDistance(s, o); d <= bestD && (best == "" || d < editDistance(s, best)) {
			best = o
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
