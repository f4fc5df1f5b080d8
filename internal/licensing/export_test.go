package licensing

import (
	"context"

	"github.com/keyboxhq/keybox"
)

// ActiveSigningKey returns the key that signs, decrypted, for tests that
// check what the database holds against it.
func (s *Service) ActiveSigningKey(ctx context.Context) (keybox.SigningKey, error) {
	return s.activeKey(ctx)
}
