package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// dashboardCommand is keybox dashboard: the whole tree, one line per license.
var dashboardCommand = []command{{
	help: "Show your clients, their projects and licenses; --client for one client.",
	setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
		clientID := fs.String("client", "", "only this client (client id)")
		return func(ctx context.Context, s *session, _ []string) error {
			d, err := s.api.Dashboard(ctx, *clientID)
			if err != nil {
				return err
			}
			return s.emit(d, func(w io.Writer) {
				row(w, "CLIENT", "PROJECT", "KEY", "STATUS", "EXPIRES")
				for _, c := range d.Data {
					if len(c.Projects) == 0 {
						row(w, c.Name, "-", "-", "-", "-")
					}
					for _, p := range c.Projects {
						if len(p.Licenses) == 0 {
							row(w, c.Name, p.Name, "-", "-", "-")
						}
						for _, l := range p.Licenses {
							row(w, c.Name, p.Name, l.Key, string(l.Status), when(l.ExpiresAt))
						}
					}
				}
				fmt.Fprintf(w, "(%d clients, %d projects)\n", d.ClientsCount, d.ProjectsCount)
			})
		}
	},
}}

// statsCommand is keybox stats: the dashboard's counts.
var statsCommand = []command{{
	help: "Show license counts by status, licenses expiring soon and validations per day.",
	setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
		return func(ctx context.Context, s *session, _ []string) error {
			st, err := s.api.Stats(ctx)
			if err != nil {
				return err
			}
			return s.emit(st, func(w io.Writer) {
				c := st.Counts
				validations := 0
				for _, d := range st.Validations {
					validations += d.Count
				}
				fields(w, "licenses", fmt.Sprint(c.Total), "pending", fmt.Sprint(c.Pending), "active", fmt.Sprint(c.Active),
					"expired", fmt.Sprint(c.Expired), "revoked", fmt.Sprint(c.Revoked),
					fmt.Sprintf("expiring in %d days", st.ExpiringSoon.Days), fmt.Sprint(st.ExpiringSoon.Count),
					fmt.Sprintf("validations in %d days", len(st.Validations)), fmt.Sprint(validations))
				if len(st.ExpiringSoon.Licenses) > 0 {
					row(w, "")
					row(w, "EXPIRING", "EXPIRES")
					for _, l := range st.ExpiringSoon.Licenses {
						row(w, l.Key, when(l.ExpiresAt))
					}
				}
			})
		}
	},
}}
