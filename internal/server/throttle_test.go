package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/internal/postgres"
	"github.com/keyboxhq/keybox/internal/sqlstore"
	"github.com/keyboxhq/keybox/internal/storetest"
)

// The tests of the limits on accounts (login, signup, password change,
// imported keys) and of limits taken before the work they guard, under
// bursts, on one server and on two sharing PostgreSQL.

var (
	adaWrong = map[string]any{"email": "ada@example.com", "password": "wrong password"}
	adaRight = map[string]any{"email": "ada@example.com", "password": "correct horse"}
)

func from(ip string) map[string]string { return map[string]string{"X-Forwarded-For": ip} }

// burst sends n requests at once (send builds request i and returns its
// URL, path, client address and body) and counts the answers by status.
func burst(t *testing.T, n int, send func(i int) (base, path, ip string, body any)) map[int]int {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	got := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		base, path, ip, body := send(i)
		enc, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			<-start
			req, err := http.NewRequestWithContext(context.Background(), "POST", base+path, bytes.NewReader(enc))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("X-Forwarded-For", ip)
			resp, err := client.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			mu.Lock()
			got[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return got
}

// TestLoginBurstChecksOnlyTheLimit: 200 wrong passwords at once for one
// email from one address; only the limit's number are checked (the failure
// is counted before the check, not after it), the rest answer 429.
func TestLoginBurstChecksOnlyTheLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.signup("Ada", "ada@example.com")
		before := e.passwords.Checks()
		got := burst(t, 200, func(int) (string, string, string, any) {
			return e.url, "/auth/login", "198.51.100.7", adaWrong
		})
		if checked := e.passwords.Checks() - before; checked != 10 || got[401] != 10 || got[429] != 190 {
			t.Fatalf("200 wrong logins at once: %d passwords checked, answers %v; want 10 checked, 10 × 401, 190 × 429", checked, got)
		}
		want429(t, e.doFrom("POST", "/auth/login", from("198.51.100.7"), adaRight), "900")
		e.doFrom("POST", "/auth/login", from("198.51.100.8"), adaRight).want(t, 200, "Login successful")
	}, withRateLimits("127.0.0.0/8"))
}

// TestGuessBurstAnswersOnlyTheLimit: 200 unknown keys at once from one
// address; 30 are answered, the rest refused.
func TestGuessBurstAnswersOnlyTheLimit(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		got := burst(t, 200, func(i int) (string, string, string, any) {
			return e.url, "/validate", "203.0.113.5", map[string]any{"key": fmt.Sprintf("KB-GUESS-%03d", i)}
		})
		if got[200] != 30 || got[429] != 170 {
			t.Fatalf("200 unknown keys at once: answers %v, want 30 × 200 and 170 × 429", got)
		}
	}, withRateLimits("127.0.0.0/8"))
}

// TestOthersCannotLockAnOwnerOut: wrong passwords for Ada from ten other
// addresses, each until it is cut off, do not keep Ada out from hers.
func TestOthersCannotLockAnOwnerOut(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.signup("Ada", "ada@example.com")
		for i := 1; i <= 10; i++ {
			attempts := 12
			if i == 10 {
				attempts = 5 // 95 failures in all, under the ceiling for one email
			}
			ip := fmt.Sprintf("198.51.100.%d", i)
			for j := range attempts {
				r := e.doFrom("POST", "/auth/login", from(ip), adaWrong)
				if j < 10 {
					r.want(t, 401, "Invalid credentials")
				} else {
					want429(t, r, "900")
				}
			}
		}
		e.doFrom("POST", "/auth/login", from("203.0.113.1"), adaRight).want(t, 200, "Login successful")
		// The attackers' addresses stay cut off for Ada, right password or not.
		want429(t, e.doFrom("POST", "/auth/login", from("198.51.100.1"), adaRight), "900")
	}, withRateLimits("127.0.0.0/8"))
}

