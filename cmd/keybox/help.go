package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// helpWidth is the width help text is wrapped to.
const helpWidth = 80

// usage is keybox help: every command, the global flags and the exit codes.
func usage() string {
	var b strings.Builder
	b.WriteString("keybox — a self-hosted software licensing server\n\n")
	b.WriteString("Usage: keybox [--server URL] [-o table|json] COMMAND [ARGUMENTS] [flags]\n")
	all := topics()
	for _, sec := range []section{onDatabase, throughAPI, aboutCLI} {
		var rows [][2]string
		for _, t := range all {
			if t.section == sec {
				rows = append(rows, [2]string{t.usageName(), t.oneLine()})
			}
		}
		fmt.Fprintf(&b, "\n%s\n", sectionTitles[sec])
		writeRows(&b, rows)
	}
	b.WriteString(`
Global flags, before the command or among its own:
  --server URL          the KeyBox server (KEYBOX_SERVER; default: the one you
                        logged in to, else ` + defaultServer + `)
  -o, --output FORMAT   table (the default) or json

Credentials: the login kept by keybox login, or KEYBOX_TOKEN: a login token, or
an API token (kbx_…) made for a script with keybox tokens create.

Exit codes:
  0  done
  1  the server refused the request (an HTTP 4xx answer other than 401), or a
     local step failed (a file, the database)
  2  the command line is wrong: unknown command, flag or argument
  3  the server cannot be reached (connection refused, unknown host, timeout,
     TLS) or failed (HTTP 5xx), or a database command cannot reach PostgreSQL:
     trying again later may succeed
  4  not logged in, or the login or API token is no longer valid (HTTP 401)

Run "keybox help COMMAND" or "keybox COMMAND -h" for a command's flags.
Configuration comes from the environment (KEYBOX_*, PORT); flags override it.
`)
	return b.String()
}

// usageName is how keybox help names a topic: with its arguments when it
// is one command (backup FILE).
func (t topic) usageName() string {
	if len(t.cmds) == 1 && t.cmds[0].name == "" && t.cmds[0].args != "" {
		return t.name + " " + t.cmds[0].args
	}
	return t.name
}

// oneLine sums a topic up: a group's summary with its commands, or a
// command's first sentence.
func (t topic) oneLine() string {
	if len(t.cmds) == 1 && t.cmds[0].name == "" {
		return firstSentence(t.cmds[0].help)
	}
	if len(t.cmds) == 0 || strings.HasSuffix(t.summary, ".") {
		return t.summary // says it all
	}
	var api, db []string
	for _, c := range t.cmds {
		if c.offline {
			db = append(db, c.name)
		} else {
			api = append(api, c.name)
		}
	}
	list := strings.Join(append(api, db...), ", ")
	if len(api) > 0 && len(db) > 0 {
		list = strings.Join(api, ", ") + "; " + strings.Join(db, ", ") + " on the database"
	}
	return t.summary + ": " + list + "."
}

