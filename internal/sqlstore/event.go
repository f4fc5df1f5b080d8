package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/keyboxhq/keybox"
)

const eventColumns = `id, owner_id, seq, type, actor_type, actor_id, subject_type, subject_id, data, ip, request_id,
	created_at, prev_hash, hash`

// eventList is what a list of events selects: the columns and their order.
const eventList = `SELECT ` + eventColumns + ` FROM events`

func scanEvent(sc scanner) (keybox.Event, error) {
	var e keybox.Event
	var data, ip, requestID string
	var created int64
	err := sc.Scan(&e.ID, &e.OwnerID, &e.Seq, &e.Type, &e.Actor.Type, &e.Actor.ID, &e.Subject.Type, &e.Subject.ID,
		&data, &ip, &requestID, &created, &e.PrevHash, &e.Hash)
	e.Data, e.IP, e.RequestID = []byte(data), keybox.NullString(ip), keybox.NullString(requestID)
	e.CreatedAt = keybox.TimeFromMillis(created)
	return e, err
}

// nextInChain moves a chain's head on by one, creating the chain at its
// first event, and returns the new sequence number with the hash of the
// event before it. The upsert takes the head row's lock, which the
// transaction holds until it ends: appends to one chain wait for each other,
// appends to different chains do not.
const nextInChain = `INSERT INTO event_chains (owner_id, seq, hash) VALUES ($1, 1, '')
	ON CONFLICT (owner_id) DO UPDATE SET seq = event_chains.seq + 1
	RETURNING seq, hash, webhooks`

func (t *tx) NextInChain(ctx context.Context, ownerID string) (keybox.ChainLink, error) {
	var l keybox.ChainLink
	t.s.counter.Add(1)
	if err := t.db.QueryRowContext(ctx, nextInChain, ownerID).Scan(&l.Seq, &l.PrevHash, &l.Webhooks); err != nil {
		return l, fmt.Errorf("next in chain: %w", t.s.dialect.Classify(err))
	}
	return l, nil
}

func (t *tx) AppendEvent(ctx context.Context, e keybox.Event) error {
	_, err := t.exec(ctx, `INSERT INTO events (`+eventColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		e.ID, e.OwnerID, e.Seq, e.Type, e.Actor.Type, e.Actor.ID, e.Subject.Type, e.Subject.ID, string(e.Data),
		string(e.IP), string(e.RequestID), e.CreatedAt.Millis(), e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("append event: %w", err)
	}
	return t.execOne(ctx, "append event", `UPDATE event_chains SET hash = $3 WHERE owner_id = $1 AND seq = $2`,
		e.OwnerID, e.Seq, e.Hash)
}

// Events lists an owner's events by their chain's order, newest first,
// through the primary key. With the installation's events too, each chain
// gives its newest offset+limit and the two are merged by time.
func (q queries) Events(ctx context.Context, f keybox.EventFilter) ([]keybox.Event, int, error) {
	filter := func(w *where, owner string) {
		w.add("owner_id = " + w.arg(owner))
		if len(f.Types) > 0 {
			ps := make([]string, len(f.Types))
			for i, t := range f.Types {
				ps[i] = w.arg(t)
			}
			w.add("type IN (" + strings.Join(ps, ", ") + ")")
		}
		if f.SubjectID != "" {
			w.add("subject_id = " + w.arg(f.SubjectID))
		}
		if !f.Since.IsZero() {
			w.add("created_at >= " + w.arg(f.Since.UnixMilli()))
		}
	}
	var w where
	filter(&w, f.OwnerID)
	if !f.Installation {
		return page(ctx, q, &w, f.Page, "events", eventColumns, "seq DESC", scanEvent)
	}
	var query string
	if f.Limit > 0 {
		n := w.arg(f.Offset + f.Limit)
		own := eventList + w.String() + ` ORDER BY seq DESC LIMIT ` + n
		w.conds = nil
		filter(&w, "")
		inst := eventList + w.String() + ` ORDER BY seq DESC LIMIT ` + n
		query = `SELECT ` + eventColumns + ` FROM (SELECT * FROM (` + own + `) a UNION ALL SELECT * FROM (` + inst + `) b) u
			ORDER BY created_at DESC, owner_id DESC, seq DESC` + w.limit(f.Limit, f.Offset)
	} else {
		own := w.String()
		w.conds = nil
		filter(&w, "")
		query = eventList + own + ` UNION ALL ` + eventList + w.String() + ` ORDER BY created_at DESC, owner_id DESC, seq DESC`
	}
	rows, err := q.query(ctx, query, w.args...)
	list, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, 0, fmt.Errorf("list events: %w", err)
	}
	if f.Limit <= 0 || (f.Offset == 0 && len(list) < f.Limit) {
		return list, len(list), nil
	}
	total := 0
	for _, owner := range []string{f.OwnerID, ""} {
		var cw where
		filter(&cw, owner)
		var n int
		if err := q.queryRow(ctx, `SELECT count(*) FROM events`+cw.String(), cw.args...).Scan(&n); err != nil {
			return nil, 0, fmt.Errorf("count events: %w", err)
		}
		total += n
	}
	return list, total, nil
}

func (q queries) EventChains(ctx context.Context) ([]keybox.EventChain, error) {
	rows, err := q.query(ctx, `SELECT owner_id, seq, hash, pruned_seq, pruned_hash FROM event_chains ORDER BY owner_id`)
	list, err := collect(rows, err, func(sc scanner) (keybox.EventChain, error) {
		var c keybox.EventChain
		return c, sc.Scan(&c.OwnerID, &c.Seq, &c.Hash, &c.PrunedSeq, &c.PrunedHash)
	})
	if err != nil {
		return nil, fmt.Errorf("event chains: %w", err)
	}
	return list, nil
}

func (q queries) ChainEvents(ctx context.Context, ownerID string, after int64, limit int) ([]keybox.Event, error) {
	rows, err := q.query(ctx, `SELECT `+eventColumns+` FROM events WHERE owner_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
		ownerID, after, limit)
	list, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, fmt.Errorf("chain events: %w", err)
	}
	return list, nil
}

func (t *tx) LastEventBefore(ctx context.Context, ownerID string, before time.Time) (int64, error) {
	var seq sql.NullInt64
	err := t.queryRow(ctx, `SELECT max(seq) FROM events WHERE owner_id = $1 AND created_at < $2`,
		ownerID, before.UnixMilli()).Scan(&seq)
	if err != nil {
		return 0, fmt.Errorf("last event before: %w", err)
	}
	return seq.Int64, nil
}

// PruneEvents removes the start of a chain. The event at through becomes the
// chain's anchor: its hash is what the first remaining event must follow.
func (t *tx) PruneEvents(ctx context.Context, ownerID string, through int64) (int, error) {
	var hash string
	err := t.queryRow(ctx, `SELECT hash FROM events WHERE owner_id = $1 AND seq = $2`, ownerID, through).Scan(&hash)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil // pruned already, by another server
	}
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	res, err := t.exec(ctx, `UPDATE event_chains SET pruned_seq = $2, pruned_hash = $3
		WHERE owner_id = $1 AND pruned_seq < $2`, ownerID, through, hash)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return 0, err // another server pruned as far or further
	}
	res, err = t.exec(ctx, `DELETE FROM events WHERE owner_id = $1 AND seq <= $2`, ownerID, through)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	return int(n), nil
}