// TestLoginCeilingPerEmail: 100 failures for one email from many addresses
// close it to every address, the owner's too, for the rest of the window.
func TestLoginCeilingPerEmail(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		e.signup("Ada", "ada@example.com")
		e.signup("Bob", "bob@example.com")
		for i := range 100 {
			ip := fmt.Sprintf("198.51.%d.%d", 100+i/5, 1+i%5) // 20 addresses, 5 each
			e.doFrom("POST", "/auth/login", from(ip), adaWrong).want(t, 401, "Invalid credentials")
		}
		e.clock.Add(5 * time.Minute)
		want429(t, e.doFrom("POST", "/auth/login", from("203.0.113.1"), adaRight), "600")
		// Another account, from one of those addresses, is not affected.
		e.doFrom("POST", "/auth/login", from("198.51.100.1"),
			map[string]any{"email": "bob@example.com", "password": "correct horse"}).want(t, 200, "Login successful")
		e.clock.Add(10 * time.Minute)
		e.doFrom("POST", "/auth/login", from("203.0.113.1"), adaRight).want(t, 200, "Login successful")
	}, withRateLimits("127.0.0.0/8"))
}

// TestLoginLimitPerIP: 30 failures from one address, each for another
// email, cut that address off for every account.
func TestLoginLimitPerIP(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), withRateLimits("127.0.0.0/8"))
	e.signup("Bob", "bob@example.com")
	bob := map[string]any{"email": "bob@example.com", "password": "correct horse"}
	for i := range 30 {
		e.doFrom("POST", "/auth/login", from("203.0.113.9"),
			map[string]any{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "x"}).want(t, 401, "Invalid credentials")
	}
	want429(t, e.doFrom("POST", "/auth/login", from("203.0.113.9"), bob), "900")
	e.doFrom("POST", "/auth/login", from("203.0.113.10"), bob).want(t, 200, "Login successful")
	// An IPv6 client counts as its /64: another address in it does not help.
	for i := range 30 {
		e.doFrom("POST", "/auth/login", from(fmt.Sprintf("2001:db8:1:2::%x", i+1)),
			map[string]any{"email": fmt.Sprintf("nobody%d@example.com", i), "password": "x"}).want(t, 401, "Invalid credentials")
	}
	want429(t, e.doFrom("POST", "/auth/login", from("2001:db8:1:2:ffff::1"), bob), "900")
	e.doFrom("POST", "/auth/login", from("2001:db8:1:3::1"), bob).want(t, 200, "Login successful")
}

// TestSuccessfulLoginIsNotCounted: a login that succeeds gives back the
// failure counted before its check.
func TestSuccessfulLoginIsNotCounted(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t), withRateLimits("127.0.0.0/8"))
	e.signup("Ada", "ada@example.com")
	for range 9 {
		e.doFrom("POST", "/auth/login", from("198.51.100.1"), adaWrong).want(t, 401, "Invalid credentials")
	}
	for range 5 {
		e.doFrom("POST", "/auth/login", from("198.51.100.1"), adaRight).want(t, 200, "Login successful")
	}
	e.doFrom("POST", "/auth/login", from("198.51.100.1"), adaWrong).want(t, 401, "Invalid credentials")
	want429(t, e.doFrom("POST", "/auth/login", from("198.51.100.1"), adaRight), "900")
	// A request refused for its shape is not a failure either.
	e.doFrom("POST", "/auth/login", from("198.51.100.2"), map[string]any{"email": "ada@example.com"}).want(t, 400, "Email and password are required")
}

func signupBody(email string) map[string]any {
	return map[string]any{"name": "Dev", "email": email, "password": "correct horse", "confirm_password": "correct horse"}
}

// TestSignupLimits: 10 signups an hour per address, and 10 attempts per
// email (whose answers tell who has an account).
func TestSignupLimits(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		for i := range 10 {
			e.doFrom("POST", "/auth/signup", from("203.0.113.1"), signupBody(fmt.Sprintf("dev%d@example.com", i))).want(t, 201, "Signup successful")
		}
		want429(t, e.doFrom("POST", "/auth/signup", from("203.0.113.1"), signupBody("dev10@example.com")), "3600")
		e.doFrom("POST", "/auth/signup", from("203.0.113.2"), signupBody("dev10@example.com")).want(t, 201, "Signup successful")
		for i := range 9 {
			e.doFrom("POST", "/auth/signup", from(fmt.Sprintf("198.51.100.%d", i+1)), signupBody(" DEV10@example.com")).
				want(t, 400, "Email already registered")
		}
		want429(t, e.doFrom("POST", "/auth/signup", from("198.51.100.50"), signupBody("dev10@example.com")), "3600")
		e.clock.Add(time.Hour)
		e.doFrom("POST", "/auth/signup", from("203.0.113.1"), signupBody("dev11@example.com")).want(t, 201, "Signup successful")
	}, withRateLimits("127.0.0.0/8"))
}

