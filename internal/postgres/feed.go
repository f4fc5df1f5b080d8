package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/sqlstore"
)

// feedChannel is where the triggers of migration 0012 announce changes.
const feedChannel = "keybox_licenses"

// maxFeedKeys bounds the keys one round holds; a round that hears of more
// reports all.
const maxFeedKeys = 10_000

// maxFeedWait bounds how long a round waits for its own notification to
// come back before it takes the connection for lost.
const maxFeedWait = 10 * time.Second

// watchLicenses is the change feed on PostgreSQL: LISTEN on a connection of
// its own, outside the pool. Notifications arrive in commit order, so a
// round sends one of its own and, when it comes back, every change
// committed before it was sent has arrived. When the connection is lost it
// connects again, and the first round after reports all.
func watchLicenses(cfg *pgx.ConnConfig) func(context.Context, func() keybox.LicenseChanges) error {
	return func(ctx context.Context, round func() keybox.LicenseChanges) error {
		wait := 100 * time.Millisecond
		for {
			err := listen(ctx, cfg, round)
			if ctx.Err() != nil {
				return nil
			}
			if err == nil {
				wait = 100 * time.Millisecond
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			wait = min(2*wait, 5*time.Second)
		}
	}
}

// listen runs rounds on one connection until it fails or ctx ends.
func listen(ctx context.Context, cfg *pgx.ConnConfig, round func() keybox.LicenseChanges) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("change feed: connect: %w", err)
	}
	defer func() { _ = conn.Close(context.WithoutCancel(ctx)) }()
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	if _, err := conn.Exec(ctx, `LISTEN `+feedChannel); err != nil {
		return fmt.Errorf("change feed: %w", err)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	pingPrefix := "p\n" + hex.EncodeToString(id[:]) + "\n"
	changePrefix := "k\n" + schema + "\n"
	var pending []string // keys heard since the last round ended
	all := true          // the first round: anything may have changed before LISTEN
	take := func(payload string) {
		key, ok := strings.CutPrefix(payload, changePrefix)
		switch {
		case !ok || all:
		case len(pending) == maxFeedKeys: // a bulk import: forgetting all is cheaper
			pending, all = nil, true
		default:
			pending = append(pending, key)
		}
	}
	for n := uint64(1); ; n++ {
		done := round()
		ping := pingPrefix + strconv.FormatUint(n, 10)
		if _, err := conn.Exec(ctx, `SELECT pg_notify($1, $2)`, feedChannel, ping); err != nil {
			return fmt.Errorf("change feed: %w", err)
		}
		if err := awaitPing(ctx, conn, ping, take); err != nil {
			return err
		}
		done(pending, all)
		pending, all = nil, false
		if err := idle(ctx, conn, take); err != nil {
			return err
		}
	}
}

// awaitPing takes notifications until ping comes back.
func awaitPing(ctx context.Context, conn *pgx.Conn, ping string, take func(string)) error {
	wctx, cancel := context.WithTimeout(ctx, maxFeedWait)
	defer cancel()
	for {
		nt, err := conn.WaitForNotification(wctx)
		if err != nil {
			return fmt.Errorf("change feed: %w", err)
		}
		if nt.Payload == ping {
			return nil
		}
		take(nt.Payload)
	}
}

// idle takes notifications until the next round is due.
func idle(ctx context.Context, conn *pgx.Conn, take func(string)) error {
	wctx, cancel := context.WithTimeout(ctx, sqlstore.FeedInterval)
	defer cancel()
	for {
		nt, err := conn.WaitForNotification(wctx)
		if err != nil {
			if wctx.Err() != nil && ctx.Err() == nil {
				return nil // the round is due
			}
			return fmt.Errorf("change feed: %w", err)
		}
		take(nt.Payload)
	}
}
