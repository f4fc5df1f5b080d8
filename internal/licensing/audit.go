package licensing

import (
	"context"
	"fmt"
	"time"

	"github.com/keyboxhq/keybox"
)

// The event log is tamper-evident: each owner's events form a chain in which
// every event's hash covers the hash before it (see keybox.Event.ChainHash),
// and the chain's head (its last sequence number and hash) is kept apart.
// Editing an event changes its hash; deleting one leaves a gap in the
// sequence numbers or a head that no event reaches; inserting one breaks the
// link after it. Someone able to write the database could still rewrite a
// chain from the point of an edit to its head, every hash recomputed:
// keeping the heads that `keybox audit verify` prints somewhere else makes
// that visible too.

// DefaultEventRetention is how long events are kept unless configured.
const DefaultEventRetention = 365 * 24 * time.Hour

// pruneEvery is how often the sweep applies the retention.
const pruneEvery = time.Hour

// AuditBreak is the first broken link of a chain.
type AuditBreak struct {
	OwnerID string // the chain: its owner, "" for the installation
	Seq     int64  // where the chain breaks
	EventID string // the event found there, if any
	Reason  string
}

func (b AuditBreak) String() string {
	chain := "the installation's chain"
	if b.OwnerID != "" {
		chain = "the chain of user " + b.OwnerID
	}
	if b.EventID != "" {
		return fmt.Sprintf("%s: event %s (number %d): %s", chain, b.EventID, b.Seq, b.Reason)
	}
	return fmt.Sprintf("%s: event number %d: %s", chain, b.Seq, b.Reason)
}

// AuditReport is what VerifyAudit found.
type AuditReport struct {
	Chains []keybox.EventChain // every chain, as its head stands
	Events int                 // events checked
	Breaks []AuditBreak        // the first broken link of each broken chain
}

// auditPage is how many events are read at a time.
const auditPage = 1000

// VerifyAudit checks every chain of events from where retention left it to
// its head, and reports the first broken link of each.
func (s *Service) VerifyAudit(ctx context.Context) (AuditReport, error) {
	chains, err := s.store.EventChains(ctx)
	if err != nil {
		return AuditReport{}, fmt.Errorf("audit: %w", err)
	}
	rep := AuditReport{Chains: chains}
	for _, c := range chains {
		n, brk, err := s.verifyChain(ctx, c)
		rep.Events += n
		if err != nil {
			return rep, err
		}
		if brk != nil {
			rep.Breaks = append(rep.Breaks, *brk)
		}
	}
	return rep, nil
}

func (s *Service) verifyChain(ctx context.Context, c keybox.EventChain) (int, *AuditBreak, error) {
	seq, prev, checked := c.PrunedSeq, c.PrunedHash, 0
	brk := func(at int64, id, reason string) *AuditBreak {
		return &AuditBreak{OwnerID: c.OwnerID, Seq: at, EventID: id, Reason: reason}
	}
	for {
		page, err := s.store.ChainEvents(ctx, c.OwnerID, seq, auditPage)
		if err != nil {
			return checked, nil, fmt.Errorf("audit: %w", err)
		}
		for _, e := range page {
			checked++
			switch {
			case e.Seq != seq+1:
				return checked, brk(seq+1, "", fmt.Sprintf("missing (the next event stored is number %d, %s)", e.Seq, e.ID)), nil
			case e.PrevHash != prev:
				return checked, brk(e.Seq, e.ID, "does not follow the event before it (its previous hash differs)"), nil
			case e.ChainHash(prev) != e.Hash:
				return checked, brk(e.Seq, e.ID, "was changed after it was written (its hash does not match its contents)"), nil
			}
			seq, prev = e.Seq, e.Hash
		}
		if len(page) < auditPage {
			break
		}
	}
	switch {
	case seq < c.Seq:
		return checked, brk(seq+1, "", fmt.Sprintf("missing (the chain's head is number %d)", c.Seq)), nil
	case seq > c.Seq:
		return checked, brk(c.Seq+1, "", "beyond the chain's head"), nil
	case prev != c.Hash:
		return checked, brk(seq, "", "is not the chain's head (the head's hash differs)"), nil
	}
	return checked, nil, nil
}

// PruneEvents applies the retention: it deletes events older than it, each
// chain keeping the hash of the last one removed so that it still verifies,
// and deliveries that are done and as old. It returns how many events it
// deleted. A retention of zero or less keeps everything.
func (s *Service) PruneEvents(ctx context.Context) (int, error) {
	if s.retention <= 0 {
		return 0, nil
	}
	before := s.clock().Add(-s.retention)
	chains, err := s.store.EventChains(ctx)
	if err != nil {
		return 0, fmt.Errorf("prune events: %w", err)
	}
	total := 0
	for _, c := range chains {
		n := 0
		err := s.store.Update(ctx, func(tx keybox.Tx) error {
			through, err := tx.LastEventBefore(ctx, c.OwnerID, before)
			if err != nil || through <= c.PrunedSeq {
				return err
			}
			n, err = tx.PruneEvents(ctx, c.OwnerID, through)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += n
	}
	err = s.store.Update(ctx, func(tx keybox.Tx) error {
		_, err := tx.PruneDeliveries(ctx, before)
		return err
	})
	if err != nil {
		return total, fmt.Errorf("prune deliveries: %w", err)
	}
	return total, nil
}

// maybePrune applies the retention at most once every pruneEvery.
func (s *Service) maybePrune(ctx context.Context) {
	now := s.clock()
	if !s.lastPrune.IsZero() && now.Sub(s.lastPrune) < pruneEvery && !now.Before(s.lastPrune) {
		return
	}
	s.lastPrune = now
	if n, err := s.PruneEvents(ctx); err != nil {
		if ctx.Err() == nil {
			s.log.Error("event retention", "error", err)
		}
	} else if n > 0 {
		s.log.Info("event retention", "deleted", n)
	}
}
