package farm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"math"
	"math/rand/v2"
	"regexp"
	"strconv"
	"time"

	stats "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
)

// The hostile bodies of the faults.

const (
	// garbageBytes is the size of FaultGarbage's body.
	garbageBytes = 64 << 10
	// timeShift is how far FaultPastTimestamps and FaultFutureTimestamps
	// move sample times.
	timeShift = time.Hour
	// streamChunk is how much a streamed body buffers between writes.
	streamChunk = 64 << 10
)

// garbage is garbageBytes of random bytes, the same for a node every time.
func garbage(node string) []byte {
	h := hash64(node, "garbage")
	r := rand.New(rand.NewPCG(h, h>>1|1))
	b := make([]byte, garbageBytes)
	for i := 0; i < len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < len(b); j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// hostileBody rewrites real, n's body of kind, for the faults that alter
// a body: duplicates, bad values, moved timestamps, counters going back.
// answer counts the fault's answers so far, this one included.
func (f *Farm) hostileBody(n *node, kind bodyKind, fault FaultKind, real []byte, answer int64) ([]byte, error) {
	now := f.cfg.Now()
	if kind != kindSummary {
		return rewriteText(real, func(out []byte, line []byte, s textSample, counter bool) []byte {
			switch fault {
			case FaultDuplicate:
				out = appendLine(out, line)
				return appendLine(out, line)
			case FaultNaN, FaultPosInf, FaultNegInf, FaultNegative:
				return s.appendWith(out, badTextValue(fault, s.value), s.ts)
			case FaultPastTimestamps, FaultFutureTimestamps:
				return s.appendWith(out, s.value, movedTimestamp(s.ts, now, shiftOf(fault)))
			case FaultCounterBackwards:
				if !counter {
					return appendLine(out, line)
				}
				v, err := strconv.ParseFloat(string(s.value), 64)
				if err != nil {
					return appendLine(out, line)
				}
				return s.appendWith(out, strconv.AppendFloat(nil, math.Ldexp(v, -int(min(answer, 1000))), 'g', -1, 64), s.ts)
			}
			return appendLine(out, line)
		}), nil
	}
	switch fault {
	case FaultDuplicate:
		n.mu.Lock()
		s := n.summaryStatsLocked(now)
		n.mu.Unlock()
		s.Pods = append(s.Pods, s.Pods...)
		return json.Marshal(&s)
	case FaultNaN, FaultPosInf, FaultNegInf, FaultNegative:
		return jsonNumber.ReplaceAllFunc(real, func(m []byte) []byte {
			return append([]byte(`":`), badJSONValue(fault, m[2:])...)
		}), nil
	case FaultPastTimestamps, FaultFutureTimestamps:
		d := shiftOf(fault)
		return jsonTime.ReplaceAllFunc(real, func(m []byte) []byte {
			v := jsonTime.FindSubmatch(m)[1]
			t, err := time.Parse(time.RFC3339, string(v))
			if err != nil {
				return m
			}
			return []byte(`"time":"` + t.Add(d).UTC().Format(time.RFC3339) + `"`)
		}), nil
	case FaultCounterBackwards:
		shift := uint(min(answer, 63))
		return jsonCounter.ReplaceAllFunc(real, func(m []byte) []byte {
			sub := jsonCounter.FindSubmatch(m)
			v, err := strconv.ParseUint(string(sub[2]), 10, 64)
			if err != nil {
				return m
			}
			return []byte(`"` + string(sub[1]) + `":` + strconv.FormatUint(v>>shift, 10))
		}), nil
	}
	return real, nil
}

var (
	// jsonNumber is a number that is an object member's value.
	jsonNumber = regexp.MustCompile(`":-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?`)
	// jsonTime is a sample time of the summary.
	jsonTime = regexp.MustCompile(`"time":"([^"]*)"`)
	// jsonCounter is a cumulative figure of the summary.
	jsonCounter = regexp.MustCompile(`"(usageCoreNanoSeconds|rxBytes|txBytes|rxErrors|txErrors|pageFaults|majorPageFaults|total)":([0-9]+)`)
)

func shiftOf(fault FaultKind) time.Duration {
	if fault == FaultPastTimestamps {
		return -timeShift
	}
	return timeShift
}

// badTextValue is the value FaultNaN, FaultPosInf, FaultNegInf or
// FaultNegative writes instead of v in the text format.
func badTextValue(fault FaultKind, v []byte) []byte {
	switch fault {
	case FaultNaN:
		return []byte("NaN")
	case FaultPosInf:
		return []byte("+Inf")
	case FaultNegInf:
		return []byte("-Inf")
	}
	return negative(v)
}

// badJSONValue is the JSON token those faults write instead of v.
func badJSONValue(fault FaultKind, v []byte) []byte {
	switch fault {
	case FaultNaN:
		return []byte("NaN")
	case FaultPosInf:
		return []byte("1e999")
	case FaultNegInf:
		return []byte("-1e999")
	}
	return negative(v)
}

// negative returns -|v|, or -1 when v is zero or not a number.
func negative(v []byte) []byte {
	f, err := strconv.ParseFloat(string(v), 64)
	if err != nil || f == 0 || math.IsNaN(f) {
		return []byte("-1")
	}
	return strconv.AppendFloat(nil, -math.Abs(f), 'g', -1, 64)
}

// movedTimestamp is ts (milliseconds) moved by d; a sample without a
// timestamp gets now moved by d.
func movedTimestamp(ts []byte, now time.Time, d time.Duration) []byte {
	ms := now.UnixMilli()
	if len(ts) > 0 {
		v, err := strconv.ParseInt(string(ts), 10, 64)
		if err != nil {
			return ts
		}
		ms = v
	}
	return strconv.AppendInt(nil, ms+d.Milliseconds(), 10)
}

// textSample is a sample line of the text format.
type textSample struct {
	// name is the metric name, series the name with the labels.
	name, series []byte
	value, ts    []byte
}

// appendWith appends the sample with another value and timestamp.
func (s textSample) appendWith(out, value, ts []byte) []byte {
	out = append(out, s.series...)
	out = append(out, ' ')
	out = append(out, value...)
	if len(ts) > 0 {
		out = append(out, ' ')
		out = append(out, ts...)
	}
	return append(out, '\n')
}

func appendLine(out, line []byte) []byte {
	out = append(out, line...)
	return append(out, '\n')
}

// parseSample splits a sample line; false when line is not one.
func parseSample(line []byte) (textSample, bool) {
	end := bytes.IndexAny(line, "{ ")
	if end <= 0 {
		return textSample{}, false
	}
	name := line[:end]
	if line[end] == '{' {
		closing := -1
		inQuote, escaped := false, false
		for j := end + 1; j < len(line) && closing < 0; j++ {
			c := line[j]
			switch {
			case escaped:
				escaped = false
			case inQuote && c == '\\':
				escaped = true
			case c == '"':
				inQuote = !inQuote
			case !inQuote && c == '}':
				closing = j
			}
		}
		if closing < 0 {
			return textSample{}, false
		}
		end = closing + 1
	}
	fields := bytes.Fields(line[end:])
	if len(fields) < 1 || len(fields) > 2 {
		return textSample{}, false
	}
	s := textSample{name: name, series: line[:end], value: fields[0]}
	if len(fields) == 2 {
		s.ts = fields[1]
	}
	return s, true
}

// rewriteText returns body with every sample line replaced by what fn
// appends; counter tells whether the sample's family is a counter.
// Comments and blank lines stay.
func rewriteText(body []byte, fn func(out, line []byte, s textSample, counter bool) []byte) []byte {
	out := make([]byte, 0, len(body)+len(body)/4)
	counters := map[string]bool{}
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		if len(line) == 0 || line[0] == '#' {
			if f := bytes.Fields(line); len(f) == 4 && string(f[1]) == "TYPE" && string(f[3]) == "counter" {
				counters[string(f[2])] = true
			}
			out = appendLine(out, line)
			continue
		}
		s, ok := parseSample(line)
		if !ok {
			out = appendLine(out, line)
			continue
		}
		out = fn(out, line, s, counters[string(s.name)])
	}
	return out
}

