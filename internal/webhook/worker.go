package webhook

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/keyboxhq/keybox"
)

// Source is where deliveries come from and where their outcomes go (the
// licensing service, which holds the rules: retries, giving up, disabling).
type Source interface {
	// ClaimDeliveries leases up to limit due deliveries to this worker,
	// with their webhooks' secrets opened.
	ClaimDeliveries(ctx context.Context, limit int) ([]keybox.DeliveryJob, error)
	// FinishDelivery records an attempt's outcome.
	FinishDelivery(ctx context.Context, job keybox.DeliveryJob, r Result) error
}

// Defaults of a Worker.
const (
	DefaultConcurrency = 4
	DefaultPoll        = time.Second
)

// Worker attempts due deliveries with bounded concurrency, apart from any
// request: a slow or dead endpoint holds one of its slots, never a request.
type Worker struct {
	Source Source
	Sender *Sender
	// Now is the clock of signatures (time.Now when nil).
	Now func() time.Time
	// Concurrency bounds the attempts in flight (DefaultConcurrency when 0).
	Concurrency int
	// Poll is how often it looks for due deliveries when nothing wakes it
	// (DefaultPoll when 0): retries come due with time, not with a signal.
	Poll time.Duration
	// Wake signals that deliveries were just written.
	Wake <-chan struct{}
	Log  *slog.Logger
}

func (w *Worker) defaults() {
	if w.Now == nil {
		w.Now = time.Now
	}
	if w.Concurrency <= 0 {
		w.Concurrency = DefaultConcurrency
	}
	if w.Poll <= 0 {
		w.Poll = DefaultPoll
	}
	if w.Log == nil {
		w.Log = slog.New(slog.DiscardHandler)
	}
}

// Run attempts deliveries until ctx ends. Attempts in flight then finish
// (each within Timeout) and are recorded before it returns; nothing new is
// claimed.
func (w *Worker) Run(ctx context.Context) {
	w.defaults()
	slots := make(chan struct{}, w.Concurrency)
	done := make(chan struct{}, w.Concurrency)
	var inFlight sync.WaitGroup
	defer inFlight.Wait()
	// Attempts outlive ctx: an attempt cut short would be recorded as the
	// endpoint's failure.
	attemptCtx := context.WithoutCancel(ctx)
	tick := time.NewTicker(w.Poll)
	defer tick.Stop()
	for {
		full := false
		if free := w.Concurrency - len(slots); free > 0 {
			jobs, err := w.Source.ClaimDeliveries(ctx, free)
			if err != nil && ctx.Err() == nil {
				w.Log.Error("claim webhook deliveries", "error", err)
			}
			for _, group := range byWebhook(jobs) {
				slots <- struct{}{}
				inFlight.Go(func() {
					defer func() {
						<-slots
						select {
						case done <- struct{}{}:
						default:
						}
					}()
					w.attemptAll(attemptCtx, group)
				})
			}
			full = len(jobs) == free
		}
		if full {
			// More may be due: claim again as soon as a slot frees.
			select {
			case <-ctx.Done():
				return
			case <-done:
			}
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-w.Wake:
		case <-tick.C:
		case <-done:
		}
	}
}

// Drain attempts every delivery due now, waits for them, and returns how
// many it attempted: Run's work without its waiting, for tests and tools.
func (w *Worker) Drain(ctx context.Context) (int, error) {
	w.defaults()
	total := 0
	for {
		jobs, err := w.Source.ClaimDeliveries(ctx, w.Concurrency)
		if err != nil {
			return total, err
		}
		var wg sync.WaitGroup
		for _, group := range byWebhook(jobs) {
			wg.Go(func() { w.attemptAll(ctx, group) })
		}
		wg.Wait()
		total += len(jobs)
		if len(jobs) < w.Concurrency {
			return total, nil
		}
	}
}

// byWebhook groups claimed deliveries by webhook, keeping their order: one
// endpoint's messages go one after another, and take one slot.
func byWebhook(jobs []keybox.DeliveryJob) [][]keybox.DeliveryJob {
	var groups [][]keybox.DeliveryJob
	at := map[string]int{}
	for _, j := range jobs {
		i, ok := at[j.Webhook.ID]
		if !ok {
			i = len(groups)
			at[j.Webhook.ID] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], j)
	}
	return groups
}

func (w *Worker) attemptAll(ctx context.Context, jobs []keybox.DeliveryJob) {
	for _, j := range jobs {
		w.attempt(ctx, j)
	}
}

func (w *Worker) attempt(ctx context.Context, j keybox.DeliveryJob) {
	d := j.Delivery
	r := w.Sender.Send(ctx, j.Webhook.URL, j.Webhook.Secret, d.ID, w.Now(), d.Payload)
	if err := w.Source.FinishDelivery(ctx, j, r); err != nil {
		w.Log.Error("record webhook delivery", "delivery", d.ID, "webhook", d.WebhookID, "error", err)
	}
}
