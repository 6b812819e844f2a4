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
	if got := (Usage{Wall: 30 * time.Second, CPU: 3 * time.Second}).CPUSecondsPerMinute(); got != 6 {
		t.Errorf("CPUSecondsPerMinute = %v, want 6", got)
	}
}