// writePadded writes size bytes: padding, then body, so that the body
// stays valid (comment lines in the text format, white space in JSON) and
// a reader must go through the padding to reach any figure.
func writePadded(w io.Writer, body []byte, size int, isJSON bool) error {
	unit := bytes.Repeat([]byte{' '}, 1024)
	if isJSON {
		unit[len(unit)-1] = '\n'
	} else {
		unit = append([]byte("# padding "), bytes.Repeat([]byte{'x'}, 1024-11)...)
		unit = append(unit, '\n')
	}
	chunk := bytes.Repeat(unit, streamChunk/len(unit))
	pad := size - len(body)
	for pad >= len(unit) {
		n := min(pad, len(chunk)) / len(unit) * len(unit)
		if _, err := w.Write(chunk[:n]); err != nil {
			return err
		}
		pad -= n
	}
	if pad > 0 {
		rest := bytes.Repeat([]byte{' '}, pad)
		if !isJSON {
			rest[pad-1] = '\n'
			if pad > 1 {
				rest[0] = '#'
			}
		}
		if _, err := w.Write(rest); err != nil {
			return err
		}
	}
	_, err := w.Write(body)
	return err
}

// textFamily is a family of a text body: its comment lines and samples.
type textFamily struct {
	header  [][]byte
	samples [][]byte
}

