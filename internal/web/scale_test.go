package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// seedClients gives owner n clients, each with a project and a license,
// written straight through the store in one transaction (through the API
// it would take minutes). Client i is "Client NNNNN", made i seconds after
// start, so the newest is the last.
func (e *env) seedClients(owner string, n int) {
	e.t.Helper()
	ids, err := keybox.NewIDs(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	start := e.clock.Now().Add(-time.Duration(n) * time.Second)
	err = e.store.Update(context.Background(), func(tx keybox.Tx) error {
		ctx := context.Background()
		for i := 1; i <= n; i++ {
			at := keybox.NewTime(start.Add(time.Duration(i) * time.Second))
			c := keybox.Client{ID: ids.New(at.Time), Name: fmt.Sprintf("Client %05d", i), Email: fmt.Sprintf("c%05d@example.com", i), OwnerID: owner, CreatedAt: at, UpdatedAt: at}
			p := keybox.Project{ID: ids.New(at.Time), Name: fmt.Sprintf("Product %05d", i), ClientID: c.ID, OwnerID: owner, CreatedAt: at, UpdatedAt: at,
				Policy: keybox.Policy{MaxMachines: 1}}
			l := keybox.License{ID: ids.New(at.Time), Key: fmt.Sprintf("KB-LOAD-%05d", i), Duration: 12, IssuedAt: at, ExpiresAt: keybox.NewTime(at.AddDate(1, 0, 0)),
				Status: keybox.StatusPending, Services: []keybox.Service{keybox.ServiceHosting}, OwnerID: owner, ClientID: c.ID, ProjectID: p.ID,
				MaxMachines: 1, CreatedAt: at, UpdatedAt: at}
			if err := tx.CreateClient(ctx, c); err != nil {
				return err
			}
			if err := tx.CreateProject(ctx, p); err != nil {
				return err
			}
			if err := tx.CreateLicense(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// timed runs start in the page, then waits (frame by frame) until ready
// holds, and returns the milliseconds between, by the page's own clock.
func (b *tab) timed(start, ready string) float64 {
	b.t.Helper()
	return eval[float64](b, fmt.Sprintf(`(async () => {
		const t0 = performance.now();
		%s;
		const ready = () => %s;
		for (let i = 0; i < 3000 && !ready(); i++) await new Promise((r) => requestAnimationFrame(r));
		return ready() ? performance.now() - t0 : -1;
	})()`, start, ready))
}

// TestTenThousandClients: with 10,000 clients, each with a project and a
// license, the clients page, a picker's search and the licenses page do a
// bounded amount of work: one page of rows, a few requests. How long each
// took, by the page's clock, is logged (the machine is too noisy for a
// limit on time to be a test).
func TestTenThousandClients(t *testing.T) {
	const n = 10_000
	e := newEnv(t)
	token := e.developer("Ada", "ada@example.com")
	_, me := e.call("GET", "/auth/me", token, nil)
	began := time.Now()
	e.seedClients(me["user"].(map[string]any)["_id"].(string), n)
	t.Logf("seeded %d clients, projects and licenses in %v", n, time.Since(began).Round(time.Millisecond))

	b := newTab(t)
	b.login(e, "ada@example.com")

	// The clients page: one request, one page of rows.
	mark := b.mark()
	ms := b.timed(`location.hash = "#/clients"`, `document.querySelector("h1")?.textContent === "Clients" && document.querySelectorAll(".results tbody tr").length > 0`)
	if ms < 0 {
		t.Fatal("the clients page did not show its rows")
	}
	rows := eval[int](b, `document.querySelectorAll(".results tbody tr").length`)
	b.waitText(".pager", "of 10,000")
	if rows != 20 {
		t.Errorf("the clients page rendered %d rows, want one page of 20", rows)
	}
	if got := b.countRequests(mark, "/clients"); got != 1 {
		t.Errorf("the clients page sent %d requests for clients, want 1", got)
	}
	t.Logf("clients page: %.0f ms to its rows (%d rows)", ms, rows)

	// Its search: one request once the typing pauses.
	mark = b.mark()
	b.typeIn("#client-search", "c09999")
	b.waitText(".pager", "Showing 1–1 of 1")
	if got := b.countRequests(mark, "/clients"); got > 2 {
		t.Errorf("searching sent %d requests, want one after the typing paused (two at most)", got)
	}

	// The licenses page: its rows, and the names of their clients and
	// projects (one lookup each, at most, for a page).
	mark = b.mark()
	ms = b.timed(`location.hash = "#/licenses"`, `document.querySelector("h1")?.textContent === "Licenses" && document.querySelectorAll(".results tbody tr").length > 0 && !document.querySelector(".results").textContent.includes("—")`)
	if ms < 0 {
		t.Fatal("the licenses page did not show its rows with their names")
	}
	rows = eval[int](b, `document.querySelectorAll(".results tbody tr").length`)
	lists, names := b.countRequests(mark, "/license"), b.countRequests(mark, "/clients/")+b.countRequests(mark, "/projects/")
	if rows != 20 || lists != 1 || names > 2*rows {
		t.Errorf("the licenses page: %d rows, %d list requests, %d name lookups; want 20 rows, 1 list, at most %d lookups", rows, lists, names, 2*rows)
	}
	t.Logf("licenses page: %.0f ms to its rows with names (%d rows, %d requests for names)", ms, rows, names)

	// A picker: any of the 10,000 is found by typing; the list holds a few.
	mark = b.mark()
	began = time.Now()
	ms = b.timed(`(() => { const el = document.querySelector('[data-field="clientId"] input[role="combobox"]'); el.focus(); el.value = "client 09999"; el.dispatchEvent(new Event("input")); })()`,
		`[...document.querySelectorAll('[role="listbox"] [role="option"]')].some((o) => o.textContent.includes("Client 09999"))`)
	if ms < 0 {
		t.Fatal("the picker did not find Client 09999")
	}
	options := eval[int](b, `document.querySelectorAll('[role="listbox"] [role="option"]').length`)
	if searches := b.countRequests(mark, "/clients"); searches > 2 || options > 10 {
		t.Errorf("the picker sent %d searches and lists %d options; want at most 2 and a short list", searches, options)
	}
	t.Logf("client picker: %.0f ms from typing to the option (%d options, %v wall)", ms, options, time.Since(began).Round(time.Millisecond))
	b.pick("main", "clientId", "09999", "Client 09999")
	b.waitFor("the one license", `() => document.querySelectorAll(".results a.key").length === 1`)
	b.waitText(".results a.key", "KB-LOAD-09999")
	b.shot("ten-thousand-clients")
}
