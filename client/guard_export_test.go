package client

import "time"

// SetGuardTicker replaces the ticks of g's loop; call it before Start.
func SetGuardTicker(g *Guard, ticker func(interval time.Duration) (ticks <-chan time.Time, stop func())) {
	g.ticker = ticker
}
