package server_test

import (
	"bytes"
	"net/http/httptest"
	"testing"

	"github.com/keyboxhq/keybox/internal/storetest"
)

// BenchmarkValidate: POST /validate for a key that holds a seat on the
// machine asking, served in-process (no network), so that its time and
// allocations are the server's own: the route, the adapter, decoding,
// judging from the in-memory cache and encoding.
//
//	go test -run '^$' -bench Validate -benchmem ./internal/server/
func BenchmarkValidate(b *testing.B) {
	e := newEnv(b, storetest.SQLite(b))
	_, token := e.developer("ada@example.com")
	_, key := e.projectWithLicense(token, e.client(token, "Acme", "acme@example.com"), "Website")
	e.seat(key, "laptop")
	body := []byte(`{"key":"` + key + `","machineId":"laptop"}`)
	validate := func() {
		w := httptest.NewRecorder()
		e.server.ServeHTTP(w, httptest.NewRequest("POST", "/validate", bytes.NewReader(body)))
		if w.Code != 200 || !bytes.Contains(w.Body.Bytes(), []byte(`"valid":true`)) {
			b.Fatalf("POST /validate: %d %s", w.Code, w.Body)
		}
	}
	validate() // load the key into the cache
	b.ReportAllocs()
	for b.Loop() {
		validate()
	}
}
