package main

import (
	"context"
	"flag"
	"io"

	"github.com/keyboxhq/keybox"
	"github.com/keyboxhq/keybox/client"
)

// clientCommands are keybox clients …: the developer's customers (/clients/…).
var clientCommands = []command{
	{name: "list", help: "List your clients, newest first, a page at a time (--page, --limit) or --all.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			pages := listFlags(fs)
			return func(ctx context.Context, s *session, _ []string) error {
				got, err := fetchList(ctx, s, pages, func(c keybox.Client) string { return c.ID },
					func(ctx context.Context, o client.ListOptions) (pageOf[keybox.Client], error) {
						l, err := s.api.Clients(ctx, o)
						return pageOf[keybox.Client]{l.Clients, l.Total, l.Page, l.Limit}, err
					})
				if err != nil {
					return err
				}
				out := client.ClientList{Clients: got.items, Total: got.total, Page: got.page, Limit: got.limit}
				return emitList(s, pages, got, out, func(w io.Writer) { clientTable(w, got.items) })
			}
		}},
	{name: "get", args: "ID", help: "Show one client.",
		setup: func(*flag.FlagSet) func(context.Context, *session, []string) error {
			return func(ctx context.Context, s *session, args []string) error {
				c, err := s.api.Client(ctx, args[0])
				if err != nil {
					return err
				}
				return s.emit(c, func(w io.Writer) { clientFields(w, c) })
			}
		}},
	{name: "create", help: "Record a client (a customer): --name and --email.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var in client.ClientInput
			fs.StringVar(&in.Name, "name", "", "client name")
			fs.StringVar(&in.Email, "email", "", "client email, unique among your clients")
			return func(ctx context.Context, s *session, _ []string) error {
				c, err := s.api.CreateClient(ctx, in)
				if err != nil {
					return err
				}
				return s.emit(c, func(w io.Writer) { clientFields(w, c) })
			}
		}},
	{name: "update", args: "ID", help: "Change a client's --name and/or --email.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			var in client.ClientInput
			fs.StringVar(&in.Name, "name", "", "new name")
			fs.StringVar(&in.Email, "email", "", "new email")
			return func(ctx context.Context, s *session, args []string) error {
				if in.Name == "" && in.Email == "" {
					return usageError("clients update: give --name and/or --email")
				}
				c, err := s.api.UpdateClient(ctx, args[0], in)
				if err != nil {
					return err
				}
				return s.emit(c, func(w io.Writer) { clientFields(w, c) })
			}
		}},
	{name: "delete", args: "ID", help: "Delete a client; --cascade also deletes its projects, licenses and seats.",
		setup: func(fs *flag.FlagSet) func(context.Context, *session, []string) error {
			cascade := fs.Bool("cascade", false, "also delete the client's projects, licenses and activations")
			return func(ctx context.Context, s *session, args []string) error {
				if err := s.api.DeleteClient(ctx, args[0], *cascade); err != nil {
					return err
				}
				return s.say("Client deleted successfully")
			}
		}},
}

func clientTable(w io.Writer, cs []keybox.Client) {
	row(w, "ID", "NAME", "EMAIL", "CREATED")
	for _, c := range cs {
		row(w, c.ID, c.Name, c.Email, when(c.CreatedAt))
	}
}

func clientFields(w io.Writer, c keybox.Client) {
	fields(w, "id", c.ID, "name", c.Name, "email", c.Email, "created", when(c.CreatedAt), "updated", when(c.UpdatedAt))
}
