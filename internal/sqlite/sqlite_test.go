package sqlite_test

import (
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t testing.TB) keybox.Store { return storetest.SQLite(t) })
}
