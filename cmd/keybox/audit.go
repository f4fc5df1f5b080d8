package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// auditCommands are keybox audit …: the event log's integrity, checked on
// the database itself.
var auditCommands = []command{
	{name: "verify", offline: true,
		help: "Check every chain of events in the database (KEYBOX_DATABASE_URL): each event's hash\n" +
			"must cover its contents and the event before it, with no number missing up to the\n" +
			"chain's head. Names the first broken link of each broken chain and exits 1.\n" +
			"Keep the heads it prints somewhere else: a chain rewritten to its head would\n" +
			"verify, but not end at the head you kept.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			dbURL := fs.String("database-url", "", "sqlite://PATH or postgres://… (KEYBOX_DATABASE_URL)")
			return func(ctx context.Context, s *session, _ []string) error {
				// Verifying reads hashes only: no secret is needed.
				svc, closeDB, err := offlineService(ctx, s.databaseURL(*dbURL), nil)
				if err != nil {
					return err
				}
				defer closeDB()
				rep, err := svc.VerifyAudit(ctx)
				if err != nil {
					return err
				}
				if err := s.emit(auditJSON(rep), func(w io.Writer) { auditTable(w, rep) }); err != nil {
					return err
				}
				if len(rep.Breaks) > 0 {
					return errAuditBroken
				}
				return nil
			}
		}},
}

var errAuditBroken = errors.New("the event log has been altered (see above)")

func auditJSON(rep licensing.AuditReport) map[string]any {
	chains := make([]map[string]any, len(rep.Chains))
	for i, c := range rep.Chains {
		chains[i] = map[string]any{"owner": c.OwnerID, "seq": c.Seq, "hash": c.Hash, "prunedSeq": c.PrunedSeq, "prunedHash": c.PrunedHash}
	}
	breaks := make([]map[string]any, len(rep.Breaks))
	for i, b := range rep.Breaks {
		breaks[i] = map[string]any{"owner": b.OwnerID, "seq": b.Seq, "event": b.EventID, "reason": b.Reason, "message": b.String()}
	}
	return map[string]any{"ok": len(rep.Breaks) == 0, "events": rep.Events, "chains": chains, "breaks": breaks}
}

func auditTable(w io.Writer, rep licensing.AuditReport) {
	row(w, "CHAIN", "EVENTS", "HEAD", "HEAD HASH")
	for _, c := range rep.Chains {
		owner := c.OwnerID
		if owner == "" {
			owner = "(installation)"
		}
		row(w, owner, fmt.Sprint(c.Seq-c.PrunedSeq), fmt.Sprint(c.Seq), c.Hash)
	}
	for _, b := range rep.Breaks {
		fmt.Fprintln(w, "BROKEN:", b.String())
	}
	if len(rep.Breaks) == 0 {
		fmt.Fprintf(w, "%d events in %d chains verified.\n", rep.Events, len(rep.Chains))
	}
}
