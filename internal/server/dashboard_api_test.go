package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/signin/signintest"
)

// What the web dashboard asks of the API beyond KeyBox's: the state of
// signup for its first page, whether the caller has a password, and
// license lists in the order a person chooses, with their seats in use.

// TestSignupStatus: a fresh installation says so, and that signup is open;
// after the first account it says accounts exist; with signup closed it says
// so. Nothing else about any account is in the answer.
func TestSignupStatus(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		fresh := e.do("GET", "/auth/signup", "", nil).want(t, 200, "")
		if fresh.body["signup"] != "open" || fresh.body["hasAccounts"] != false || len(fresh.body) != 2 {
			t.Fatalf("a fresh installation: %s, want signup open and no accounts, nothing else", fresh.raw)
		}
		e.signup("Ada", "ada@example.com")
		after := e.do("GET", "/auth/signup", "", nil).want(t, 200, "")
		if after.body["signup"] != "open" || after.body["hasAccounts"] != true || len(after.body) != 2 {
			t.Fatalf("after the first signup: %s, want signup open and accounts", after.raw)
		}
	})
	t.Run("closed", func(t *testing.T) {
		e := newEnv(t, storeSQLite(t), signupClosed())
		if r := e.do("GET", "/auth/signup", "", nil).want(t, 200, ""); r.body["signup"] != "closed" || r.body["hasAccounts"] != false {
			t.Fatalf("signup closed on a fresh installation: %s", r.raw)
		}
		e.do("POST", "/auth/signup", "", map[string]string{"name": "Eve", "email": "eve@example.com", "password": "correct horse", "confirm_password": "correct horse"}).
			want(t, 403, "Signup is disabled")
		if r := e.do("GET", "/auth/signup", "", nil).want(t, 200, ""); r.body["hasAccounts"] != false {
			t.Fatalf("a refused signup made an account: %s", r.raw)
		}
	})
}

// TestMeHasPassword: an account made with a password says it has one; one
// made through a sign-in provider says it has none until it sets one,
// without a current password, and then needs it like any other.
func TestMeHasPassword(t *testing.T) {
	forEngine(t, func(t *testing.T, open func(testing.TB) keybox.Store) {
		se := newSignInEnv(t, open(t))
		_, token := se.developer("ada@example.com")
		if r := se.do("GET", "/auth/me", token, nil).want(t, 200, ""); r.body["hasPassword"] != true {
			t.Fatalf("an account with a password: %s", r.raw)
		}
		se.idp.SignInAs(signintest.User{Subject: "kc-bob", Email: "bob@example.com", EmailVerified: true, Name: "Bob"})
		bob := se.signedIn("/auth/oidc").str("token")
		if r := se.do("GET", "/auth/me", bob, nil).want(t, 200, ""); r.body["hasPassword"] != false {
			t.Fatalf("an account made through a provider: %s, want hasPassword false", r.raw)
		}
		bob = se.do("PATCH", "/auth/password", bob, map[string]any{"password": "bob's password", "confirm_password": "bob's password"}).
			want(t, 200, "Password updated successfully").str("token")
		if r := se.do("GET", "/auth/me", bob, nil).want(t, 200, ""); r.body["hasPassword"] != true {
			t.Fatalf("after setting a first password: %s, want hasPassword true", r.raw)
		}
		se.do("PATCH", "/auth/password", bob, map[string]any{"password": "another one", "confirm_password": "another one"}).
			want(t, 400, "All fields are required")
	})
}

