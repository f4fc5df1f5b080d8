package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// eventsCommand is keybox events: the caller's event log, newest first.
var eventsCommand = []command{{
	help: "List your events, newest first. Every change to your clients, projects, licenses,\n" +
		"seats, account and webhooks is one, with who made it (user, token, application or\n" +
		"system), from which address and in which request. An ADMIN also sees the\n" +
		"installation's (signing keys, deleted accounts).",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		var o client.EventOptions
		since := fs.String("since", "", "only events at or after this RFC 3339 time")
		fs.StringVar(&o.Type, "type", "", "an event type (license.revoked) or a family (license.*)")
		fs.StringVar(&o.Subject, "subject", "", "only events about this object id")
		pages := pageOnlyFlags(fs)
		return func(ctx context.Context, s *session, _ []string) error {
			if *since != "" {
				t, err := time.Parse(time.RFC3339Nano, *since)
				if err != nil {
					return usageError(fmt.Sprintf("events: --since %q is not an RFC 3339 time", *since))
				}
				o.Since = t
			}
			got, err := fetchList(ctx, s, pages, func(e keybox.Event) string { return e.ID },
				func(ctx context.Context, lo client.ListOptions) (pageOf[keybox.Event], error) {
					o.Page, o.Limit = lo.Page, lo.Limit
					l, err := s.api.Events(ctx, o)
					return pageOf[keybox.Event]{l.Events, l.Total, l.Page, l.Limit}, err
				})
			if err != nil {
				return err
			}
			out := client.EventList{Events: got.items, Total: got.total, Page: got.page, Limit: got.limit}
			return emitList(s, pages, got, out, func(w io.Writer) {
				row(w, "TIME", "TYPE", "SUBJECT", "ACTOR", "IP", "DATA")
				for _, e := range got.items {
					row(w, when(e.CreatedAt), e.Type, e.Subject.Type+" "+e.Subject.ID, actorName(e.Actor),
						dash(string(e.IP)), string(e.Data))
				}
			})
		}
	},
}}

// pageOnlyFlags are the paging flags of a list that takes no search.
func pageOnlyFlags(fs *flag.FlagSet) *pageFlags {
	var p pageFlags
	fs.Var(&p.page, "page", "page `number`, from 1 (default 1)")
	fs.Var(&p.limit, "limit", "`rows` per page, 1-100 (default 20)")
	fs.BoolVar(&p.all, "all", false, "every row: read page after page")
	return &p
}

func actorName(a keybox.Actor) string { return strings.TrimSpace(a.Type + " " + a.ID) }