func textFamilies(body []byte) []textFamily {
	var fams []textFamily
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte{'\n'})
		body = rest
		if len(line) == 0 {
			continue
		}
		if line[0] == '#' {
			if len(fams) == 0 || len(fams[len(fams)-1].samples) > 0 {
				fams = append(fams, textFamily{})
			}
			fams[len(fams)-1].header = append(fams[len(fams)-1].header, line)
			continue
		}
		if len(fams) == 0 {
			fams = append(fams, textFamily{})
		}
		fams[len(fams)-1].samples = append(fams[len(fams)-1].samples, line)
	}
	return fams
}

// podLabel finds the value of a non-empty pod label in a sample line: the
// index just after `pod="`, or -1.
func podLabel(line []byte) int {
	for off := 0; ; {
		i := bytes.Index(line[off:], []byte(`pod="`))
		if i < 0 {
			return -1
		}
		i += off
		if (i == 0 || line[i-1] == '{' || line[i-1] == ',') && i+5 < len(line) && line[i+5] != '"' {
			return i + 5
		}
		off = i + 5
	}
}

// writeManySeries writes a valid text body of at least many series
// from real: each family's series of pods again and again, the copies
// under other pod names (<pod>-m<copy>), its other series once.
func writeManySeries(w io.Writer, real []byte, many int) error {
	fams := textFamilies(real)
	// A pod's series is written as head, the copy's suffix, tail.
	type podSeries struct{ head, tail []byte }
	split := make([][]podSeries, len(fams))
	total := 0
	for i, f := range fams {
		for _, s := range f.samples {
			if j := podLabel(s); j >= 0 {
				end := j + bytes.IndexByte(s[j:], '"')
				split[i] = append(split[i], podSeries{head: s[:end], tail: append(bytes.Clone(s[end:]), '\n')})
			}
		}
		total += len(split[i])
	}
	copies := 0
	if total > 0 {
		copies = (many + total - 1) / total
	}
	bw := bufio.NewWriterSize(w, streamChunk)
	var suffix []byte
	for i, f := range fams {
		for _, h := range f.header {
			_, _ = bw.Write(h)
			_ = bw.WriteByte('\n')
		}
		for _, s := range f.samples {
			if podLabel(s) < 0 {
				_, _ = bw.Write(s)
				_ = bw.WriteByte('\n')
			}
		}
		for c := range copies {
			suffix = strconv.AppendInt(append(suffix[:0], "-m"...), int64(c), 10)
			for _, ps := range split[i] {
				_, _ = bw.Write(ps.head)
				_, _ = bw.Write(suffix)
				if _, err := bw.Write(ps.tail); err != nil {
					return err
				}
			}
		}
	}
	return bw.Flush()
}

// writeManyPods writes a summary of n's node and many pods: n's pods
// again and again under other names (<pod>-m<copy>), each with its
// containers' CPU and memory only.
func (n *node) writeManyPods(w io.Writer, now time.Time, many int) error {
	n.mu.Lock()
	s := n.summaryStatsLocked(now)
	n.mu.Unlock()
	nodeJSON, err := json.Marshal(&s.Node)
	if err != nil {
		return err
	}
	// Each pod's JSON with a placeholder name, cut around it.
	const placeholder = "\x01name\x01"
	type template struct{ name, before, after []byte }
	templates := make([]template, 0, len(s.Pods))
	for _, p := range s.Pods {
		small := stats.PodStats{PodRef: p.PodRef, StartTime: p.StartTime, CPU: p.CPU, Memory: p.Memory}
		small.PodRef.Name = placeholder
		for _, c := range p.Containers {
			small.Containers = append(small.Containers, stats.ContainerStats{Name: c.Name, StartTime: c.StartTime, CPU: c.CPU, Memory: c.Memory})
		}
		b, err := json.Marshal(&small)
		if err != nil {
			return err
		}
		before, after, _ := bytes.Cut(b, []byte(`\u0001name\u0001`))
		templates = append(templates, template{name: []byte(p.PodRef.Name), before: before, after: after})
	}
	bw := bufio.NewWriterSize(w, streamChunk)
	_, _ = bw.WriteString(`{"node":`)
	_, _ = bw.Write(nodeJSON)
	_, _ = bw.WriteString(`,"pods":[`)
	var suffix []byte
	for i := 0; len(templates) > 0 && i < many; i++ {
		t := templates[i%len(templates)]
		if i > 0 {
			_ = bw.WriteByte(',')
		}
		suffix = strconv.AppendInt(append(suffix[:0], "-m"...), int64(i/len(templates)), 10)
		_, _ = bw.Write(t.before)
		_, _ = bw.Write(t.name)
		_, _ = bw.Write(suffix)
		if _, err := bw.Write(t.after); err != nil {
			return err
		}
	}
	_, _ = bw.WriteString(`]}`)
	return bw.Flush()
}
