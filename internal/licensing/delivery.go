package licensing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/webhook"
)

// Delivery rules. A delivery is attempted at once, then retried after about
// 5 seconds, 1 minute, 10 minutes, 1 hour, 6 hours and then every 12 hours,
// until 3 days after it was made; the last retry falls on that instant.
// An endpoint that has failed without a single success for 3 days is
// disabled, and its pending deliveries given up.

// RetryDelays are the waits after the first failures; later ones wait
// RetryEvery.
var RetryDelays = []time.Duration{5 * time.Second, time.Minute, 10 * time.Minute, time.Hour, 6 * time.Hour}

// Delivery limits.
const (
	RetryEvery   = 12 * time.Hour
	RetryFor     = 72 * time.Hour // how long a delivery is retried
	DisableAfter = 72 * time.Hour // how long an endpoint may fail before it is disabled
	// LeaseMargin is what a lease adds to the longest its attempts can take.
	LeaseMargin = 30 * time.Second
)

// nextAttempt returns when a delivery made at created and attempted n times
// (the last at now) is tried again, or false when it is given up.
func nextAttempt(created, now time.Time, n int) (time.Time, bool) {
	wait := RetryEvery
	if n-1 < len(RetryDelays) {
		wait = RetryDelays[n-1]
	}
	end := created.Add(RetryFor)
	if !now.Before(end) {
		return time.Time{}, false
	}
	return minTime(now.Add(wait), end), true
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// wakeDeliveries tells the delivery workers that deliveries were committed.
func (s *Service) wakeDeliveries() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// DeliveryWake is signalled after deliveries are committed, for the worker.
func (s *Service) DeliveryWake() <-chan struct{} { return s.wake }

// ClaimDeliveries leases up to limit due deliveries to the caller, with
// their webhooks' secrets opened. The lease lasts as long as the claimed
// attempts could take one after another (each webhook's are made in turn),
// and a margin: a server that dies leaves them due again when it ends. A
// delivery whose secret cannot be opened (the server's secret key is not the
// one it was sealed with) is recorded as a failed attempt and not returned.
func (s *Service) ClaimDeliveries(ctx context.Context, limit int) ([]keybox.DeliveryJob, error) {
	var token [12]byte
	if _, err := rand.Read(token[:]); err != nil {
		return nil, err
	}
	now := s.clock()
	jobs, err := s.store.ClaimDeliveries(ctx, keybox.DeliveryClaim{
		Now: now, LeaseUntil: now.Add(time.Duration(limit)*webhook.Timeout + LeaseMargin),
		Lease: hex.EncodeToString(token[:]), Limit: limit,
	})
	if err != nil {
		return nil, err
	}
	out := jobs[:0]
	for _, j := range jobs {
		secret, err := s.hookBox.open(j.Webhook.ID, j.Webhook.Sealed)
		if err != nil {
			if ferr := s.FinishDelivery(ctx, j, webhook.Result{At: now, Err: err}); ferr != nil {
				s.log.Error("record webhook delivery", "delivery", j.Delivery.ID, "error", ferr)
			}
			continue
		}
		j.Webhook.Secret = secret
		out = append(out, j)
	}
	return out, nil
}

// FinishDelivery records an attempt and what follows from it: delivered,
// retried later, or given up; and for the webhook, failing since when, or
// disabled after failing for DisableAfter (a webhook.updated event).
func (s *Service) FinishDelivery(ctx context.Context, j keybox.DeliveryJob, r webhook.Result) error {
	now := s.now()
	d := j.Delivery
	d.Attempts++
	d.UpdatedAt = now
	a := keybox.DeliveryAttempt{At: keybox.NewTime(r.At), Success: r.OK(), StatusCode: r.StatusCode,
		DurationMS: r.Duration.Milliseconds(), Response: r.Response}
	if a.At.IsZero() {
		a.At = now
	}
	if r.Err != nil {
		a.Error = keybox.NullString(printableError(r.Err))
	}
	switch next, retry := nextAttempt(d.CreatedAt.Time, now.Time, d.Attempts); {
	case a.Success:
		d.Status = keybox.DeliveryDelivered
	case retry && j.Webhook.Enabled:
		// A disabled webhook is sent only what its owner asks for (a test,
		// a retry), once: a failure is not retried.
		d.Status, d.NextAttemptAt = keybox.DeliveryPending, keybox.NewTime(next)
	default:
		d.Status = keybox.DeliveryFailed
	}
	var held bool
	err := s.update(ctx, func(tx keybox.Tx, ev *events) error {
		var err error
		held, err = tx.FinishAttempt(ctx, d, a)
		if err != nil || !held {
			return err // a lease that ran out: whoever holds it now decides
		}
		// One outcome at a time per webhook, across servers: two failures
		// judged at once must not both disable it.
		if err := tx.Lock(ctx, "webhook:"+d.WebhookID); err != nil {
			return err
		}
		w, err := tx.Webhook(ctx, d.OwnerID, d.WebhookID)
		if err != nil {
			return storeErr(err, nil, "finish delivery") // deleted meanwhile: nothing more to say
		}
		// A failure starts a streak when the message was made, as the
		// endpoint has missed it since; but a message retried by hand after
		// its retries ended was not being offered all that while: its
		// failure starts a streak now.
		made := d.CreatedAt
		if now.Sub(made.Time) > RetryFor {
			made = now
		}
		return s.judgeEndpoint(ctx, tx, ev, w, a.Success, made, now)
	})
	if keybox.IsCode(err, keybox.NotFound) {
		return nil
	}
	if err == nil && held {
		s.activity.attempted(attemptOutcome[d.Status], r.Duration)
	}
	return err
}

// attemptOutcome is an attempt's outcome from the state it left its
// delivery in.
var attemptOutcome = map[string]string{
	keybox.DeliveryDelivered: AttemptDelivered, keybox.DeliveryPending: AttemptRetry, keybox.DeliveryFailed: AttemptFailed,
}

// judgeEndpoint keeps a webhook's failing streak, and disables it once the
// streak has lasted DisableAfter.
// A streak starts when the first message that failed was made: the
// endpoint has missed it since.
func (s *Service) judgeEndpoint(ctx context.Context, tx keybox.Tx, ev *events, w keybox.Webhook, ok bool, made, now keybox.Time) error {
	switch {
	case ok && w.FailingSince.IsZero():
		return nil
	case ok:
		w.FailingSince = keybox.Time{}
	case w.FailingSince.IsZero():
		w.FailingSince = made
	case w.Enabled && now.Sub(w.FailingSince.Time) >= DisableAfter:
		since := w.FailingSince
		w.Enabled, w.DisabledAt = false, now
		w.UpdatedAt = now
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return err
		}
		if err := tx.FailDeliveries(ctx, w.ID, now); err != nil {
			return err
		}
		c := changes{}
		c.set("enabled", true, false)
		c["reason"] = fmt.Sprintf("every delivery failed since %s", since)
		return ev.add(keybox.Event{OwnerID: w.OwnerID, Type: keybox.EventWebhookUpdated, Actor: systemActor,
			Subject: webhookSubject(w.ID)}, c)
	default:
		return nil
	}
	return tx.UpdateWebhook(ctx, w)
}

// printableError is an attempt's error as stored: text, at most a line.
func printableError(err error) string {
	msg := err.Error()
	if len(msg) > 500 {
		msg = msg[:500]
	}
	return keepText(msg)
}

// keepText makes s storable on every engine: valid UTF-8 without NUL.
func keepText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
