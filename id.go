package keybox

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// IDs is a source of ids in MongoDB ObjectId form: 4 bytes of big-endian Unix
// seconds, 5 random bytes fixed per source, and a 3-byte counter, written as
// 24 lower-case hex characters.
type IDs struct {
	random  [5]byte
	counter atomic.Uint32
}

// NewIDs returns an id source seeded from r (crypto/rand when nil).
func NewIDs(r io.Reader) (*IDs, error) {
	if r == nil {
		r = rand.Reader
	}
	var seed [9]byte
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, fmt.Errorf("seed id source: %w", err)
	}
	g := &IDs{}
	copy(g.random[:], seed[:5])
	g.counter.Store(binary.BigEndian.Uint32(seed[5:]))
	return g, nil
}

// New returns a fresh id stamped with t.
func (g *IDs) New(t time.Time) string {
	var b [12]byte
	binary.BigEndian.PutUint32(b[0:4], uint32(t.Unix()))
	copy(b[4:9], g.random[:])
	c := g.counter.Add(1)
	b[9], b[10], b[11] = byte(c>>16), byte(c>>8), byte(c)
	return hex.EncodeToString(b[:])
}

// IsID reports whether s has the form of an id: 24 lower-case hex characters.
func IsID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