// TestLicenseListOrder: GET /license sorts by creation, expiry or status,
// either way, ties newest first, licenses never activated last by expiry;
// a wrong sort or order is refused with what is accepted, nothing listed.
func TestLicenseListOrder(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		project, _ := e.projectWithLicense(token, client, "Website")
		// Made a minute apart: a (activated for 12 months), b (never
		// activated), c (activated for 3 months, then revoked), d (activated
		// for 1 month, then past its expiry: EXPIRED now).
		made := map[string]string{}
		for _, name := range []string{"a", "b", "c", "d"} {
			e.clock.Add(time.Minute)
			duration := map[string]int{"a": 12, "b": 6, "c": 3, "d": 1}[name]
			r := e.do("POST", "/license/create", token, map[string]any{
				"clientId": client, "projectId": project, "duration": duration, "services": []string{"Hosting"}, "key": "KEY-" + name,
			}).want(t, 201, "")
			made[name] = r.obj("license")["key"].(string)
		}
		for _, name := range []string{"a", "c", "d"} {
			e.do("POST", "/validate/activate", "", map[string]string{"key": made[name], "machineId": "m-" + name}).want(t, 200, "")
		}
		e.do("PATCH", "/license/revoke/KEY-c", token, nil).want(t, 200, "")
		e.clock.Add(40 * 24 * time.Hour) // d has expired
		token = e.login("ada@example.com")

		// The order of the four, by their last letter (the project's first
		// license, with a generated key, is left out).
		order := func(query string) string {
			t.Helper()
			r := e.do("GET", "/license?projectId="+project+"&"+query, token, nil).want(t, 200, "")
			var keys strings.Builder
			for _, l := range r.list("licenses") {
				if k := l.(map[string]any)["key"].(string); len(k) == 5 {
					keys.WriteString(k[4:])
				}
			}
			return keys.String()
		}
		cases := []struct{ query, want string }{
			{"", "dcba"},
			{"order=desc", "dcba"},
			{"order=asc", "abcd"},
			{"sort=createdAt", "dcba"},
			{"sort=createdAt&order=asc", "abcd"},
			{"sort=expiresAt", "dcab"},            // d then c (sooner), a; b never activated
			{"sort=expiresAt&order=desc", "acdb"}, // b still last
			{"sort=status", "adbc"},               // ACTIVE, EXPIRED, PENDING, REVOKED
			{"sort=status&order=desc", "cbda"},
			{"sort=status&order=DESC&status=ACTIVE", "a"},
		}
		for _, tc := range cases {
			if got := order(tc.query); got != tc.want {
				t.Errorf("GET /license?%s: got %s, want %s", tc.query, got, tc.want)
			}
		}
		for _, tc := range []struct{ query, message string }{
			{"sort=name", "Invalid sort: use createdAt, expiresAt or status"},
			{"sort=created_at", "Invalid sort: use createdAt, expiresAt or status"},
			{"sort=expiresAt%3B+DROP+TABLE+licenses", "Invalid sort: use createdAt, expiresAt or status"},
			{"order=up", "Invalid order: use asc or desc"},
			{"sort=status&order=ascending", "Invalid order: use asc or desc"},
		} {
			r := e.do("GET", "/license?"+tc.query, token, nil).want(t, 400, tc.message)
			if _, listed := r.body["licenses"]; listed {
				t.Errorf("GET /license?%s listed licenses with its 400: %s", tc.query, r.raw)
			}
		}
		if got := order("sort=status"); got != "adbc" {
			t.Fatalf("the licenses are no longer all there after the refusals: %v", got)
		}
	})
}

// TestSeatsInUseInLists: the license list and the dashboard's tree give each
// license its seats in use now, a lapsed lease's seat not counted, read in
// a bounded number of queries; another developer's list counts none of them.
func TestSeatsInUseInLists(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, token := e.developer("ada@example.com")
		client := e.client(token, "Acme", "acme@example.com")
		project, first := e.projectWithLicense(token, client, "Website")
		leased := e.do("POST", "/license/create", token, map[string]any{
			"clientId": client, "projectId": project, "duration": 12, "services": []string{"Hosting"},
			"maxMachines": 3, "leaseSeconds": 60,
		}).want(t, 201, "").obj("license")["key"].(string)
		for _, m := range []string{"laptop", "desktop"} {
			e.do("POST", "/validate/activate", "", map[string]string{"key": leased, "machineId": m}).want(t, 200, "")
		}
		e.do("POST", "/validate/activate", "", map[string]string{"key": first, "machineId": "server"}).want(t, 200, "")
		e.clock.Add(45 * time.Second)
		e.do("POST", "/validate/heartbeat", "", map[string]string{"key": leased, "machineId": "laptop"}).want(t, 200, "")
		e.clock.Add(30 * time.Second) // the desktop has been silent 75 s: its seat lapsed

		want := map[string]float64{first: 1, leased: 1}
		seats := func(licenses []any) map[string]float64 {
			out := map[string]float64{}
			for _, l := range licenses {
				m := l.(map[string]any)
				n, ok := m["seatsInUse"].(float64)
				if !ok {
					t.Fatalf("license %v has no seatsInUse", m["key"])
				}
				out[m["key"].(string)] = n
			}
			return out
		}
		if got := seats(e.do("GET", "/license", token, nil).want(t, 200, "").list("licenses")); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("GET /license seats in use: got %v, want %v", got, want)
		}
		tree := e.do("GET", "/dashboard?clientId="+client, token, nil).want(t, 200, "")
		var inTree []any
		for _, p := range tree.list("data")[0].(map[string]any)["projects"].([]any) {
			inTree = append(inTree, p.(map[string]any)["licenses"].([]any)...)
		}
		if got := seats(inTree); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("GET /dashboard seats in use: got %v, want %v", got, want)
		}
		if got := e.do("GET", "/license/"+leased, token, nil).want(t, 200, "").body["seatsInUse"]; got != 1.0 {
			t.Errorf("the license's own page counts %v seats, want 1 as in the lists", got)
		}

		// Another developer with a license of their own sees only theirs.
		_, bob := e.developer("bob@example.com")
		bc := e.client(bob, "Bob's", "b@example.com")
		_, bk := e.projectWithLicense(bob, bc, "Tool")
		if got := seats(e.do("GET", "/license", bob, nil).want(t, 200, "").list("licenses")); fmt.Sprint(got) != fmt.Sprint(map[string]float64{bk: 0}) {
			t.Errorf("Bob's list: %v, want his one license without seats", got)
		}
	})
}