// webhookCommands are keybox webhooks …: endpoints that receive your events.
var webhookCommands = []command{
	{name: "list", help: "List your webhooks.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, _ []string) error {
				list, err := s.api.Webhooks(ctx)
				if err != nil {
					return err
				}
				return s.emit(map[string]any{"webhooks": list}, func(w io.Writer) {
					row(w, "ID", "URL", "EVENTS", "ENABLED", "FAILING SINCE")
					for _, h := range list {
						row(w, h.ID, h.URL, strings.Join(h.Events, ","), fmt.Sprint(h.Enabled), when(h.FailingSince))
					}
				})
			}
		}},
	{name: "get", args: "ID", help: "Show one webhook.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				h, err := s.api.Webhook(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(h, func(w io.Writer) { webhookFields(w, h) })
			}
		}},
	{name: "create", help: "Add a webhook: --url, --events (comma-separated types, or * for all). Its signing\n" +
		"secret is shown this once: keep it where the endpoint can read it.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			url := fs.String("url", "", "the endpoint, http or https")
			events := fs.String("events", "*", "event types, comma-separated, or * for all")
			var desc stringFlag
			fs.Var(&desc, "description", "what the endpoint is")
			return func(ctx context.Context, s *session, _ []string) error {
				h, secret, err := s.api.CreateWebhook(ctx, client.WebhookInput{URL: *url, Events: splitList(*events), Description: desc.ptr()})
				if err != nil {
					return err
				}
				return s.emit(map[string]any{"webhook": h, "secret": secret}, func(w io.Writer) {
					webhookFields(w, h)
					fields(w, "secret", secret)
					fmt.Fprintln(w, "The secret is shown this once.")
				})
			}
		}},
	{name: "update", args: "ID", help: "Change a webhook's --url, --events or --description, or --enabled=false|true.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var url, events, desc, enabled stringFlag
			fs.Var(&url, "url", "the new endpoint")
			fs.Var(&events, "events", "event types, comma-separated, or * for all")
			fs.Var(&desc, "description", "what the endpoint is")
			fs.Var(&enabled, "enabled", "true or false")
			return func(ctx context.Context, s *session, args []string) error {
				in := client.WebhookInput{URL: url.value, Description: desc.ptr()}
				if events.set {
					in.Events = splitList(events.value)
				}
				if enabled.set {
					v, err := parseBool(enabled.value)
					if err != nil {
						return usageError("webhooks update: --enabled must be true or false")
					}
					in.Enabled = &v
				}
				if !url.set && !events.set && !desc.set && !enabled.set {
					return usageError("webhooks update: give --url, --events, --description or --enabled")
				}
				h, err := s.api.UpdateWebhook(ctx, args[0], in)
				if err != nil {
					return err
				}
				return s.emit(h, func(w io.Writer) { webhookFields(w, h) })
			}
		}},
	{name: "delete", args: "ID", help: "Delete a webhook and its deliveries.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				if err := s.api.DeleteWebhook(ctx, args[0]); err != nil {
					return err
				}
				return s.say("Webhook deleted")
			}
		}},
	{name: "deliveries", args: "ID", help: "List a webhook's deliveries, newest first, with each attempt.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			pages := pageOnlyFlags(fs)
			return func(ctx context.Context, s *session, args []string) error {
				got, err := fetchList(ctx, s, pages, func(d keybox.Delivery) string { return d.ID },
					func(ctx context.Context, lo client.ListOptions) (pageOf[keybox.Delivery], error) {
						l, err := s.api.Deliveries(ctx, args[0], lo.Page, lo.Limit)
						return pageOf[keybox.Delivery]{l.Deliveries, l.Total, l.Page, l.Limit}, err
					})
				if err != nil {
					return err
				}
				out := client.DeliveryList{Deliveries: got.items, Total: got.total, Page: got.page, Limit: got.limit}
				return emitList(s, pages, got, out, func(w io.Writer) {
					row(w, "ID", "TYPE", "STATUS", "ATTEMPTS", "NEXT", "LAST ANSWER")
					for _, d := range got.items {
						last := "-"
						if n := len(d.Log); n > 0 {
							a := d.Log[n-1]
							last = fmt.Sprintf("%d in %d ms %s", a.StatusCode, a.DurationMS, string(a.Error))
						}
						row(w, d.ID, d.EventType, d.Status, fmt.Sprint(d.Attempts), when(d.NextAttemptAt), strings.TrimSpace(last))
					}
				})
			}
		}},
	{name: "test", args: "ID", help: "Send a test message (type webhook.test) to a webhook.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				d, err := s.api.TestWebhook(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(d, func(w io.Writer) {
					fields(w, "delivery", d.ID, "status", d.Status)
					fmt.Fprintln(w, "Queued; see keybox webhooks deliveries "+args[0]+".")
				})
			}
		}},
	{name: "retry", args: "ID DELIVERY_ID", help: "Attempt a failed (or waiting) delivery again, now; ids are in webhooks deliveries.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				d, err := s.api.RetryDelivery(ctx, args[0], args[1])
				if err != nil {
					return err
				}
				return s.emit(d, func(w io.Writer) {
					fields(w, "delivery", d.ID, "status", d.Status)
					fmt.Fprintln(w, "Queued; see keybox webhooks deliveries "+args[0]+".")
				})
			}
		}},
}

func webhookFields(w io.Writer, h keybox.Webhook) {
	fields(w, "id", h.ID, "url", h.URL, "events", strings.Join(h.Events, ","), "description", dash(h.Description),
		"enabled", fmt.Sprint(h.Enabled), "failing since", when(h.FailingSince), "disabled", when(h.DisabledAt),
		"created", when(h.CreatedAt))
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "1", "on":
		return true, nil
	case "false", "no", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not true or false", s)
}
