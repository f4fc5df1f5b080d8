package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// projectCommands are keybox projects …: the products a client bought (/projects/…).
var projectCommands = []command{
	{name: "list", help: "List your projects, newest first; --client keeps one client's.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var opts client.ProjectListOptions
			fs.StringVar(&opts.ClientID, "client", "", "only this client's projects (client id)")
			pages := listFlags(fs)
			return func(ctx context.Context, s *session, _ []string) error {
				got, err := fetchList(ctx, s, pages, func(p keybox.Project) string { return p.ID },
					func(ctx context.Context, o client.ListOptions) (pageOf[keybox.Project], error) {
						opts.ListOptions = o
						l, err := s.api.Projects(ctx, opts)
						return pageOf[keybox.Project]{l.Projects, l.Total, l.Page, l.Limit}, err
					})
				if err != nil {
					return err
				}
				out := client.ProjectList{Projects: got.items, Total: got.total, Page: got.page, Limit: got.limit}
				return emitList(s, pages, got, out, func(w io.Writer) { projectTable(w, got.items) })
			}
		}},
	{name: "get", args: "ID", help: "Show one project.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				p, err := s.api.Project(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(p, func(w io.Writer) { projectFields(w, p) })
			}
		}},
	{name: "create", help: "Create a project for a client, without a license: --client and --name.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			clientID := fs.String("client", "", "client id")
			name := fs.String("name", "", "project name")
			return func(ctx context.Context, s *session, _ []string) error {
				p, err := s.api.CreateProject(ctx, *clientID, *name)
				if err != nil {
					return err
				}
				return s.emit(p, func(w io.Writer) { projectFields(w, p) })
			}
		}},
	{name: "createProject", help: "Create a project and its first license in one step (KeyBox's createProject).",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var in client.NewProjectWithLicense
			fs.StringVar(&in.ClientID, "client", "", "client id")
			fs.StringVar(&in.ProjectName, "name", "", "project name")
			fs.IntVar(&in.Duration, "duration", 12, "license length in months, 1-12")
			svc := fs.String("services", "Hosting", "comma-separated services: Hosting, Domain")
			return func(ctx context.Context, s *session, _ []string) error {
				in.Services = parseServices(*svc)
				p, l, err := s.api.CreateProjectWithLicense(ctx, in)
				if err != nil {
					return err
				}
				out := struct {
					Project keybox.Project `json:"project"`
					License keybox.License `json:"license"`
				}{p, l}
				return s.emit(out, func(w io.Writer) {
					projectFields(w, p)
					row(w, "")
					licenseFields(w, l)
				})
			}
		}},
	{name: "rename", args: "ID", help: "Rename a project: --name.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			name := fs.String("name", "", "new name")
			return func(ctx context.Context, s *session, args []string) error {
				p, err := s.api.RenameProject(ctx, args[0], *name)
				if err != nil {
					return err
				}
				return s.emit(p, func(w io.Writer) { projectFields(w, p) })
			}
		}},
	{name: "policy", args: "ID", help: "Show a project's policy: the defaults its new licenses copy.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				p, err := s.api.ProjectPolicy(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(p, func(w io.Writer) { policyFields(w, p) })
			}
		}},
	{name: "set-policy", args: "ID", help: "Change a project's policy: --duration, --max-machines, --lease-seconds, --entitlements,\n" +
		"--require-machine-id; only the flags given change. Licenses already issued keep their terms.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var months, seats intFlag
			fs.Var(&months, "duration", "months a new license lasts, 1-12 (0: each license names its own)")
			fs.Var(&seats, "max-machines", "a new license's seats, 1-1000")
			t := termFlags(fs, "")
			return func(ctx context.Context, s *session, args []string) error {
				in := client.PolicyUpdate{Duration: months.ptr(), MaxMachines: seats.ptr()}
				var err error
				if in.RequireMachineID, in.LeaseSeconds, in.Entitlements, _, err = t.values(); err != nil {
					return err
				}
				if in.Duration == nil && in.MaxMachines == nil && !t.given() {
					return usageError("projects set-policy: give --duration, --max-machines, --lease-seconds, --entitlements or --require-machine-id")
				}
				p, err := s.api.UpdateProjectPolicy(ctx, args[0], in)
				if err != nil {
					return err
				}
				return s.emit(p, func(w io.Writer) { policyFields(w, p) })
			}
		}},
	{name: "delete", args: "ID", help: "Delete a project; --cascade also deletes its licenses and seats.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			cascade := fs.Bool("cascade", false, "also delete the project's licenses and activations")
			return func(ctx context.Context, s *session, args []string) error {
				if err := s.api.DeleteProject(ctx, args[0], *cascade); err != nil {
					return err
				}
				return s.say("Project deleted successfully")
			}
		}},
}

func projectTable(w io.Writer, ps []keybox.Project) {
	row(w, "ID", "NAME", "CLIENT", "CREATED")
	for _, p := range ps {
		row(w, p.ID, p.Name, p.ClientID, when(p.CreatedAt))
	}
}

func projectFields(w io.Writer, p keybox.Project) {
	fields(w, "project", p.ID, "name", p.Name, "client", p.ClientID, "created", when(p.CreatedAt), "updated", when(p.UpdatedAt))
}

func policyFields(w io.Writer, p keybox.Policy) {
	months := "each license names its own"
	if p.Duration > 0 {
		months = fmt.Sprintf("%d months", p.Duration)
	}
	fields(w, "duration", months, "seats", fmt.Sprint(p.MaxMachines), "lease", lease(p.LeaseSeconds),
		"entitlements", codes(p.Entitlements), "machine id required", fmt.Sprint(p.RequireMachineID))
}
