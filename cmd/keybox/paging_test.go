package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// TestListPages: a list prints one page and says how to get the rest; --all
// reads every page, each row once, in table and in JSON.
func TestListPages(t *testing.T) {
	url := testServer(t)
	ctx := context.Background()
	api, err := client.New(url, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := api.Signup(ctx, client.Signup{Name: "Ada", Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	sess, err := api.Login(ctx, "ada@example.com", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	const clients, projects = 137, 105
	var first string
	for i := range clients {
		c, err := api.CreateClient(ctx, client.ClientInput{Name: fmt.Sprintf("Client %03d", i), Email: fmt.Sprintf("c%03d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c.ID
		}
	}
	for i := range projects {
		if _, _, err := api.CreateProjectWithLicense(ctx, client.NewProjectWithLicense{ClientID: first, ProjectName: fmt.Sprintf("P%03d", i),
			Duration: 12, Services: []keybox.Service{"Hosting"}}); err != nil {
			t.Fatal(err)
		}
	}
	sh := newShell(t, url, "KEYBOX_TOKEN", sess.Token)

	t.Run("table", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			rows int
			note string
		}{
			{[]string{"clients", "list"}, 20, "showing 1–20 of 137; --all for every row, or --page 2\n"},
			{[]string{"clients", "list", "--page", "2", "--limit", "50"}, 50, "showing 51–100 of 137; --all for every row, or --page 3 --limit 50\n"},
			{[]string{"clients", "list", "--page", "7"}, 17, "showing 121–137 of 137; --all for every row\n"},
			{[]string{"clients", "list", "--page", "9"}, 0, "page 9 is past the end: 137 rows, 20 to a page, the last page is 7; --all for every row\n"},
			{[]string{"clients", "list", "--all"}, 137, ""},
			{[]string{"clients", "list", "--all", "-q", "Client 00"}, 10, ""},
			{[]string{"projects", "list", "--all", "--client", first}, 105, ""},
			{[]string{"licenses", "list", "--all"}, 105, ""},
			{[]string{"licenses", "list", "--status", "PENDING"}, 20, "showing 1–20 of 105; --all for every row, or --page 2\n"},
		} {
			out := sh.ok(c.args...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			rows := len(lines) - 1 // the header
			if c.note != "" {
				rows--
				if !strings.HasSuffix(out, c.note) {
					t.Errorf("keybox %s: ends %q, want %q", strings.Join(c.args, " "), lines[len(lines)-1], c.note)
				}
			} else if strings.Contains(out, "showing") || strings.Contains(out, "past the end") {
				t.Errorf("keybox %s: says %q although every row is shown", strings.Join(c.args, " "), lines[len(lines)-1])
			}
			if rows != c.rows {
				t.Errorf("keybox %s: %d rows, want %d", strings.Join(c.args, " "), rows, c.rows)
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		code, stdout, stderr := runCLI(t, map[string]string{"KEYBOX_SERVER": url, "KEYBOX_TOKEN": sess.Token, "KEYBOX_CONFIG_DIR": t.TempDir()},
			"clients", "list", "-o", "json")
		var page client.ClientList
		if code != 0 || json.Unmarshal([]byte(stdout), &page) != nil || len(page.Clients) != 20 || page.Total != clients {
			t.Fatalf("one page: exit %d, %d clients of %d", code, len(page.Clients), page.Total)
		}
		if stderr != "keybox: showing 1–20 of 137; --all for every row, or --page 2\n" {
			t.Errorf("one page in JSON: stderr %q, want the note there, apart from the JSON", stderr)
		}
		for _, list := range []struct {
			args []string
			key  string
			want int
		}{
			{[]string{"clients", "list", "--all"}, "clients", clients},
			{[]string{"projects", "list", "--all"}, "projects", projects},
			{[]string{"licenses", "list", "--all"}, "licenses", projects},
		} {
			code, stdout, stderr := runCLI(t, map[string]string{"KEYBOX_SERVER": url, "KEYBOX_TOKEN": sess.Token, "KEYBOX_CONFIG_DIR": t.TempDir()},
				append(list.args, "-o", "json")...)
			var all map[string]json.RawMessage
			if code != 0 || stderr != "" || json.Unmarshal([]byte(stdout), &all) != nil {
				t.Fatalf("%v: exit %d, stderr %q", list.args, code, stderr)
			}
			var items []struct {
				ID  string `json:"_id"`
				Key string `json:"key"`
			}
			var total, pageNo, limit int
			if err := json.Unmarshal(all[list.key], &items); err != nil {
				t.Fatal(err)
			}
			_ = json.Unmarshal(all["total"], &total)
			_ = json.Unmarshal(all["page"], &pageNo)
			_ = json.Unmarshal(all["limit"], &limit)
			seen := map[string]bool{}
			for _, it := range items {
				seen[it.ID+it.Key] = true
			}
			if len(items) != list.want || len(seen) != list.want || total != list.want || pageNo != 1 || limit != list.want {
				t.Errorf("%v: %d items (%d distinct), total %d, page %d, limit %d; want %d, all on page 1",
					list.args, len(items), len(seen), total, pageNo, limit, list.want)
			}
		}
		// An empty list is an empty array, not null.
		code, stdout, _ = runCLI(t, map[string]string{"KEYBOX_SERVER": url, "KEYBOX_TOKEN": sess.Token, "KEYBOX_CONFIG_DIR": t.TempDir()},
			"clients", "list", "--all", "-q", "nobody", "-o", "json")
		if code != 0 || !strings.Contains(stdout, `"clients": []`) {
			t.Errorf("an empty --all: exit %d, %s", code, stdout)
		}
	})

	for _, bad := range [][]string{
		{"clients", "list", "--all", "--page", "2"},
		{"clients", "list", "--all", "--limit", "10"},
		{"licenses", "list", "--limit", "0"},
		{"projects", "list", "--page", "-1"},
	} {
		sh.fails(exitUsage, bad...)
	}
}
