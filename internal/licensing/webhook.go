package licensing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/webhook"
)

// Webhooks: endpoints of a developer's that receive their events, signed
// with a secret shown once at creation. The secret is stored sealed, like
// the private signing keys but under a key of its own (HKDF info
// webhookSealInfo, the webhook's id as additional data), so that a copy of
// the database cannot sign deliveries that the endpoint would believe.

var (
	errWebhookNotFound = fail(keybox.NotFound, "Webhook not found")
	errTooManyWebhooks = fail(keybox.Conflict, fmt.Sprintf("An account may have at most %d webhooks", MaxWebhooks))
)

// MaxWebhooks bounds one account's webhooks: each event is written once per
// webhook that wants it.
const MaxWebhooks = 20

// Limits of a webhook's fields.
const (
	maxURLLength   = 2048
	maxEventFilter = 64
)

const webhookSealInfo = "keybox webhook-secret encryption v1"

// secretBox seals webhook secrets.
type secretBox struct{ box }

func newSecretBox(secret []byte) (*secretBox, error) {
	b, err := newBox(secret, webhookSealInfo)
	if err != nil {
		return nil, err
	}
	return &secretBox{b}, nil
}

func (b *secretBox) seal(id string, secret []byte) ([]byte, error) {
	out, err := b.box.seal(secret, id)
	if err != nil {
		return nil, fmt.Errorf("seal webhook secret: %w", err)
	}
	return out, nil
}

func (b *secretBox) open(id string, sealed []byte) ([]byte, error) {
	secret, err := b.box.open(sealed, id)
	if errors.Is(err, errBoxFormat) {
		return nil, fmt.Errorf("webhook %s: secret %v", id, err)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook %s: the secret cannot be decrypted with this server's secret key", id)
	}
	return secret, nil
}

// WebhookInput is the body of POST /webhooks and PATCH /webhooks/:id.
type WebhookInput struct {
	URL         Text            `json:"url" doc:"http or https; not a loopback, private or link-local address, unless the server allows them."`
	Events      json.RawMessage `json:"events" openapi:"array=EventType,maxItems=64" doc:"The event types to receive, or [\"*\"] for every type."`
	Description Text            `json:"description" openapi:"maxLength=200"`
	// Enabled turns a webhook off or on again (PATCH only).
	Enabled *bool `json:"enabled,omitempty" doc:"false turns it off (its pending deliveries are given up); true turns it on again, its failures forgotten."`
}

// webhookFields is an input checked: the members present, validated.
type webhookFields struct {
	url, description string
	events           []string
}

// checkWebhook validates the members present; create requires url and
// events. Every refusal is a "Validation error" naming its member.
func (s *Service) checkWebhook(ctx context.Context, in WebhookInput, create bool) (webhookFields, error) {
	var out webhookFields
	var fe fieldErrors
	switch {
	case !in.URL.Present && !create:
	case in.URL.NotText:
		fe.add("url", ReasonNotText)
	case in.URL.WrongType:
		fe.add("url", "must be a string")
	case in.URL.Blank():
		fe.add("url", "is required")
	case utf8.RuneCountInString(in.URL.Trimmed()) > maxURLLength:
		fe.add("url", fmt.Sprintf("must be at most %d characters", maxURLLength))
	default:
		u, err := s.webhookPolicy.CheckURL(ctx, in.URL.Trimmed())
		if err != nil {
			fe.add("url", err.Error())
		} else {
			out.url = u.String()
		}
	}
	if create || !absent(in.Events) {
		var err error
		if out.events, err = parseEventFilter(in.Events); err != nil {
			fe.add("events", err.Error())
		}
	}
	if in.Description.Present {
		fe.checkText("description", in.Description)
		out.description = in.Description.Trimmed()
	}
	return out, fe.err()
}

