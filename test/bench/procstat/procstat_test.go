package procstat

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	line := "4242 (metrics (server) x) S 1 4242 4242 0 -1 4194560 9051 0 0 0 1234 567 0 0 20 0 12 0 1106868 1433600000 25000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"
	got, err := parseStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if want := 18010 * time.Millisecond; got != want {
		t.Errorf("parseStat = %s, want %s", got, want)
	}
	for _, bad := range []string{"", "12 (x) S 1 2", "12 (x) S 1 2 3 4 5 6 7 8 9 10 a b c"} {
		if _, err := parseStat([]byte(bad)); err == nil {
			t.Errorf("parseStat(%q) succeeded", bad)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status := "Name:\tpodometer\nVmPeak:\t 2000000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t   70000 kB\nThreads:\t12\n"
	got, err := parseStatus([]byte(status))
	if err != nil {
		t.Fatal(err)
	}
	if got.Peak != 81234<<10 || got.RSS != 70000<<10 {
		t.Errorf("parseStatus = %+v", got)
	}
	if _, err := parseStatus([]byte("VmRSS:\t1 kB\n")); err == nil {
		t.Error("parseStatus without VmHWM succeeded")
	}
	if _, err := parseStatus([]byte("VmRSS:\t1 MB\nVmHWM:\t1 kB\n")); err == nil {
		t.Error("parseStatus with an unknown unit succeeded")
	}
}

// smapsRollup is a /proc/<pid>/smaps_rollup of Linux 6.x, from a
// Podometer with no node whose binary the page cache held partly in
// 2 MiB folios.
const smapsRollup = `55734720a000-7fff8d79c000 ---p 00000000 00:00 0                          [rollup]
Rss:               61604 kB
Pss:               61010 kB
Pss_Dirty:          8900 kB
Pss_Anon:           8900 kB
Pss_File:          52110 kB
Pss_Shmem:             0 kB
Shared_Clean:       1324 kB
Shared_Dirty:          0 kB
Private_Clean:     51380 kB
Private_Dirty:      8900 kB
Referenced:        61604 kB
Anonymous:          8900 kB
KSM:                   0 kB
LazyFree:              0 kB
AnonHugePages:         0 kB
ShmemPmdMapped:        0 kB
FilePmdMapped:     14336 kB
Shared_Hugetlb:        0 kB
Private_Hugetlb:       0 kB
Swap:                  0 kB
SwapPss:               0 kB
Locked:                0 kB
`

func TestParseSmapsRollup(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      string
		want    Split
		wantErr bool
	}{
		{name: "Linux 6", in: smapsRollup, want: Split{RSS: 61604 << 10, Anon: 8900 << 10, File: 52704 << 10, FileHuge: 14336 << 10}},
		// Linux 4.14 to 5.3: no Pss_Anon, Pss_File or Pss_Shmem, which the
		// split does not need, and no FilePmdMapped, which it reads as zero.
		{name: "Linux 4.14", in: "00400000-7ffd0000 ---p 00000000 00:00 0 [rollup]\nRss:  2000 kB\nPss:  1900 kB\nAnonymous:  500 kB\nSwap:  0 kB\n",
			want: Split{RSS: 2000 << 10, Anon: 500 << 10, File: 1500 << 10}},
		{name: "no Anonymous", in: "Rss:  2000 kB\nPss:  1900 kB\n", wantErr: true},
		{name: "no Rss", in: "Pss:  1900 kB\nAnonymous:  500 kB\n", wantErr: true},
		{name: "Rss twice", in: "Rss:  2000 kB\nRss:  2000 kB\nAnonymous:  500 kB\n", wantErr: true},
		{name: "Anonymous above Rss", in: "Rss:  400 kB\nAnonymous:  500 kB\n", wantErr: true},
		{name: "FilePmdMapped above the file-backed part", in: "Rss:  4000 kB\nAnonymous:  500 kB\nFilePmdMapped:  4096 kB\n", wantErr: true},
		{name: "FilePmdMapped twice", in: "Rss:  4000 kB\nAnonymous:  500 kB\nFilePmdMapped:  0 kB\nFilePmdMapped:  0 kB\n", wantErr: true},
		{name: "unknown unit", in: "Rss:  2 MB\nAnonymous:  500 kB\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSmapsRollup([]byte(tc.in))
			if tc.wantErr {
				if err == nil {
					t.Errorf("parseSmapsRollup = %+v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("parseSmapsRollup = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestOwnProcess reads this process's own /proc entries: the benchmark
// runs on Linux, where they exist.
func TestOwnProcess(t *testing.T) {
	w, err := StartWindow(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	u, err := w.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if u.PeakRSS == 0 || u.EndRSS == 0 || u.PeakRSS < u.EndRSS || u.CPU < 0 {
		t.Errorf("own usage %+v", u)
	}
	s, err := ReadSplit(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.Anon == 0 || s.File == 0 || s.Anon+s.File != s.RSS {
		t.Errorf("own split %+v", s)
	}
	if got := (Usage{Wall: 30 * time.Second, CPU: 3 * time.Second}).CPUSecondsPerMinute(); got != 6 {
		t.Errorf("CPUSecondsPerMinute = %v, want 6", got)
	}
}
