// Package procstat reads a process's CPU time and memory from Linux's
// /proc, so that a benchmark measures the processes it compares and not
// itself.
package procstat

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// CPUTime returns the user plus system CPU time that process pid has used
// so far, all its threads together.
func CPUTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStat(data)
}

// parseStat reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat
// line. The command name (field 2) is in parentheses and may itself hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(data []byte) (time.Duration, error) {
	end := bytes.LastIndexByte(data, ')')
	if end < 0 {
		return 0, fmt.Errorf("stat: no command name in %q", data)
	}
	fields := strings.Fields(string(data[end+1:]))
	// fields[0] is field 3 (state); utime is field 14, stime field 15.
	const utime, stime = 14 - 3, 15 - 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("stat: %d fields after the command name, want more than %d", len(fields), stime)
	}
	var ticks uint64
	for _, i := range []int{utime, stime} {
		v, err := strconv.ParseUint(fields[i], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: field %d: %w", i+3, err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// Memory is a process's resident memory.
type Memory struct {
	// RSS is the resident set now (VmRSS).
	RSS uint64
	// Peak is the highest resident set since the process started or since
	// ResetPeak (VmHWM).
	Peak uint64
}

// ReadMemory returns the resident and peak resident memory of pid in bytes.
func ReadMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	return parseStatus(data)
}

func parseStatus(data []byte) (Memory, error) {
	var m Memory
	if err := parseKB("status", data, map[string]*uint64{"VmRSS": &m.RSS, "VmHWM": &m.Peak}, nil); err != nil {
		return Memory{}, err
	}
	return m, nil
}

// Split is a process's resident memory by what backs it.
type Split struct {
	// RSS is the resident set (Rss).
	RSS uint64
	// Anon is its anonymous part (Anonymous): the heap, the stacks, the Go
	// runtime's own structures.
	Anon uint64
	// File is the rest, RSS minus Anon: the resident pages of mapped files
	// (the binary's code and read-only data, shared libraries) and of
	// shared memory, which none of the servers maps.
	File uint64
	// FileHuge is the part of File mapped in PMD-sized pages
	// (FilePmdMapped, Linux 5.4 and later; zero before): where the page
	// cache holds the binary in 2 MiB folios, a fault maps the whole folio,
	// so this part follows the page cache more than the code run.
	FileHuge uint64
}

// ReadSplit returns pid's resident memory split into anonymous and
// file-backed bytes, from /proc/<pid>/smaps_rollup (Linux 4.14 and
// later), which walks the page tables: exact, where the RssAnon and
// RssFile of /proc/<pid>/status are approximate per-CPU counters.
func ReadSplit(pid int) (Split, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return Split{}, err
	}
	return parseSmapsRollup(data)
}

func parseSmapsRollup(data []byte) (Split, error) {
	var s Split
	if err := parseKB("smaps_rollup", data, map[string]*uint64{"Rss": &s.RSS, "Anonymous": &s.Anon}, map[string]*uint64{"FilePmdMapped": &s.FileHuge}); err != nil {
		return Split{}, err
	}
	if s.Anon > s.RSS {
		return Split{}, fmt.Errorf("smaps_rollup: Anonymous %d kB above Rss %d kB", s.Anon>>10, s.RSS>>10)
	}
	s.File = s.RSS - s.Anon
	if s.FileHuge > s.File {
		return Split{}, fmt.Errorf("smaps_rollup: FilePmdMapped %d kB above Rss minus Anonymous %d kB", s.FileHuge>>10, s.File>>10)
	}
	return s, nil
}

// parseKB reads the "Key:   123 kB" lines of a /proc file into the
// fields of want and of optional, in bytes, and fails when one of want is
// missing. Other lines (smaps_rollup's header, status's text fields) are
// skipped.
func parseKB(file string, data []byte, want, optional map[string]*uint64) error {
	seen := make(map[string]bool, len(want)+len(optional))
	for line := range strings.SplitSeq(string(data), "\n") {
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		dst, ok := want[key]
		if !ok {
			if dst, ok = optional[key]; !ok {
				continue
			}
		}
		if seen[key] {
			return fmt.Errorf("%s: %s twice", file, key)
		}
		seen[key] = true
		fields := strings.Fields(value)
		if len(fields) != 2 || fields[1] != "kB" {
			return fmt.Errorf("%s: %s: unexpected value %q", file, key, value)
		}
		kb, err := strconv.ParseUint(fields[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", file, key, err)
		}
		*dst = kb << 10
	}
	var missing []string
	for key := range want {
		if !seen[key] {
			missing = append(missing, key)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return fmt.Errorf("%s: no %s", file, strings.Join(missing, " or "))
	}
	return nil
}

// ResetPeak sets pid's peak resident set (VmHWM) back to its current
// resident set, by writing 5 to /proc/<pid>/clear_refs (Linux 4.0 and
// later; the caller must own the process or be root).
func ResetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// Window measures a process between Start and Stop: the CPU it used and
// its peak resident memory.
type Window struct {
	pid     int
	start   time.Time
	cpu0    time.Duration
	resetOK bool
}

// Usage is what a process used over a window.
type Usage struct {
	Wall time.Duration
	CPU  time.Duration
	// PeakRSS is the peak resident set within the window when PeakReset,
	// else since the process started.
	PeakRSS   uint64
	PeakReset bool
	// EndRSS is the resident set at the end.
	EndRSS uint64
}

// CPUSecondsPerMinute is the CPU used per minute of wall time.
func (u Usage) CPUSecondsPerMinute() float64 {
	if u.Wall <= 0 {
		return 0
	}
	return u.CPU.Seconds() / u.Wall.Minutes()
}

// StartWindow resets pid's peak memory (when the kernel lets it) and
// notes its CPU time.
func StartWindow(pid int) (*Window, error) {
	w := &Window{pid: pid}
	w.resetOK = ResetPeak(pid) == nil
	cpu, err := CPUTime(pid)
	if err != nil {
		return nil, err
	}
	w.cpu0, w.start = cpu, time.Now()
	return w, nil
}

// Stop returns what the process used since StartWindow.
func (w *Window) Stop() (Usage, error) {
	cpu, err := CPUTime(w.pid)
	if err != nil {
		return Usage{}, err
	}
	wall := time.Since(w.start)
	mem, err := ReadMemory(w.pid)
	if err != nil {
		return Usage{}, err
	}
	return Usage{Wall: wall, CPU: cpu - w.cpu0, PeakRSS: mem.Peak, PeakReset: w.resetOK, EndRSS: mem.RSS}, nil
}
