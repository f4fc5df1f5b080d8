package server

import (
	"bufio"
	"fmt"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strconv"
	"time"

	"github.com/keyboxhq/keybox/internal/buildinfo"
)

// The families of the build, the Go runtime and the process carry the names
// Prometheus' own Go client gives them (go_goroutines, process_cpu_seconds_total,
// …), so that existing dashboards and alerts for Go programs work unchanged.
// They are read at scrape time, from runtime/metrics (which stops nothing)
// and, on Linux, from /proc: nothing is counted on the request path.

// single is a family of one sample without labels.
type single struct {
	name, typ, help string
	value           float64
}

func writeFamily(bw *bufio.Writer, name, typ, help string) {
	fmt.Fprintf(bw, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func writeSingles(bw *bufio.Writer, families []single) {
	for _, f := range families {
		writeFamily(bw, f.name, f.typ, f.help)
		fmt.Fprintf(bw, "%s %s\n", f.name, formatValue(f.value))
	}
}

// writeBuildInfo writes keybox_build_info: always 1, its labels naming the
// build, so that a query can join any series with the version that made it.
func writeBuildInfo(bw *bufio.Writer, b buildinfo.Info) {
	writeFamily(bw, "keybox_build_info", "gauge", "The build of KeyBox that is running: 1, with its version, source revision and Go version.")
	fmt.Fprintf(bw, "keybox_build_info{version=\"%s\",revision=\"%s\",goversion=\"%s\"} 1\n",
		labelValue(b.Version), labelValue(b.Revision), labelValue(b.GoVersion))
}

// runtimeSamples are the runtime/metrics read at each scrape, in this order.
var runtimeSamples = []string{
	"/sched/goroutines:goroutines",
	"/sched/threads/total:threads",
	"/sched/gomaxprocs:threads",
	"/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/free:bytes",
	"/memory/classes/heap/released:bytes",
	"/memory/classes/heap/stacks:bytes",
	"/memory/classes/total:bytes",
	"/gc/heap/objects:objects",
	"/gc/heap/allocs:bytes",
	"/gc/heap/goal:bytes",
}

// writeRuntimeMetrics writes the Go runtime's families.
func writeRuntimeMetrics(bw *bufio.Writer) {
	samples := make([]rtmetrics.Sample, len(runtimeSamples))
	for i, name := range runtimeSamples {
		samples[i].Name = name
	}
	rtmetrics.Read(samples)
	v := make(map[string]float64, len(samples))
	for _, s := range samples {
		if s.Value.Kind() == rtmetrics.KindUint64 {
			v[s.Name] = float64(s.Value.Uint64())
		}
	}

	var gc debug.GCStats
	gc.PauseQuantiles = make([]time.Duration, 5) // minimum, quartiles, maximum
	debug.ReadGCStats(&gc)
	var lastGC float64
	if !gc.LastGC.IsZero() {
		lastGC = float64(gc.LastGC.UnixNano()) / 1e9
	}

	writeFamily(bw, "go_info", "gauge", "The Go version that built the program: 1, with the version.")
	fmt.Fprintf(bw, "go_info{version=\"%s\"} 1\n", labelValue(runtime.Version()))
	writeSingles(bw, []single{
		{"go_goroutines", "gauge", "Goroutines that currently exist.", v["/sched/goroutines:goroutines"]},
		{"go_threads", "gauge", "Operating system threads the Go runtime owns.", v["/sched/threads/total:threads"]},
		{"go_sched_gomaxprocs_threads", "gauge", "GOMAXPROCS: the threads that may run Go code at once.", v["/sched/gomaxprocs:threads"]},
	})
	writeFamily(bw, "go_gc_duration_seconds", "summary", "Pauses of the garbage collector: quantiles over the last 256, and their sum and count since the start.")
	for i, q := range []string{"0", "0.25", "0.5", "0.75", "1"} {
		var d time.Duration
		if gc.NumGC > 0 {
			d = gc.PauseQuantiles[i]
		}
		fmt.Fprintf(bw, "go_gc_duration_seconds{quantile=\"%s\"} %s\n", q, formatValue(d.Seconds()))
	}
	fmt.Fprintf(bw, "go_gc_duration_seconds_sum %s\ngo_gc_duration_seconds_count %d\n", formatValue(gc.PauseTotal.Seconds()), gc.NumGC)
	writeSingles(bw, []single{
		{"go_memstats_last_gc_time_seconds", "gauge", "When the last garbage collection finished, in seconds since the Unix epoch (0 before the first).", lastGC},
		{"go_memstats_heap_alloc_bytes", "gauge", "Bytes of live and not yet collected heap objects.", v["/memory/classes/heap/objects:bytes"]},
		{"go_memstats_heap_inuse_bytes", "gauge", "Bytes of heap spans in use: objects and the unused room in their spans.",
			v["/memory/classes/heap/objects:bytes"] + v["/memory/classes/heap/unused:bytes"]},
		{"go_memstats_heap_idle_bytes", "gauge", "Bytes of heap spans not in use, kept or returned to the operating system.",
			v["/memory/classes/heap/free:bytes"] + v["/memory/classes/heap/released:bytes"]},
		{"go_memstats_heap_released_bytes", "gauge", "Bytes of heap returned to the operating system.", v["/memory/classes/heap/released:bytes"]},
		{"go_memstats_heap_objects", "gauge", "Live and not yet collected heap objects.", v["/gc/heap/objects:objects"]},
		{"go_memstats_alloc_bytes_total", "counter", "Bytes allocated on the heap since the start.", v["/gc/heap/allocs:bytes"]},
		{"go_memstats_stack_inuse_bytes", "gauge", "Bytes of goroutine stacks.", v["/memory/classes/heap/stacks:bytes"]},
		{"go_memstats_sys_bytes", "gauge", "Bytes of memory the Go runtime has mapped from the operating system.", v["/memory/classes/total:bytes"]},
		{"go_memstats_next_gc_bytes", "gauge", "The heap size at which the next garbage collection starts.", v["/gc/heap/goal:bytes"]},
	})
}

// processStart stands for the time the process started where the operating
// system does not say (see processMetrics): the moment this package was
// initialized, a few milliseconds later.
var processStart = time.Now()

// writeProcessMetrics writes the process's families, as far as the
// platform tells them (see processMetrics).
func writeProcessMetrics(bw *bufio.Writer) {
	writeSingles(bw, processMetrics())
}

// Helps of the process families, the same on every platform.
const (
	helpCPU       = "User and system CPU time the process has used, in seconds."
	helpResident  = "Resident memory of the process, in bytes."
	helpVirtual   = "Virtual memory of the process, in bytes."
	helpOpenFDs   = "File descriptors the process has open."
	helpMaxFDs    = "The most file descriptors the process may open."
	helpStartTime = "When the process started, in seconds since the Unix epoch."
)

func startTimeFamily(t float64) single {
	return single{"process_start_time_seconds", "gauge", helpStartTime, t}
}
