package licensing

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
)

// Every change of state is recorded as an event in the transaction that
// makes it: a change that rolls back leaves no event, and a committed change
// always has one. Each event also becomes a delivery for every enabled
// webhook of its owner that subscribes to its type, in the same
// transaction: the outbox that the delivery workers empty.

// events records the events of one transaction.
type events struct {
	s     *Service
	ctx   context.Context
	tx    keybox.Tx
	hooks map[string][]keybox.Webhook // each owner's webhooks, read once per transaction
	queue int                         // deliveries written
	types []string                    // the types of the events recorded, for Activity
}

// update runs fn in one transaction with an event recorder, and wakes the
// delivery workers once deliveries it wrote are committed.
func (s *Service) update(ctx context.Context, fn func(tx keybox.Tx, ev *events) error) error {
	var ev *events
	err := s.store.Update(ctx, func(tx keybox.Tx) error {
		ev = &events{s: s, ctx: ctx, tx: tx}
		return fn(tx, ev)
	})
	if err == nil && ev != nil && ev.queue > 0 {
		s.wakeDeliveries()
	}
	if err == nil && ev != nil && len(ev.types) > 0 {
		s.activity.recorded(ev.types)
	}
	return err
}

// add records an event: e's owner, type and subject, and data (what
// changed; never a secret). The actor is the origin's when the context has
// one (the user or token of a request), else e's own (the application of a
// public call), else the system's.
func (ev *events) add(e keybox.Event, data any) error {
	o := originOf(ev.ctx)
	switch {
	case o.Actor.Type != "":
		e.Actor = o.Actor
	case e.Actor.Type == "":
		e.Actor = systemActor
	}
	if data == nil {
		data = struct{}{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("event %s: %w", e.Type, err)
	}
	now := ev.s.now()
	e.ID, e.CreatedAt, e.Data = ev.s.newEventID(now), now, raw
	e.IP, e.RequestID = keybox.NullString(o.IP), keybox.NullString(o.RequestID)
	link, err := ev.tx.NextInChain(ev.ctx, e.OwnerID)
	if err != nil {
		return err
	}
	e.Seq, e.PrevHash = link.Seq, link.PrevHash
	e.Hash = e.ChainHash(e.PrevHash)
	if err := ev.tx.AppendEvent(ev.ctx, e); err != nil {
		return err
	}
	ev.types = append(ev.types, e.Type)
	if e.OwnerID == "" || link.Webhooks == 0 {
		return nil // no webhook to tell (the installation has none)
	}
	return ev.enqueue(e, now)
}

// enqueue writes a delivery of e for each of its owner's webhooks that
// wants it.
func (ev *events) enqueue(e keybox.Event, now keybox.Time) error {
	if ev.hooks == nil {
		ev.hooks = map[string][]keybox.Webhook{}
	}
	hooks, ok := ev.hooks[e.OwnerID]
	if !ok {
		var err error
		if hooks, err = ev.tx.Webhooks(ev.ctx, e.OwnerID); err != nil {
			return err
		}
		ev.hooks[e.OwnerID] = hooks
	}
	var payload []byte
	for _, h := range hooks {
		if !h.Enabled || !wants(h, e.Type) {
			continue
		}
		if payload == nil {
			var err error
			if payload, err = json.Marshal(e); err != nil {
				return fmt.Errorf("event %s: %w", e.Type, err)
			}
		}
		d := keybox.Delivery{
			ID: ev.s.newEventID(now), WebhookID: h.ID, OwnerID: e.OwnerID, EventID: keybox.NullString(e.ID),
			EventType: e.Type, Payload: payload, Status: keybox.DeliveryPending, NextAttemptAt: now,
			CreatedAt: now, UpdatedAt: now,
		}
		if err := ev.tx.CreateDelivery(ev.ctx, d); err != nil {
			return err
		}
		ev.queue++
	}
	return nil
}

// wants reports whether webhook h subscribes to event type t.
func wants(h keybox.Webhook, t string) bool {
	return slices.Contains(h.Events, keybox.AllEvents) || slices.Contains(h.Events, t)
}

// changes describes what an update changed: each field that differs, as
// {"from": old, "to": new}.
type changes map[string]any

func (c changes) set(field string, from, to any) {
	if !reflect.DeepEqual(from, to) {
		c[field] = map[string]any{"from": from, "to": to}
	}
}

// with adds a member that identifies the subject (a license's key).
func (c changes) with(field string, v any) changes {
	c[field] = v
	return c
}

func subject(typ, id string) keybox.Subject { return keybox.Subject{Type: typ, ID: id} }

// EventList is GET /events' query.
type EventList struct {
	Type    string // one type, or a family such as "license.*"
	Subject string // the id of the object the events are about
	Since   string // RFC 3339
	Page    int
	Limit   int
}

// Events lists the caller's events, newest first; an ADMIN's list also holds
// the installation's events (the signing keys, deleted accounts).
func (s *Service) Events(ctx context.Context, caller keybox.User, in EventList) ([]keybox.Event, int, ListInput, error) {
	li := ListInput{Page: in.Page, Limit: in.Limit}
	p, err := li.page()
	if err != nil {
		return nil, 0, li, err
	}
	f := keybox.EventFilter{OwnerID: caller.ID, Installation: caller.Role == keybox.RoleAdmin, Page: p}
	var fe fieldErrors
	if t := strings.TrimSpace(in.Type); t != "" {
		if f.Types = matchTypes(t); len(f.Types) == 0 {
			fe.add("type", "must be an event type such as license.revoked, or a family such as license.*")
		}
	}
	f.SubjectID = strings.TrimSpace(in.Subject)
	if tooLong(f.SubjectID) {
		fe.add("subject", fmt.Sprintf("must be at most %d characters", maxFieldLength))
	}
	if since := strings.TrimSpace(in.Since); since != "" {
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			fe.add("since", "must be an RFC 3339 time such as 2026-01-01T00:00:00Z")
		}
		f.Since = t
	}
	if err := fe.err(); err != nil {
		return nil, 0, li, err
	}
	list, total, err := s.store.Events(ctx, f)
	if err != nil {
		return nil, 0, li, fmt.Errorf("events: %w", err)
	}
	return list, total, li, nil
}

// matchTypes returns the event types a filter names: one type, or every
// type of a family ("license.*").
func matchTypes(t string) []string {
	if family, ok := strings.CutSuffix(t, ".*"); ok {
		var out []string
		for _, et := range keybox.EventTypes {
			if strings.HasPrefix(et, family+".") {
				out = append(out, et)
			}
		}
		return out
	}
	if slices.Contains(keybox.EventTypes, t) {
		return []string{t}
	}
	return nil
}