// parseEventFilter reads a webhook's event types: a non-empty array of known
// types, or ["*"].
func parseEventFilter(raw json.RawMessage) ([]string, error) {
	var list []string
	if absent(raw) || json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return nil, errors.New(`must be a non-empty array of event types, or ["*"] for all`)
	}
	if len(list) > maxEventFilter {
		return nil, fmt.Errorf("must name at most %d event types", maxEventFilter)
	}
	var out []string
	for _, t := range list {
		if t != keybox.AllEvents && !slices.Contains(keybox.EventTypes, t) {
			return nil, fmt.Errorf("%q is not an event type", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if slices.Contains(out, keybox.AllEvents) {
		out = []string{keybox.AllEvents}
	}
	return out, nil
}

func webhookSubject(id string) keybox.Subject { return subject("webhook", id) }

// webhookData describes a webhook in its events; never its secret.
func webhookData(w keybox.Webhook) map[string]any {
	return map[string]any{"url": w.URL, "events": w.Events, "description": w.Description, "enabled": w.Enabled}
}

// CreateWebhook adds an endpoint for the caller's events and returns it with
// its secret (whsec_…), which is shown this once.
func (s *Service) CreateWebhook(ctx context.Context, owner keybox.User, in WebhookInput) (keybox.Webhook, string, error) {
	f, err := s.checkWebhook(ctx, in, true)
	if err != nil {
		return keybox.Webhook{}, "", err
	}
	secret, err := webhook.NewSecret(nil)
	if err != nil {
		return keybox.Webhook{}, "", err
	}
	now := s.now()
	w := keybox.Webhook{ID: s.newID(now), OwnerID: owner.ID, URL: f.url, Events: f.events, Description: f.description,
		Enabled: true, CreatedAt: now, UpdatedAt: now}
	if w.Sealed, err = s.hookBox.seal(w.ID, secret); err != nil {
		return keybox.Webhook{}, "", err
	}
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		existing, err := tx.Webhooks(ctx, owner.ID)
		if err != nil {
			return err
		}
		if len(existing) >= MaxWebhooks {
			return errTooManyWebhooks
		}
		// Recorded first: a webhook receives what happens after it exists.
		if err := ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventWebhookCreated, Actor: userActor(owner.ID),
			Subject: webhookSubject(w.ID)}, webhookData(w)); err != nil {
			return err
		}
		return tx.CreateWebhook(ctx, w)
	})
	if err != nil {
		return keybox.Webhook{}, "", err
	}
	return w, webhook.EncodeSecret(secret), nil
}

// Webhooks lists the caller's webhooks, oldest first.
func (s *Service) Webhooks(ctx context.Context, owner keybox.User) ([]keybox.Webhook, error) {
	list, err := s.store.Webhooks(ctx, owner.ID)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return list, nil
}

// Webhook returns one of the caller's webhooks.
func (s *Service) Webhook(ctx context.Context, owner keybox.User, id string) (keybox.Webhook, error) {
	w, err := s.store.Webhook(ctx, owner.ID, id)
	if err != nil {
		return keybox.Webhook{}, storeErr(err, errWebhookNotFound, "webhook")
	}
	return w, nil
}

// UpdateWebhook changes a webhook's URL, events, description, or turns it
// off or on. Turning it off gives up its pending deliveries; turning it on
// forgets its failures.
func (s *Service) UpdateWebhook(ctx context.Context, owner keybox.User, id string, in WebhookInput) (keybox.Webhook, error) {
	f, err := s.checkWebhook(ctx, in, false)
	if err != nil {
		return keybox.Webhook{}, err
	}
	var w keybox.Webhook
	err = s.update(ctx, func(tx keybox.Tx, ev *events) error {
		var err error
		if w, err = tx.Webhook(ctx, owner.ID, id); err != nil {
			return storeErr(err, errWebhookNotFound, "update webhook")
		}
		before, now := w, s.now()
		if in.URL.Present {
			w.URL = f.url
		}
		if f.events != nil {
			w.Events = f.events
		}
		if in.Description.Present {
			w.Description = f.description
		}
		if in.Enabled != nil && *in.Enabled != w.Enabled {
			w.Enabled = *in.Enabled
			w.FailingSince, w.DisabledAt = keybox.Time{}, keybox.Time{}
			if !w.Enabled {
				w.DisabledAt = now
				if err := tx.FailDeliveries(ctx, w.ID, now); err != nil {
					return err
				}
			}
		}
		w.UpdatedAt = now
		if err := tx.UpdateWebhook(ctx, w); err != nil {
			return err
		}
		c := changes{}
		c.set("url", before.URL, w.URL)
		c.set("events", before.Events, w.Events)
		c.set("description", before.Description, w.Description)
		c.set("enabled", before.Enabled, w.Enabled)
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventWebhookUpdated, Actor: userActor(owner.ID),
			Subject: webhookSubject(w.ID)}, c)
	})
	if err != nil {
		return keybox.Webhook{}, err
	}
	return w, nil
}

// DeleteWebhook deletes a webhook with its deliveries.
func (s *Service) DeleteWebhook(ctx context.Context, owner keybox.User, id string) error {
	return s.update(ctx, func(tx keybox.Tx, ev *events) error {
		w, err := tx.Webhook(ctx, owner.ID, id)
		if err != nil {
			return storeErr(err, errWebhookNotFound, "delete webhook")
		}
		if err := tx.DeleteWebhook(ctx, owner.ID, id); err != nil {
			return storeErr(err, errWebhookNotFound, "delete webhook")
		}
		return ev.add(keybox.Event{OwnerID: owner.ID, Type: keybox.EventWebhookDeleted, Actor: userActor(owner.ID),
			Subject: webhookSubject(id)}, webhookData(w))
	})
}

// DeliveryList is GET /webhooks/:id/deliveries' query.
type DeliveryList struct {
	Page  int
	Limit int
}

