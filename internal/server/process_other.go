//go:build !linux

package server

// processMetrics is only the start time outside Linux, where the process
// families are read from /proc.
func processMetrics() []single {
	return []single{startTimeFamily(float64(processStart.UnixNano()) / 1e9)}
}