func withToken(ip, token string) map[string]string {
	return map[string]string{"X-Forwarded-For": ip, "Authorization": "Bearer " + token}
}

// TestPasswordChangeLimits: a stolen token does not give unlimited guesses
// at the current password: 10 wrong ones cut the account off from every
// address, and the address off for every account.
func TestPasswordChangeLimits(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		_, ada := e.developer("ada@example.com")
		_, bob := e.developer("bob@example.com")
		change := func(current string) map[string]any {
			return map[string]any{"currentPassword": current, "password": "new password!", "confirm_password": "new password!"}
		}
		// Refused for its shape: not a guess.
		e.doFrom("PATCH", "/auth/password", withToken("203.0.113.1", ada),
			map[string]any{"currentPassword": "x", "password": "short", "confirm_password": "short"}).want(t, 400, "Password must be at least 8 characters long")
		for range 10 {
			e.doFrom("PATCH", "/auth/password", withToken("203.0.113.1", ada), change("wrong password")).want(t, 400, "Current password is incorrect")
		}
		want429(t, e.doFrom("PATCH", "/auth/password", withToken("203.0.113.2", ada), change("correct horse")), "900")
		want429(t, e.doFrom("PATCH", "/auth/password", withToken("203.0.113.1", bob), change("correct horse")), "900")
		e.doFrom("PATCH", "/auth/password", withToken("203.0.113.3", bob), change("correct horse")).want(t, 200, "Password updated successfully")
		e.clock.Add(15 * time.Minute)
		e.doFrom("PATCH", "/auth/password", withToken("203.0.113.1", ada), change("correct horse")).want(t, 200, "Password updated successfully")
	}, withRateLimits("127.0.0.0/8"))
}

// TestImportedKeyProbesAreLimited: POST /license/create with a key answers
// 409 when any license has it, so the answers that say so are limited per
// developer and per address; importing new keys is not.
func TestImportedKeyProbesAreLimited(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *env) {
		ada, adaKey := e.newKey("ada@example.com")
		_, bob := e.developer("bob@example.com")
		client := e.client(bob, "Acme", "acme@example.com")
		project, _ := e.projectWithLicense(bob, client, "App")
		create := func(ip, token, key string) response {
			return e.doFrom("POST", "/license/create", withToken(ip, token),
				map[string]any{"duration": 3, "clientId": client, "projectId": project, "key": key})
		}
		for i := range 40 {
			create("203.0.113.1", bob, fmt.Sprintf("IMPORT-%03d", i)).want(t, 201, "License created")
		}
		for i := range 30 {
			key := []string{adaKey, "IMPORT-000", "IMPORT-001"}[i%3]
			create("203.0.113.1", bob, key).want(t, 409, "License key already exists")
		}
		// Bob is cut off, from every address and for free keys too.
		want429(t, create("203.0.113.2", bob, "IMPORT-NEW"), "900")
		want429(t, create("203.0.113.2", bob, adaKey), "900")
		// So is his address, for everyone (Ada's client and project do not
		// matter: the limit answers first).
		want429(t, create("203.0.113.1", ada, "IMPORT-ADA"), "900")
		// Licenses made without a key are not limited.
		e.doFrom("POST", "/license/create", withToken("203.0.113.1", bob),
			map[string]any{"duration": 3, "clientId": client, "projectId": project}).want(t, 201, "License created")
		e.clock.Add(15 * time.Minute)
		create("203.0.113.1", bob, "IMPORT-NEW").want(t, 201, "License created")
	}, withRateLimits("127.0.0.0/8"))
}

// TestRateLimitOffForAccounts: with the limits off, nothing is refused.
func TestRateLimitOffForAccounts(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.signup("Ada", "ada@example.com")
	for range 40 {
		e.do("POST", "/auth/login", "", adaWrong).want(t, 401, "Invalid credentials")
	}
	for i := range 15 {
		e.do("POST", "/auth/signup", "", signupBody(fmt.Sprintf("dev%d@example.com", i))).want(t, 201, "Signup successful")
	}
	got := burst(t, 100, func(i int) (string, string, string, any) {
		return e.url, "/validate", "203.0.113.5", map[string]any{"key": fmt.Sprintf("KB-GUESS-%03d", i)}
	})
	if got[200] != 100 {
		t.Fatalf("limits off: answers %v, want 100 × 200", got)
	}
	e.do("POST", "/auth/login", "", adaRight).want(t, 200, "Login successful")
}

