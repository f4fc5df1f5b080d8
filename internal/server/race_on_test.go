//go:build race

package server_test

// raceDetector is true when the tests run under the race detector, where a
// request costs several times as much.
const raceDetector = true