// help prints a raw topic's usage and flags (keybox serve -h).
func (t topic) help(w io.Writer) {
	fmt.Fprintf(w, "Usage: keybox %s [flags]\n\n%s\n", t.name, wrap(t.summary, helpWidth, ""))
	if t.flags == nil {
		return
	}
	fs := flag.NewFlagSet(t.name, flag.ContinueOnError)
	t.flags(fs)
	if hasFlags(fs) {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// groupUsage is keybox GROUP -h: the group's commands, those that work on
// the database apart from those that talk to a server.
func groupUsage(t topic) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: keybox %s COMMAND [flags]\n\n%s.\n", t.name, t.summary)
	var api, db [][2]string
	for _, c := range t.cmds {
		r := [2]string{strings.TrimSpace(c.name + " " + c.args), firstSentence(c.help)}
		if c.offline {
			db = append(db, r)
		} else {
			api = append(api, r)
		}
	}
	if len(api) > 0 {
		if len(db) > 0 {
			b.WriteString("\nThrough the server (--server or KEYBOX_SERVER):\n")
		} else {
			b.WriteString("\nCommands:\n")
		}
		writeRows(&b, api)
	}
	if len(db) > 0 {
		if len(api) > 0 {
			b.WriteString("\nOn the database itself (--database-url or KEYBOX_DATABASE_URL):\n")
		} else {
			b.WriteString("\nCommands (on the database: --database-url or KEYBOX_DATABASE_URL):\n")
		}
		writeRows(&b, db)
	}
	if len(t.aliases) > 0 {
		fmt.Fprintf(&b, "\n\"keybox %s\" works too.\n", strings.Join(t.aliases, "\", \"keybox "))
	}
	fmt.Fprintf(&b, "\nRun \"keybox %s COMMAND -h\" for a command's flags.\n", t.name)
	return b.String()
}

// commandHelp is keybox GROUP COMMAND -h: the command's own flags, then a
// line for the global ones.
func commandHelp(w io.Writer, name string, cmd command) {
	fmt.Fprintf(w, "Usage: %s\n\n%s\n", strings.Join(strings.Fields(name+" "+cmd.args+" [flags]"), " "), wrap(strings.Join(strings.Fields(cmd.help), " "), helpWidth, ""))
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	cmd.setup(fs)
	if hasFlags(fs) {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
	if cmd.offline {
		fmt.Fprintln(w, "\nGlobal flags: -o/--output table|json (see keybox help).")
	} else {
		fmt.Fprintln(w, "\nGlobal flags: --server URL, -o/--output table|json (see keybox help).")
	}
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// writeRows writes two columns, the second wrapped under itself.
func writeRows(b *strings.Builder, rows [][2]string) {
	width := 0
	for _, r := range rows {
		width = max(width, utf8.RuneCountInString(r[0]))
	}
	width = min(width, 22)
	indent := strings.Repeat(" ", 2+width+2)
	for _, r := range rows {
		left := "  " + r[0]
		if n := utf8.RuneCountInString(r[0]); n > width {
			b.WriteString(left + "\n" + indent)
		} else {
			b.WriteString(left + strings.Repeat(" ", width-n+2))
		}
		b.WriteString(wrap(r[1], helpWidth-len(indent), indent) + "\n")
	}
}

// wrap breaks text into lines of at most width runes (a longer word stands
// alone), the lines after the first starting with indent.
func wrap(text string, width int, indent string) string {
	var b strings.Builder
	n := 0
	for i, word := range strings.Fields(text) {
		w := utf8.RuneCountInString(word)
		switch {
		case i == 0:
		case n+1+w > width:
			b.WriteString("\n" + indent)
			n = 0
		default:
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += w
	}
	return b.String()
}

// firstSentence is a help text's first sentence, whole, on one line.
func firstSentence(help string) string {
	text := strings.Join(strings.Fields(help), " ")
	for i := 0; i < len(text); i++ {
		if text[i] != '.' || (i+1 < len(text) && text[i+1] != ' ') {
			continue
		}
		// "e.g." and "i.e." do not end a sentence.
		if i >= 2 && text[i-2] == '.' {
			continue
		}
		return text[:i+1]
	}
	return text
}

// runHelp is keybox help [COMMAND [SUBCOMMAND]].
func runHelp(ctx context.Context, c cli, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(c.stdout, usage())
		return nil
	}
	t, ok := findTopic(args[0])
	if !ok {
		return usageError(fmt.Sprintf("help: unknown command %q (see keybox help)", args[0]))
	}
	if len(args) > 2 || (len(args) == 2 && t.raw != nil) {
		return usageError(fmt.Sprintf("help: keybox %s has no command %q", t.name, strings.Join(args[1:], " ")))
	}
	// The command's own -h prints its help, and runs nothing.
	err := t.run(ctx, c, append(args[1:], "-h"))
	if err != nil && err != flag.ErrHelp {
		return err
	}
	return nil
}