// TestReplicasShareLoginAndGuessCounters: two servers on one PostgreSQL
// database count failed logins and guessed keys together, so a client
// gets no more through two servers than through one.
func TestReplicasShareLoginAndGuessCounters(t *testing.T) {
	url := storetest.PostgresURL(t)
	open := func() *env {
		s, err := postgres.Open(context.Background(), url, sqlstore.Options{Migrate: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return newEnv(t, s, withRateLimits("127.0.0.0/8"))
	}
	a, b := open(), open()
	servers := []*env{a, b}
	a.signup("Ada", "ada@example.com")
	checks := func() int64 { return a.passwords.Checks() + b.passwords.Checks() }

	before := checks()
	got := burst(t, 200, func(i int) (string, string, string, any) {
		return servers[i%2].url, "/auth/login", "198.51.100.7", adaWrong
	})
	if checked := checks() - before; checked != 10 || got[401] != 10 {
		t.Fatalf("200 wrong logins through two servers: %d checked, answers %v; want 10 checked, 10 × 401", checked, got)
	}
	// One after the other: failures through A close the pair on B.
	for range 10 {
		a.doFrom("POST", "/auth/login", from("198.51.100.8"), adaWrong).want(t, 401, "Invalid credentials")
	}
	want429(t, b.doFrom("POST", "/auth/login", from("198.51.100.8"), adaRight), "900")
	b.doFrom("POST", "/auth/login", from("198.51.100.9"), adaRight).want(t, 200, "Login successful")

	got = burst(t, 200, func(i int) (string, string, string, any) {
		return servers[i%2].url, "/validate", "203.0.113.5", map[string]any{"key": fmt.Sprintf("KB-GUESS-%03d", i)}
	})
	if got[200] != 30 {
		t.Fatalf("200 unknown keys through two servers: answers %v, want 30 × 200", got)
	}
	for range 30 {
		a.doFrom("POST", "/validate", from("203.0.113.6"), map[string]any{"key": "KB-GUESS"}).want(t, 200, "Key does not exist")
	}
	want429(t, b.doFrom("POST", "/validate", from("203.0.113.6"), map[string]any{"key": "KB-GUESS"}), "900")
}

// countingStore is a real store that counts the writes of the rate limits.
type countingStore struct {
	keybox.Store
	takes, giveBacks atomic.Int64
}

func (s *countingStore) TakeRate(ctx context.Context, key string, limit int, per time.Duration, now time.Time) (keybox.RateWindow, bool, error) {
	s.takes.Add(1)
	return s.Store.TakeRate(ctx, key, limit, per, now)
}

func (s *countingStore) GiveBackRate(ctx context.Context, key string, ends time.Time) error {
	s.giveBacks.Add(1)
	return s.Store.GiveBackRate(ctx, key, ends)
}

// TestKnownKeysCostNoWrite: validating a key that exists writes nothing
// for the limits (the guess held for its lookup is let go in memory);
// only an unknown key is counted in the database.
func TestKnownKeysCostNoWrite(t *testing.T) {
	store := &countingStore{Store: storetest.SQLite(t)}
	e := newEnv(t, store, withRateLimits())
	_, key := e.newKey("ada@example.com")
	e.do("POST", "/validate/activate", "", map[string]any{"key": key, "machineId": "m"}).want(t, 200, "")
	takes, giveBacks := store.takes.Load(), store.giveBacks.Load()
	for i := range 50 {
		e.do("POST", "/validate", "", map[string]any{"key": key, "machineId": fmt.Sprintf("m%d", i%2)}).want(t, 200, "")
	}
	if n, m := store.takes.Load()-takes, store.giveBacks.Load()-giveBacks; n != 0 || m != 0 {
		t.Fatalf("50 validations of a known key: %d counts taken, %d given back; want none", n, m)
	}
	e.do("POST", "/validate", "", map[string]any{"key": "KB-NOPE"}).want(t, 200, "Key does not exist")
	if n := store.takes.Load() - takes; n != 1 {
		t.Fatalf("an unknown key: %d counts taken, want 1", n)
	}
}
