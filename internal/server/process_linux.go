//go:build linux

package server

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// userHZ is the unit of the times in /proc: clock ticks of 1/100 s on
// every architecture Go supports (the kernel's USER_HZ).
const userHZ = 100

// processMetrics reads the process's CPU time, memory, file descriptors
// and start time from /proc. What cannot be read is left out, except the
// start time, which falls back to processStart: a sandbox may hide
// /proc/stat, whose boot time it needs (systemd's ProcSubset=pid does).
func processMetrics() []single {
	var out []single
	start := float64(processStart.UnixNano()) / 1e9
	if f := procSelfStat(); f != nil {
		ticks := func(i int) float64 { n, _ := strconv.ParseUint(f[i], 10, 64); return float64(n) }
		out = append(out,
			single{"process_cpu_seconds_total", "counter", helpCPU, (ticks(statUtime) + ticks(statStime)) / userHZ},
			single{"process_resident_memory_bytes", "gauge", helpResident, ticks(statRSS) * float64(os.Getpagesize())},
			single{"process_virtual_memory_bytes", "gauge", helpVirtual, ticks(statVsize)},
		)
		if boot, ok := bootTime(); ok {
			start = boot + ticks(statStarttime)/userHZ
		}
	}
	if n, ok := openFDs(); ok {
		out = append(out, single{"process_open_fds", "gauge", helpOpenFDs, float64(n)})
	}
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		out = append(out, single{"process_max_fds", "gauge", helpMaxFDs, float64(lim.Cur)})
	}
	return append(out, startTimeFamily(start))
}

// Fields of /proc/self/stat (see proc(5)), counted from the process state,
// the first field after the command name.
const (
	statUtime     = 14 - 3
	statStime     = 15 - 3
	statStarttime = 22 - 3
	statVsize     = 23 - 3
	statRSS       = 24 - 3
)

// procSelfStat returns the fields of /proc/self/stat that follow the
// command name (which may hold spaces and parentheses), or nil.
func procSelfStat() []string {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) <= statRSS {
		return nil
	}
	return f
}

// bootTime is when the machine booted, in seconds since the Unix epoch.
func bootTime() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			return float64(n), err == nil
		}
	}
	return 0, false
}

// openFDs counts the entries of /proc/self/fd.
func openFDs() (int, bool) {
	d, err := os.Open("/proc/self/fd")
	if err != nil {
		return 0, false
	}
	defer d.Close()
	n := 0
	for {
		names, err := d.Readdirnames(1024)
		n += len(names)
		if err != nil || len(names) == 0 {
			// The directory's own descriptor, open while it is read, is not
			// one of the process's.
			return n - 1, true
		}
	}
}
