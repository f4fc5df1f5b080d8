package main

import (
	"context"
	"flag"
)

// topic is a word that may follow keybox: one command (keybox whoami) or a
// group of them (keybox clients list).
type topic struct {
	name string
	// aliases are other spellings that keep working (keybox user create).
	aliases []string
	// summary says what a group is about; keybox help adds its commands. A
	// one-command topic is summed up by its command's help.
	summary string
	section section
	cmds    []command
	// raw runs a command that reads its own arguments (serve, help);
	// flags then registers its flags, for help and completion.
	raw   func(ctx context.Context, c cli, args []string) error
	flags func(fs *flag.FlagSet)
}

// section is where keybox help lists a topic.
type section int

const (
	onDatabase section = iota // the server itself, and commands on its database
	throughAPI                // commands that talk to a server
	aboutCLI                  // the command line itself
)

var sectionTitles = map[section]string{
	onDatabase: "Running a server, and working on its database (KEYBOX_DATABASE_URL):",
	throughAPI: "Talking to a server (--server or KEYBOX_SERVER, default " + defaultServer + "):",
	aboutCLI:   "The command line:",
}

// topics is every command of keybox, in the order keybox help lists them.
// A new command is one entry here (its flags and help live with it, in
// its own file): keybox help, completion and the global flags follow.
func topics() []topic {
	return []topic{
		{name: "serve", section: onDatabase, raw: runServe, flags: serveFlags,
			summary: "Run the HTTP server (settings from KEYBOX_* and PORT; its flags override them)."},
		{name: "migrate", section: onDatabase, cmds: migrateCommand},
		{name: "backup", section: onDatabase, cmds: backupCommand},
		{name: "restore", section: onDatabase, cmds: restoreCommand},
		{name: "keys", section: onDatabase, cmds: keyCommands, summary: "The signing keys of offline licensing"},
		{name: "import", section: onDatabase, cmds: importCommands, summary: "Load a KeyBox (Node and MongoDB) export: keybox import keybox DIR."},
		{name: "audit", section: onDatabase, cmds: auditCommands, summary: "The event log's hash chains: keybox audit verify."},
		{name: "healthcheck", section: onDatabase, cmds: healthcheckCommand},

		{name: "login", section: throughAPI, cmds: loginCommand},
		{name: "logout", section: throughAPI, cmds: logoutCommand},
		{name: "whoami", section: throughAPI, cmds: whoamiCommand},
		{name: "password", section: throughAPI, cmds: passwordCommand},
		{name: "refresh", section: throughAPI, cmds: refreshCommand},
		{name: "logout-all", section: throughAPI, cmds: logoutAllCommand},
		{name: "clients", aliases: []string{"client"}, section: throughAPI, cmds: clientCommands, summary: "Your customers"},
		{name: "projects", aliases: []string{"project"}, section: throughAPI, cmds: projectCommands, summary: "What each client bought"},
		{name: "licenses", aliases: []string{"license"}, section: throughAPI, cmds: licenseCommands, summary: "License keys and their seats"},
		{name: "users", aliases: []string{"user"}, section: throughAPI, cmds: userCommands, summary: "The accounts of the installation"},
		{name: "tokens", aliases: []string{"token"}, section: throughAPI, cmds: tokenCommands, summary: "API tokens for scripts and integrations (KEYBOX_TOKEN)"},
		{name: "dashboard", section: throughAPI, cmds: dashboardCommand},
		{name: "stats", section: throughAPI, cmds: statsCommand},
		{name: "events", section: throughAPI, cmds: eventsCommand},
		{name: "webhooks", aliases: []string{"webhook"}, section: throughAPI, cmds: webhookCommands, summary: "Endpoints that receive your events"},
		{name: "checkout", section: throughAPI, cmds: checkoutCommand},
		{name: "verify", section: throughAPI, cmds: verifyCommand},

		{name: "help", section: aboutCLI, raw: runHelp, summary: "Show how to use keybox, or a command (keybox help clients list)."},
		{name: "completion", section: aboutCLI, raw: runCompletion,
			summary: "Print a completion script for bash, zsh or fish (see keybox help completion)."},
		{name: "version", section: aboutCLI, cmds: versionCommand},
	}
}

// findTopic finds a topic by its name or an alias.
func findTopic(word string) (topic, bool) {
	for _, t := range topics() {
		if t.name == word {
			return t, true
		}
		for _, a := range t.aliases {
			if a == word {
				return t, true
			}
		}
	}
	return topic{}, false
}
