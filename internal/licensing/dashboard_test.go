package licensing

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/keyboxhq/keybox"
)

// tree keeps each list's order under every parent, whatever order the
// licenses come in, and shows past-expiry ACTIVE licenses as EXPIRED.
func TestTreeGroupsInOrder(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 7, 100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			clients := []keybox.Client{{ID: "c0"}, {ID: "c1"}, {ID: "c2"}}
			var projects []keybox.Project
			for i := range 5 {
				projects = append(projects, keybox.Project{ID: fmt.Sprint("p", i), ClientID: clients[r.IntN(len(clients))].ID})
			}
			var licenses []keybox.License
			for i := range n {
				l := keybox.License{ID: fmt.Sprint("l", i), ProjectID: projects[r.IntN(len(projects))].ID, Status: keybox.StatusActive,
					ExpiresAt: keybox.NewTime(now.Add(time.Duration(r.IntN(3)-1) * time.Hour))}
				if r.IntN(10) == 0 {
					l.ProjectID = "gone" // a project not listed: shown nowhere
				}
				licenses = append(licenses, l)
			}
			want := map[string][]keybox.License{}
			for _, l := range licenses {
				want[l.ProjectID] = append(want[l.ProjectID], present(l, now))
			}
			data := tree(clients, projects, append([]keybox.License(nil), licenses...), now)
			seen := 0
			for _, c := range data {
				for _, p := range c.Projects {
					if p.ClientID != c.ID {
						t.Fatalf("project %s under client %s, want %s", p.ID, c.ID, p.ClientID)
					}
					if len(p.Licenses) != 0 || len(want[p.ID]) != 0 {
						if !reflect.DeepEqual(p.Licenses, want[p.ID]) {
							t.Fatalf("project %s: got %v, want %v", p.ID, p.Licenses, want[p.ID])
						}
					}
					seen++
				}
			}
			if seen != len(projects) {
				t.Fatalf("got %d projects, want %d", seen, len(projects))
			}
		})
	}
}
