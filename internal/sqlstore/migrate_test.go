package sqlstore_test

import (
	"io/fs"
	"reflect"
	"testing"

	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlite"
)

// TestMigrationNamesMatch: both engines have the same numbered migrations.
func TestMigrationNamesMatch(t *testing.T) {
	names := func(fsys fs.FS) []string {
		n, err := fs.Glob(fsys, "*.sql")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	lite, pg := names(sqlite.Migrations()), names(postgres.Migrations())
	if len(lite) == 0 || !reflect.DeepEqual(lite, pg) {
		t.Fatalf("sqlite migrations %v, postgres migrations %v: want the same non-empty list", lite, pg)
	}
}
