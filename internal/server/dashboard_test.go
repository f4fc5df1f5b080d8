package server_test

import (
	"fmt"
	"testing"
	"time"
)

func TestDashboard(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		empty := e.client(token, "Empty", "empty@example.com")
		p, _ := e.projectWithLicense(token, acme, "Website")
		e.do("POST", "/license/create", token, map[string]any{"duration": 2, "clientId": acme, "projectId": p, "maxMachines": 3}).want(t, 201, "")
		e.do("POST", "/projects", token, map[string]any{"clientId": acme, "name": "No licenses yet"}).want(t, 201, "")
		// Another developer's objects never show.
		_, bob := e.developer("bob@example.com")
		e.projectWithLicense(bob, e.client(bob, "Bob's", "x@example.com"), "Hidden")

		r := e.do("GET", "/dashboard", token, nil).want(t, 200, "Dashboard fetched successfully")
		golden(t, "dashboard", r.raw)
		if r.body["clientsCount"] != 2.0 || r.body["projectsCount"] != 2.0 {
			t.Fatalf("counts: %s", r.raw)
		}

		byQuery := e.do("GET", "/dashboard?clientId="+empty, token, nil).want(t, 200, "Dashboard fetched successfully")
		byBody := e.do("GET", "/dashboard", token, map[string]any{"clientId": empty}).want(t, 200, "Dashboard fetched successfully")
		if string(byQuery.raw) != string(byBody.raw) || byQuery.body["clientsCount"] != 1.0 || byQuery.body["projectsCount"] != 0.0 {
			t.Fatalf("filter by query %s, by body %s", byQuery.raw, byBody.raw)
		}
		if projects := byQuery.list("data")[0].(map[string]any)["projects"].([]any); len(projects) != 0 {
			t.Fatalf("an empty client keeps an empty projects array: %s", byQuery.raw)
		}
		e.do("GET", "/dashboard?clientId=000000000000000000000000", token, nil).want(t, 404, "Client not found")
		e.do("GET", "/dashboard", bob, map[string]any{"clientId": acme}).want(t, 404, "Client not found")
	})
}

// TestDashboardQueryCount: the dashboard reads with a fixed number of
// queries, however many clients, projects and licenses there are.
func TestDashboardQueryCount(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		queries := func() int64 {
			before := e.store.Stats().Queries
			e.do("GET", "/dashboard", token, nil).want(t, 200, "Dashboard fetched successfully")
			return e.store.Stats().Queries - before
		}
		add := func(n int) {
			for i := range n {
				c := e.client(token, "C", fmt.Sprintf("c%d-%d@example.com", n, i))
				for j := range 2 {
					p, _ := e.projectWithLicense(token, c, fmt.Sprintf("P%d", j))
					e.do("POST", "/license/create", token, map[string]any{"duration": 1, "clientId": c, "projectId": p}).want(t, 201, "")
				}
			}
		}
		add(1)
		small := queries()
		add(30)
		large := queries()
		if small != large || small > 5 {
			t.Fatalf("GET /dashboard ran %d queries for 1 client and %d for 31: want the same small number", small, large)
		}
	})
}

func TestDashboardStats(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		acme := e.client(token, "Acme", "acme@example.com")
		p, soon := e.projectWithLicense(token, acme, "Website")
		e.seat(soon, "m") // 3 months from now
		r := e.do("POST", "/license/create", token, map[string]any{"duration": 12, "clientId": acme, "projectId": p}).want(t, 201, "")
		later := r.obj("license")["key"].(string)
		e.seat(later, "m")
		e.do("POST", "/license/create", token, map[string]any{"duration": 1, "clientId": acme, "projectId": p}).want(t, 201, "")
		_, revoked := e.projectWithLicense(token, acme, "Gone")
		e.do("PATCH", "/license/revoke/"+revoked, token, nil).want(t, 200, "")

		e.clock.Add(70 * 24 * time.Hour) // "soon" now expires in about 20 days
		token = e.login("ada@example.com")
		st := e.do("GET", "/dashboard/stats", token, nil).want(t, 200, "")
		golden(t, "dashboard_stats", st.raw)
		counts := st.obj("counts")
		if counts["total"] != 4.0 || counts["ACTIVE"] != 2.0 || counts["PENDING"] != 1.0 || counts["REVOKED"] != 1.0 || counts["EXPIRED"] != 0.0 {
			t.Fatalf("counts: %v", counts)
		}
		soonList := st.obj("expiringSoon")
		if soonList["count"] != 1.0 || soonList["licenses"].([]any)[0].(map[string]any)["key"] != soon {
			t.Fatalf("expiring soon: %v", soonList)
		}
		if days := st.list("validations"); len(days) != 30 || days[29].(map[string]any)["date"] != e.clock.Now().Format("2006-01-02") {
			t.Fatalf("validations: want 30 days ending today, got %v", days)
		}
	})
}
