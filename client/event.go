package client

import (
	"context"
	"net/url"
	"time"

	"github.com/keyboxhq/keybox"
)

// EventOptions select the caller's events. Zero values select everything,
// first page.
type EventOptions struct {
	// Type is an event type ("license.revoked") or a family ("license.*").
	Type string
	// Subject is the id of the object the events are about.
	Subject string
	// Since keeps events at or after it.
	Since time.Time
	Page  int
	Limit int
}

func (o EventOptions) values() url.Values {
	v := ListOptions{Page: o.Page, Limit: o.Limit}.values()
	if o.Type != "" {
		v.Set("type", o.Type)
	}
	if o.Subject != "" {
		v.Set("subject", o.Subject)
	}
	if !o.Since.IsZero() {
		v.Set("since", o.Since.UTC().Format(time.RFC3339Nano))
	}
	return v
}

// EventList is one page of events, newest first.
type EventList struct {
	Events []keybox.Event `json:"events"`
	Total  int            `json:"total"`
	Page   int            `json:"page"`
	Limit  int            `json:"limit"`
}

// Events lists the caller's events (an ADMIN's include the installation's:
// signing keys, deleted accounts).
func (c *Client) Events(ctx context.Context, opts EventOptions) (EventList, error) {
	var out EventList
	err := c.do(ctx, "GET", "/events", opts.values(), nil, &out)
	return out, err
}

// WebhookInput is the body of POST /webhooks and PATCH /webhooks/:id. On an
// update, a member left empty (nil) stays as it is.
type WebhookInput struct {
	URL         string   `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"` // event types, or ["*"]
	Description *string  `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// CreateWebhook adds an endpoint for the caller's events. It returns the
// webhook and its signing secret (whsec_…), which is shown this once.
func (c *Client) CreateWebhook(ctx context.Context, in WebhookInput) (keybox.Webhook, string, error) {
	var out struct {
		Webhook keybox.Webhook `json:"webhook"`
		Secret  string         `json:"secret"`
	}
	err := c.do(ctx, "POST", "/webhooks", nil, in, &out)
	return out.Webhook, out.Secret, err
}

// Webhooks lists the caller's webhooks, oldest first.
func (c *Client) Webhooks(ctx context.Context) ([]keybox.Webhook, error) {
	var out struct {
		Webhooks []keybox.Webhook `json:"webhooks"`
	}
	err := c.do(ctx, "GET", "/webhooks", nil, nil, &out)
	return out.Webhooks, err
}

// Webhook returns one of the caller's webhooks.
func (c *Client) Webhook(ctx context.Context, id string) (keybox.Webhook, error) {
	var out struct {
		Webhook keybox.Webhook `json:"webhook"`
	}
	err := c.do(ctx, "GET", "/webhooks/"+esc(id), nil, nil, &out)
	return out.Webhook, err
}

// UpdateWebhook changes a webhook, or turns it off or on (Enabled).
func (c *Client) UpdateWebhook(ctx context.Context, id string, in WebhookInput) (keybox.Webhook, error) {
	var out struct {
		Webhook keybox.Webhook `json:"webhook"`
	}
	err := c.do(ctx, "PATCH", "/webhooks/"+esc(id), nil, in, &out)
	return out.Webhook, err
}

// DeleteWebhook deletes a webhook and its deliveries.
func (c *Client) DeleteWebhook(ctx context.Context, id string) error {
	return c.do(ctx, "DELETE", "/webhooks/"+esc(id), nil, nil, nil)
}

// DeliveryList is one page of a webhook's deliveries, newest first.
type DeliveryList struct {
	Deliveries []keybox.Delivery `json:"deliveries"`
	Total      int               `json:"total"`
	Page       int               `json:"page"`
	Limit      int               `json:"limit"`
}

// Deliveries lists a webhook's deliveries, each with its attempts.
func (c *Client) Deliveries(ctx context.Context, id string, page, limit int) (DeliveryList, error) {
	var out DeliveryList
	err := c.do(ctx, "GET", "/webhooks/"+esc(id)+"/deliveries", ListOptions{Page: page, Limit: limit}.values(), nil, &out)
	return out, err
}

// TestWebhook queues a test message (type webhook.test) to a webhook.
func (c *Client) TestWebhook(ctx context.Context, id string) (keybox.Delivery, error) {
	var out struct {
		Delivery keybox.Delivery `json:"delivery"`
	}
	err := c.do(ctx, "POST", "/webhooks/"+esc(id)+"/test", nil, nil, &out)
	return out.Delivery, err
}

// RetryDelivery asks for one more attempt of a webhook's delivery, now: one
// given up, or one waiting for its next retry.
func (c *Client) RetryDelivery(ctx context.Context, webhookID, deliveryID string) (keybox.Delivery, error) {
	var out struct {
		Delivery keybox.Delivery `json:"delivery"`
	}
	err := c.do(ctx, "POST", "/webhooks/"+esc(webhookID)+"/deliveries/"+esc(deliveryID)+"/retry", nil, nil, &out)
	return out.Delivery, err
}
