package client

import "time"

// WatchHeartbeats replaces the timer between the guard's heartbeats, so that
// a test sees how long the guard waits and decides when the wait ends.
func WatchHeartbeats(g *Guard, after func(time.Duration) <-chan time.Time) { g.after = after }
