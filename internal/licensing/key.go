package licensing

import (
	"crypto/rand"
	"fmt"
	"io"
)

// keyAlphabet is Crockford's base32: no I, L, O or U, so a key read aloud or
// copied by hand is not misread.
const keyAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// keySymbols × 5 bits = 100 bits of entropy, well above the 80 bits that
// make guessing a key hopeless.
const keySymbols = 20

// newKey returns a key such as KB-7QX2M-9HD4T-KAW3E-PZ81C read from r
// (crypto/rand when nil).
func newKey(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var raw [13]byte // 104 bits, of which 100 are used
	if _, err := io.ReadFull(r, raw[:]); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	out := make([]byte, 0, 3+keySymbols+keySymbols/5-1)
	out = append(out, "KB"...)
	var acc uint32
	bits := 0
	n := 0
	for _, b := range raw {
		acc = acc<<8 | uint32(b)
		bits += 8
		for bits >= 5 && n < keySymbols {
			bits -= 5
			if n%5 == 0 {
				out = append(out, '-')
			}
			out = append(out, keyAlphabet[(acc>>bits)&31])
			n++
		}
	}
	return string(out), nil
}

// validImportedKey reports whether a developer-supplied key is acceptable:
// 4 to 128 printable ASCII characters without spaces.
func validImportedKey(k string) bool {
	if len(k) < 4 || len(k) > 128 {
		return false
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
