package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox/internal/licensing"
)

// pagingMessage answers a page or limit out of range, on every paged list.
var pagingMessage = fmt.Sprintf("page must be an integer from 1 to %d and limit a positive integer", licensing.MaxPage)

// TestPagingRange: a page so large that its offset would overflow answers
// 400 with the accepted range on every paged list and every engine, instead
// of a 500 (PostgreSQL) or the first page (SQLite). The paged lists are found
// by walking the routes: any GET route without path parameters that answers
// with a "page" member.
func TestPagingRange(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		e.projectWithLicense(token, client, "Website")
		var lists []string
		for _, route := range e.routes() {
			method, path, _ := strings.Cut(route, " ")
			if method != "GET" || strings.Contains(path, "{") || strings.HasPrefix(path, "/app") {
				continue
			}
			if _, paged := e.do("GET", path+"?page=1", token, nil).body["page"]; paged {
				lists = append(lists, path)
			}
		}
		if len(lists) < 3 {
			t.Fatalf("paged lists found: %v, want at least clients, projects and licenses", lists)
		}
		for _, path := range lists {
			for _, q := range []string{
				"page=4611686018427387904", "page=9223372036854775807", "page=99999999999999999999",
				fmt.Sprintf("page=%d", licensing.MaxPage+1), "page=4611686018427387904&limit=4611686018427387904",
				"page=0", "page=-1", "limit=0", "page=1.5", "page=x",
			} {
				if r := e.do("GET", path+"?"+q, token, nil); r.status != 400 || r.body["message"] != pagingMessage {
					t.Errorf("GET %s?%s: got %d %.200s, want 400 %q", path, q, r.status, r.raw, pagingMessage)
				}
			}
			r := e.do("GET", fmt.Sprintf("%s?page=%d&limit=4611686018427387904", path, licensing.MaxPage), token, nil).want(t, 200, "")
			if r.body["page"] != float64(licensing.MaxPage) || r.body["limit"] != 100.0 || r.body["total"] == 0.0 {
				t.Errorf("GET %s on the last page: %.300s", path, r.raw)
			}
			for k, v := range r.body {
				if items, ok := v.([]any); ok && len(items) != 0 {
					t.Errorf("GET %s on the last page lists %s: %.300s", path, k, r.raw)
				}
			}
		}
	})
}
