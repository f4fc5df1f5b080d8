package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
)

const webhookColumns = `id, owner_id, url, events, description, enabled, sealed_secret, failing_since, disabled_at,
	created_at, updated_at`

func scanWebhook(sc scanner) (keybox.Webhook, error) {
	var w keybox.Webhook
	var events, sealed string
	var failing, disabled sql.NullInt64
	var created, updated int64
	if err := sc.Scan(&w.ID, &w.OwnerID, &w.URL, &events, &w.Description, &w.Enabled, &sealed, &failing, &disabled,
		&created, &updated); err != nil {
		return w, err
	}
	w.Events = strings.Split(events, ",")
	var err error
	if w.Sealed, err = base64.StdEncoding.DecodeString(sealed); err != nil {
		return w, fmt.Errorf("webhook %s: bad sealed secret", w.ID)
	}
	if failing.Valid {
		w.FailingSince = keybox.TimeFromMillis(failing.Int64)
	}
	if disabled.Valid {
		w.DisabledAt = keybox.TimeFromMillis(disabled.Int64)
	}
	w.CreatedAt, w.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	return w, nil
}

func (q queries) Webhook(ctx context.Context, ownerID, id string) (keybox.Webhook, error) {
	w, err := scanWebhook(q.queryRow(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1 AND owner_id = $2`, id, ownerID))
	return one(w, err, "webhook")
}

func (q queries) Webhooks(ctx context.Context, ownerID string) ([]keybox.Webhook, error) {
	rows, err := q.query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE owner_id = $1 ORDER BY created_at, id`, ownerID)
	list, err := collect(rows, err, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return list, nil
}

func (t *tx) CreateWebhook(ctx context.Context, w keybox.Webhook) error {
	if len(w.Sealed) == 0 {
		return fmt.Errorf("create webhook %s: no sealed secret", w.ID)
	}
	_, err := t.exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		w.ID, w.OwnerID, w.URL, strings.Join(w.Events, ","), w.Description, w.Enabled,
		base64.StdEncoding.EncodeToString(w.Sealed), nullMillis(w.FailingSince), nullMillis(w.DisabledAt),
		w.CreatedAt.Millis(), w.UpdatedAt.Millis())
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	// Counted in the owner's chain (made here, before its first event, if
	// need be), where every event looks.
	_, err = t.exec(ctx, `INSERT INTO event_chains (owner_id, seq, hash, webhooks) VALUES ($1, 0, '', 1)
		ON CONFLICT (owner_id) DO UPDATE SET webhooks = event_chains.webhooks + 1`, w.OwnerID)
	if err != nil {
		return fmt.Errorf("count webhook: %w", err)
	}
	return nil
}

func (t *tx) UpdateWebhook(ctx context.Context, w keybox.Webhook) error {
	return t.execOne(ctx, "update webhook", `UPDATE webhooks SET url = $3, events = $4, description = $5, enabled = $6,
		failing_since = $7, disabled_at = $8, updated_at = $9 WHERE id = $1 AND owner_id = $2`,
		w.ID, w.OwnerID, w.URL, strings.Join(w.Events, ","), w.Description, w.Enabled,
		nullMillis(w.FailingSince), nullMillis(w.DisabledAt), w.UpdatedAt.Millis())
}

// DeleteWebhook deletes the webhook; its deliveries and their attempts go
// with it (ON DELETE CASCADE).
func (t *tx) DeleteWebhook(ctx context.Context, ownerID, id string) error {
	if err := t.execOne(ctx, "delete webhook", `DELETE FROM webhooks WHERE id = $1 AND owner_id = $2`, id, ownerID); err != nil {
		return err
	}
	_, err := t.exec(ctx, `UPDATE event_chains SET webhooks = webhooks - 1 WHERE owner_id = $1 AND webhooks > 0`, ownerID)
	if err != nil {
		return fmt.Errorf("uncount webhook: %w", err)
	}
	return nil
}

const deliveryColumns = `id, webhook_id, owner_id, event_id, event_type, payload, status, attempts, next_attempt_at, lease,
	created_at, updated_at`

func scanDelivery(sc scanner) (keybox.Delivery, error) {
	var d keybox.Delivery
	var event, payload string
	var next, created, updated int64
	err := sc.Scan(&d.ID, &d.WebhookID, &d.OwnerID, &event, &d.EventType, &payload, &d.Status, &d.Attempts, &next, &d.Lease,
		&created, &updated)
	d.EventID, d.Payload = keybox.NullString(event), []byte(payload)
	d.NextAttemptAt = keybox.TimeFromMillis(next)
	d.CreatedAt, d.UpdatedAt = keybox.TimeFromMillis(created), keybox.TimeFromMillis(updated)
	return d, err
}

func (t *tx) CreateDelivery(ctx context.Context, d keybox.Delivery) error {
	_, err := t.exec(ctx, `INSERT INTO webhook_deliveries (`+deliveryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		d.ID, d.WebhookID, d.OwnerID, string(d.EventID), d.EventType, string(d.Payload), d.Status, d.Attempts,
		d.NextAttemptAt.Millis(), d.Lease, d.CreatedAt.Millis(), d.UpdatedAt.Millis())
	if err != nil {
		return fmt.Errorf("create delivery: %w", err)
	}
	return nil
}

func (q queries) Deliveries(ctx context.Context, f keybox.DeliveryFilter) ([]keybox.Delivery, int, error) {
	var w where
	w.add("owner_id = " + w.arg(f.OwnerID))
	w.add("webhook_id = " + w.arg(f.WebhookID))
	if f.ID != "" {
		w.add("id = " + w.arg(f.ID))
	}
	list, total, err := page(ctx, q, &w, f.Page, "webhook_deliveries", deliveryColumns, newestFirst, scanDelivery)
	if err != nil || len(list) == 0 {
		return list, total, err
	}
	var aw where
	ids := make([]string, len(list))
	at := make(map[string]int, len(list))
	for i, d := range list {
		ids[i] = aw.arg(d.ID)
		at[d.ID] = i
		list[i].Log = []keybox.DeliveryAttempt{}
	}
	rows, err := q.query(ctx, `SELECT delivery_id, attempted_at, success, status_code, duration_ms, response, error
		FROM webhook_attempts WHERE delivery_id IN (`+strings.Join(ids, ", ")+`) ORDER BY attempted_at`, aw.args...)
	attempts, err := collect(rows, err, func(sc scanner) (keybox.DeliveryAttempt, error) {
		var a keybox.DeliveryAttempt
		var when int64
		var msg string
		err := sc.Scan(&a.DeliveryID, &when, &a.Success, &a.StatusCode, &a.DurationMS, &a.Response, &msg)
		a.At, a.Error = keybox.TimeFromMillis(when), keybox.NullString(msg)
		return a, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("delivery attempts: %w", err)
	}
	for _, a := range attempts {
		i := at[a.DeliveryID]
		list[i].Log = append(list[i].Log, a)
	}
	return list, total, nil
}

// claimDeliveries leases due deliveries in one statement. On PostgreSQL the
// rows are chosen FOR UPDATE SKIP LOCKED, so concurrent claims by several
// servers neither wait for nor take each other's rows; a row another claim
// changed first no longer qualifies when its new version is checked again.
// SQLite runs one writer at a time. A webhook with a delivery leased now
// (an attempt in flight somewhere) is passed over: an endpoint that hangs
// holds one attempt at a time, not every worker. The choice is made once,
// in a materialized CTE: as a subquery of the UPDATE, PostgreSQL may run it
// again for each row it updates (a nested-loop semi-join), and each run,
// skipping the rows the last one took, would add up to more than the limit
// and outlast the lease sized for it.
const claimDeliveries = `WITH chosen AS MATERIALIZED (
		SELECT d.id FROM webhook_deliveries d
		WHERE d.status = 'pending' AND d.next_attempt_at <= $3 AND NOT EXISTS (
			SELECT 1 FROM webhook_deliveries b
			WHERE b.webhook_id = d.webhook_id AND b.status = 'pending' AND b.lease <> '' AND b.next_attempt_at > $3)
		ORDER BY d.next_attempt_at, d.id LIMIT $4%s)
	UPDATE webhook_deliveries SET lease = $1, next_attempt_at = $2
	WHERE status = 'pending' AND next_attempt_at <= $3 AND id IN (SELECT id FROM chosen)
	RETURNING ` + deliveryColumns

func (s *Store) ClaimDeliveries(ctx context.Context, c keybox.DeliveryClaim) ([]keybox.DeliveryJob, error) {
	if c.Limit < 1 || c.Lease == "" {
		return nil, fmt.Errorf("claim deliveries: a lease and a limit of at least 1 are required")
	}
	q := queries{s: s, db: s.write}
	rows, err := q.query(ctx, fmt.Sprintf(claimDeliveries, s.dialect.SkipLocked),
		c.Lease, c.LeaseUntil.UnixMilli(), c.Now.UnixMilli(), c.Limit)
	claimed, err := collect(rows, err, scanDelivery)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", s.dialect.Classify(err))
	}
	if len(claimed) == 0 {
		return nil, nil
	}
	var w where
	seen := map[string]bool{}
	var ids []string
	for _, d := range claimed {
		if !seen[d.WebhookID] {
			seen[d.WebhookID] = true
			ids = append(ids, w.arg(d.WebhookID))
		}
	}
	rows, err = q.query(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id IN (`+strings.Join(ids, ", ")+`)`, w.args...)
	hooks, err := collect(rows, err, scanWebhook)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	byID := make(map[string]keybox.Webhook, len(hooks))
	for _, h := range hooks {
		byID[h.ID] = h
	}
	jobs := make([]keybox.DeliveryJob, 0, len(claimed))
	for _, d := range claimed {
		// A webhook deleted since the claim took its deliveries with it.
		if h, ok := byID[d.WebhookID]; ok {
			jobs = append(jobs, keybox.DeliveryJob{Delivery: d, Webhook: h})
		}
	}
	return jobs, nil
}

func (t *tx) FinishAttempt(ctx context.Context, d keybox.Delivery, a keybox.DeliveryAttempt) (bool, error) {
	// A delivery deleted meanwhile (its webhook was) keeps no attempt.
	_, err := t.exec(ctx, `INSERT INTO webhook_attempts (delivery_id, attempted_at, success, status_code, duration_ms, response, error)
		SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1)`,
		d.ID, a.At.Millis(), a.Success, a.StatusCode, a.DurationMS, a.Response, string(a.Error))
	if err != nil {
		return false, fmt.Errorf("record attempt: %w", err)
	}
	res, err := t.exec(ctx, `UPDATE webhook_deliveries SET status = $3, attempts = $4, next_attempt_at = $5, lease = '',
		updated_at = $6 WHERE id = $1 AND lease = $2`,
		d.ID, d.Lease, d.Status, d.Attempts, d.NextAttemptAt.Millis(), d.UpdatedAt.Millis())
	if err != nil {
		return false, fmt.Errorf("finish delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("finish delivery: %w", err)
	}
	return n == 1, nil
}

func (t *tx) FailDeliveries(ctx context.Context, webhookID string, at keybox.Time) error {
	_, err := t.exec(ctx, `UPDATE webhook_deliveries SET status = 'failed', lease = '', updated_at = $2
		WHERE webhook_id = $1 AND status = 'pending'`, webhookID, at.Millis())
	if err != nil {
		return fmt.Errorf("fail deliveries: %w", err)
	}
	return nil
}

func (t *tx) RequeueDelivery(ctx context.Context, d keybox.Delivery, at keybox.Time) (bool, error) {
	res, err := t.exec(ctx, `UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $5, lease = '', updated_at = $5
		WHERE id = $1 AND status = $2 AND lease = $3 AND next_attempt_at = $4`,
		d.ID, d.Status, d.Lease, d.NextAttemptAt.Millis(), at.Millis())
	if err != nil {
		return false, fmt.Errorf("requeue delivery: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("requeue delivery: %w", err)
	}
	return n == 1, nil
}

func (t *tx) PruneDeliveries(ctx context.Context, before time.Time) (int, error) {
	res, err := t.exec(ctx, `DELETE FROM webhook_deliveries WHERE status <> 'pending' AND created_at < $1`, before.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	return int(n), nil
}

// Outbox counts the pending deliveries through the index of pending ones.
// A delivery in flight has its next attempt moved to its lease's end, so
// it is not due.
func (s *Store) Outbox(ctx context.Context, now time.Time) (keybox.OutboxStats, error) {
	var pending, due int
	var oldest sql.NullInt64
	err := s.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN next_attempt_at <= $1 THEN 1 ELSE 0 END), 0),
		MIN(CASE WHEN next_attempt_at <= $1 THEN next_attempt_at END)
		FROM webhook_deliveries WHERE status = 'pending'`, now.UnixMilli()).Scan(&pending, &due, &oldest)
	if err != nil {
		return keybox.OutboxStats{}, fmt.Errorf("outbox: %w", s.dialect.Classify(err))
	}
	out := keybox.OutboxStats{Pending: pending, Due: due}
	if oldest.Valid {
		out.OldestDue = time.UnixMilli(oldest.Int64).UTC()
	}
	return out, nil
}