// Deliveries lists a webhook's deliveries, newest first, each with its
// attempts.
func (s *Service) Deliveries(ctx context.Context, owner keybox.User, id string, in DeliveryList) ([]keybox.Delivery, int, ListInput, error) {
	li := ListInput{Page: in.Page, Limit: in.Limit}
	p, err := li.page()
	if err != nil {
		return nil, 0, li, err
	}
	if _, err := s.Webhook(ctx, owner, id); err != nil {
		return nil, 0, li, err
	}
	list, total, err := s.store.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: owner.ID, WebhookID: id, Page: p})
	if err != nil {
		return nil, 0, li, fmt.Errorf("deliveries: %w", err)
	}
	for i := range list {
		if list[i].Status != keybox.DeliveryPending || list[i].Lease != "" {
			list[i].NextAttemptAt = keybox.Time{} // none planned, or one in flight
		}
	}
	return list, total, li, nil
}

// EventWebhookTest is the type of a test message; it is not an event of the log.
const EventWebhookTest = "webhook.test"

// TestWebhook queues a test message to a webhook, enabled or not (to check
// an endpoint before turning it on again), and returns its delivery.
func (s *Service) TestWebhook(ctx context.Context, owner keybox.User, id string) (keybox.Delivery, error) {
	now := s.now()
	o := originOf(ctx)
	actor := o.Actor
	if actor.Type == "" {
		actor = userActor(owner.ID)
	}
	e := keybox.Event{ID: s.newEventID(now), Type: EventWebhookTest, Actor: actor, Subject: webhookSubject(id),
		Data: json.RawMessage(`{}`), IP: keybox.NullString(o.IP), RequestID: keybox.NullString(o.RequestID), CreatedAt: now}
	payload, err := json.Marshal(e)
	if err != nil {
		return keybox.Delivery{}, err
	}
	d := keybox.Delivery{ID: s.newEventID(now), WebhookID: id, OwnerID: owner.ID, EventType: EventWebhookTest, Payload: payload,
		Status: keybox.DeliveryPending, NextAttemptAt: now, CreatedAt: now, UpdatedAt: now, Log: []keybox.DeliveryAttempt{}}
	err = s.store.Update(ctx, func(tx keybox.Tx) error {
		if _, err := tx.Webhook(ctx, owner.ID, id); err != nil {
			return storeErr(err, errWebhookNotFound, "test webhook")
		}
		return tx.CreateDelivery(ctx, d)
	})
	if err != nil {
		return keybox.Delivery{}, err
	}
	s.wakeDeliveries()
	return d, nil
}

var (
	errDeliveryNotFound  = fail(keybox.NotFound, "Delivery not found")
	errDeliveryDelivered = fail(keybox.Conflict, "Delivery already succeeded; there is nothing to retry")
	errDeliveryInFlight  = fail(keybox.Conflict, "Delivery is being attempted now")
)

// RetryDelivery asks for one more attempt of a delivery, now: one that was
// given up (failed), or one waiting for its next retry. The delivery worker
// of exactly one server attempts it, as it attempts any due delivery; its
// outcome then follows the usual rules. A delivery already delivered, or
// being attempted at this moment, is refused. Like a test message, a retry
// is allowed to a disabled webhook (to check an endpoint before turning it
// on again) and records no event: it changes no object of the account.
func (s *Service) RetryDelivery(ctx context.Context, owner keybox.User, webhookID, id string) (keybox.Delivery, error) {
	now := s.now()
	var d keybox.Delivery
	err := s.store.Update(ctx, func(tx keybox.Tx) error {
		if _, err := tx.Webhook(ctx, owner.ID, webhookID); err != nil {
			return storeErr(err, errWebhookNotFound, "retry delivery")
		}
		list, _, err := tx.Deliveries(ctx, keybox.DeliveryFilter{OwnerID: owner.ID, WebhookID: webhookID, ID: id})
		if err != nil {
			return fmt.Errorf("retry delivery: %w", err)
		}
		if len(list) == 0 {
			return errDeliveryNotFound
		}
		d = list[0]
		switch {
		case d.Status == keybox.DeliveryDelivered:
			return errDeliveryDelivered
		case d.Status == keybox.DeliveryPending && d.Lease != "" && d.NextAttemptAt.After(now.Time):
			return errDeliveryInFlight // claimed, and its lease runs
		}
		ok, err := tx.RequeueDelivery(ctx, d, now)
		if err != nil {
			return err
		}
		if !ok {
			return errDeliveryInFlight // claimed (or finished) since it was read
		}
		d.Status, d.NextAttemptAt, d.Lease, d.UpdatedAt = keybox.DeliveryPending, now, "", now
		return nil
	})
	if err != nil {
		return keybox.Delivery{}, err
	}
	s.wakeDeliveries()
	return d, nil
}
