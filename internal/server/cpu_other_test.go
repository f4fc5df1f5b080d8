//go:build !unix

package server_test

import (
	"testing"
	"time"
)

// processCPU is not measured here: the benchmarks then report 0 cpu-ms/op.
func processCPU(*testing.B) time.Duration { return 0 }
