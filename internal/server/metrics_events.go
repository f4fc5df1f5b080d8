package server

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// outboxTimeout bounds the outbox's count at a scrape: a database that
// does not answer leaves its families out rather than hold the scrape.
const outboxTimeout = 2 * time.Second

// writeEventMetrics writes the event log's and the webhooks' families: what
// this server recorded and attempted, and the outbox in the database, which
// every server sharing it reports alike.
func (s *Server) writeEventMetrics(ctx context.Context, bw *bufio.Writer) {
	act := s.svc.Activity()
	writeFamily(bw, "keybox_events_total", "counter", "Events this server recorded (committed), by type.")
	for _, t := range sortedKeys(act.Events) {
		fmt.Fprintf(bw, "keybox_events_total{type=\"%s\"} %d\n", labelValue(t), act.Events[t])
	}
	writeFamily(bw, "keybox_webhook_delivery_attempts_total", "counter",
		"Webhook delivery attempts this server made, by outcome: delivered (a 2xx answer), retry (failed; tried again later), failed (failed; given up).")
	for _, o := range sortedKeys(act.Attempts) {
		fmt.Fprintf(bw, "keybox_webhook_delivery_attempts_total{outcome=\"%s\"} %d\n", labelValue(o), act.Attempts[o])
	}
	writeFamily(bw, "keybox_webhook_delivery_duration_seconds", "histogram",
		"Time webhook delivery attempts took, from connecting to the end of the answer kept.")
	var cum uint64
	for i, le := range licensing.AttemptBuckets {
		cum += act.AttemptDurations[i]
		fmt.Fprintf(bw, "keybox_webhook_delivery_duration_seconds_bucket{le=\"%s\"} %d\n", formatValue(le), cum)
	}
	cum += act.AttemptDurations[len(licensing.AttemptBuckets)]
	fmt.Fprintf(bw, "keybox_webhook_delivery_duration_seconds_bucket{le=\"+Inf\"} %d\n", cum)
	fmt.Fprintf(bw, "keybox_webhook_delivery_duration_seconds_sum %s\n", formatValue(act.AttemptSeconds))
	fmt.Fprintf(bw, "keybox_webhook_delivery_duration_seconds_count %d\n", cum)

	ctx, cancel := context.WithTimeout(ctx, outboxTimeout)
	defer cancel()
	o, err := s.svc.Outbox(ctx)
	if err != nil {
		s.log.LogAttrs(ctx, slog.LevelWarn, "metrics: the webhook outbox was not counted", slog.Any("error", err))
		return
	}
	var oldest float64
	if !o.OldestDue.IsZero() {
		oldest = max(s.now().Sub(o.OldestDue).Seconds(), 0)
	}
	writeSingles(bw, []single{
		{"keybox_webhook_outbox_pending_deliveries", "gauge",
			"Webhook deliveries in the database not yet delivered nor given up: due, in flight or waiting to be retried.", float64(o.Pending)},
		{"keybox_webhook_outbox_due_deliveries", "gauge",
			"Webhook deliveries due and not in flight: waiting for a server's worker.", float64(o.Due)},
		{"keybox_webhook_outbox_oldest_due_seconds", "gauge",
			"How long the delivery due longest ago has waited for a worker, in seconds (0 when none is due).", oldest},
	})
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
