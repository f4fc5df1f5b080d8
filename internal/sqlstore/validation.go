package sqlstore

import (
	"context"
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/keyboxhq/keybox"
)

func (q queries) Validations(ctx context.Context, ownerID string, from, to keybox.Day) ([]keybox.DailyCount, error) {
	rows, err := q.query(ctx, `SELECT day, sum(count) FROM validation_counts
		WHERE owner_id = $1 AND day >= $2 AND day <= $3 GROUP BY day ORDER BY day`, ownerID, int(from), int(to))
	list, err := collect(rows, err, func(sc scanner) (keybox.DailyCount, error) {
		var d keybox.DailyCount
		return d, sc.Scan(&d.Day, &d.Count)
	})
	if err != nil {
		return nil, fmt.Errorf("validations: %w", err)
	}
	return list, nil
}

// flushRows is the most rows one statement of RecordValidations writes.
// Not more: the SQLite driver looks each parameter up by its position in a
// list, so a statement costs the square of its parameters; 64 rows used
// half the CPU of a statement per row, 256 rows only a fifth less.
// Fewer rows go in chunks of powers of two, so that a handful of statement
// texts, each prepared once, serve every size of batch.
const flushRows = 64

// chunk returns how many of n rows the next statement writes.
func chunk(n int) int {
	if n >= flushRows {
		return flushRows
	}
	return 1 << (bits.Len(uint(n)) - 1)
}

// RecordValidations adds the counts and moves each seat's last-validated
// time forward, in one transaction, a statement for up to flushRows rows.
func (s *Store) RecordValidations(ctx context.Context, counts []keybox.ValidationCount, seen []keybox.ActivationSeen) error {
	counts, seen = mergeCounts(counts), latestSeen(seen)
	if len(counts) == 0 && len(seen) == 0 {
		return nil
	}
	return s.Update(ctx, func(ktx keybox.Tx) error {
		t := ktx.(*tx)
		for rest := counts; len(rest) > 0; {
			n := chunk(len(rest))
			args := make([]any, 0, 4*n)
			for _, c := range rest[:n] {
				args = append(args, c.LicenseID, c.OwnerID, int(c.Day), c.Count)
			}
			if _, err := t.exec(ctx, addCounts(n), args...); err != nil {
				return fmt.Errorf("record validations: %w", err)
			}
			rest = rest[n:]
		}
		for rest := seen; len(rest) > 0; {
			n := chunk(len(rest))
			args := make([]any, 0, 2*n)
			for _, a := range rest[:n] {
				args = append(args, a.ActivationID, a.At.UnixMilli())
			}
			if _, err := t.exec(ctx, markSeen(n), args...); err != nil {
				return fmt.Errorf("record last validation: %w", err)
			}
			rest = rest[n:]
		}
		return nil
	})
}

// addCounts is the upsert of n daily counts.
func addCounts(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO validation_counts (license_id, owner_id, day, count) VALUES `)
	values(&b, n, 4, func(b *strings.Builder, p int) { b.WriteString("$" + strconv.Itoa(p)) })
	b.WriteString(` ON CONFLICT (license_id, day) DO UPDATE SET count = validation_counts.count + excluded.count`)
	return b.String()
}

// markSeen moves the last-validated time of n seats forward, never back.
func markSeen(n int) string {
	var b strings.Builder
	b.WriteString(`WITH seen (id, at) AS (VALUES `)
	values(&b, n, 2, func(b *strings.Builder, p int) {
		if p%2 == 0 { // the time: typed, for PostgreSQL, which cannot infer it from a VALUES list
			b.WriteString("CAST($" + strconv.Itoa(p) + " AS BIGINT)")
			return
		}
		b.WriteString("$" + strconv.Itoa(p))
	})
	b.WriteString(`) UPDATE activations SET last_validated_at = seen.at FROM seen
		WHERE activations.id = seen.id AND (activations.last_validated_at IS NULL OR activations.last_validated_at < seen.at)`)
	return b.String()
}

// values writes n tuples of width placeholders, numbered from $1.
func values(b *strings.Builder, n, width int, param func(b *strings.Builder, p int)) {
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for j := range width {
			if j > 0 {
				b.WriteString(", ")
			}
			param(b, i*width+j+1)
		}
		b.WriteByte(')')
	}
}

// mergeCounts adds up counts of the same license and day: one statement
// may not upsert a row twice (PostgreSQL refuses).
func mergeCounts(counts []keybox.ValidationCount) []keybox.ValidationCount {
	type key struct {
		license string
		day     keybox.Day
	}
	at := make(map[key]int, len(counts))
	out := counts[:0:0]
	for _, c := range counts {
		k := key{c.LicenseID, c.Day}
		if i, ok := at[k]; ok {
			out[i].Count += c.Count
			continue
		}
		at[k] = len(out)
		out = append(out, c)
	}
	return out
}

// latestSeen keeps the latest time of each seat: an UPDATE … FROM with one
// row twice may apply either.
func latestSeen(seen []keybox.ActivationSeen) []keybox.ActivationSeen {
	at := make(map[string]int, len(seen))
	out := seen[:0:0]
	for _, a := range seen {
		if i, ok := at[a.ActivationID]; ok {
			if a.At.After(out[i].At) {
				out[i].At = a.At
			}
			continue
		}
		at[a.ActivationID] = len(out)
		out = append(out, a)
	}
	return out
}
