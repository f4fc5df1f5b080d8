package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"
)

// The completion scripts are written from the command table (topics), so a
// new command or flag completes without touching them.

const completionHelp = `Usage: keybox completion bash|zsh|fish

Print a script that completes keybox's commands, subcommands and flags.

  bash:  source <(keybox completion bash)        (in ~/.bashrc)
  zsh:   source <(keybox completion zsh)         (in ~/.zshrc, after compinit)
         or save it as _keybox in a directory of $fpath
  fish:  keybox completion fish | source         (in ~/.config/fish/config.fish)
         or save it as ~/.config/fish/completions/keybox.fish
`

// runCompletion is keybox completion SHELL.
func runCompletion(_ context.Context, c cli, args []string) error {
	if len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(c.stdout, completionHelp)
		return nil
	}
	if len(args) != 1 {
		return usageError("usage: keybox completion bash|zsh|fish")
	}
	tree := completionTree()
	switch args[0] {
	case "bash":
		fmt.Fprint(c.stdout, bashCompletion(tree))
	case "zsh":
		fmt.Fprint(c.stdout, zshCompletion(tree))
	case "fish":
		fmt.Fprint(c.stdout, fishCompletion(tree))
	default:
		return usageError(fmt.Sprintf("completion: %q is not a shell keybox completes: bash, zsh or fish", args[0]))
	}
	return nil
}

// compNode is a word to complete, with what may follow it.
type compNode struct {
	names   []string // the name, then its aliases
	summary string
	subs    []compNode // a group's commands
	flags   []compFlag // a command's flags
	args    []string   // words a command takes (completion: shells)
}

type compFlag struct {
	name, usage string
	takesValue  bool
}

// spelled is the flag as typed: -o for a one-letter flag, --name otherwise.
func (f compFlag) spelled() string {
	if len(f.name) == 1 {
		return "-" + f.name
	}
	return "--" + f.name
}

// completionTree reads the command table.
func completionTree() compNode {
	root := compNode{flags: []compFlag{
		{name: "server", usage: "KeyBox server URL", takesValue: true},
		{name: "output", usage: "output format: table or json", takesValue: true},
		{name: "o", usage: "short for --output", takesValue: true},
		{name: "help", usage: "show how to use keybox"},
		{name: "version", usage: "print the version"},
	}}
	for _, t := range topics() {
		n := compNode{names: append([]string{t.name}, t.aliases...), summary: t.oneLine()}
		switch {
		case t.raw != nil:
			if t.flags != nil {
				fs := flag.NewFlagSet(t.name, flag.ContinueOnError)
				t.flags(fs)
				n.flags = flagsOf(fs)
			}
		case len(t.cmds) == 1 && t.cmds[0].name == "":
			n.flags = commandFlags(t.cmds[0])
		default:
			for _, c := range t.cmds {
				n.subs = append(n.subs, compNode{names: []string{c.name}, summary: firstSentence(c.help), flags: commandFlags(c)})
			}
		}
		root.subs = append(root.subs, n)
	}
	for i, n := range root.subs {
		switch n.names[0] {
		case "help":
			for _, t := range root.subs {
				root.subs[i].args = append(root.subs[i].args, t.names[0])
			}
		case "completion":
			root.subs[i].args = []string{"bash", "zsh", "fish"}
		}
	}
	return root
}

// commandFlags are a command's own flags and the global ones it takes.
func commandFlags(c command) []compFlag {
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	c.setup(fs)
	var server, output string
	globalFlags(fs, c, &server, &output)
	return flagsOf(fs)
}

func flagsOf(fs *flag.FlagSet) []compFlag {
	var out []compFlag
	fs.VisitAll(func(f *flag.Flag) {
		b, ok := f.Value.(interface{ IsBoolFlag() bool })
		out = append(out, compFlag{name: f.Name, usage: firstSentence(f.Usage), takesValue: !ok || !b.IsBoolFlag()})
	})
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// nodeWords joins the names of nodes; flagWords the spellings of flags.
func nodeWords(nodes []compNode) string {
	var w []string
	for _, n := range nodes {
		w = append(w, n.names[0])
	}
	return strings.Join(w, " ")
}

func flagWords(flags []compFlag) string {
	var w []string
	for _, f := range flags {
		w = append(w, f.spelled())
	}
	return strings.Join(w, " ")
}

// findCommand is the part of the bash and zsh scripts that finds the
// command and subcommand among the words typed before the cursor, skipping
// flags and the values of the global ones. first is the index of the word
// after keybox.
func findCommand(words string, first int) string {
	return fmt.Sprintf(`	local cmd= sub= names= flags= i w
	for ((i = %d; i < %s; i++)); do
		w=${%s[i]}
		case $w in
		-o|-output|--output|-server|--server) ((i++)) ;;
		-*) ;;
		*) if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi ;;
		esac
	done
`, first, map[string]string{"COMP_WORDS": "COMP_CWORD", "words": "CURRENT"}[words], words)
}

// caseStatement sets names (the words that may come next) and flags from
// cmd and sub; bash and zsh read it alike.
func caseStatement(root compNode) string {
	var b strings.Builder
	b.WriteString("\tcase $cmd in\n")
	fmt.Fprintf(&b, "\t\"\") names='%s' flags='%s' ;;\n", nodeWords(root.subs), flagWords(root.flags))
	for _, t := range root.subs {
		pattern := strings.Join(t.names, "|")
		if len(t.subs) == 0 {
			fmt.Fprintf(&b, "\t%s) names='%s' flags='%s' ;;\n", pattern, strings.Join(t.args, " "), flagWords(t.flags))
			continue
		}
		fmt.Fprintf(&b, "\t%s)\n\t\tcase $sub in\n", pattern)
		fmt.Fprintf(&b, "\t\t\"\") names='%s' flags='--help' ;;\n", nodeWords(t.subs))
		for _, c := range t.subs {
			fmt.Fprintf(&b, "\t\t%s) flags='%s' ;;\n", c.names[0], flagWords(c.flags))
		}
		b.WriteString("\t\tesac ;;\n")
	}
	b.WriteString("\tesac\n")
	return b.String()
}

func bashCompletion(root compNode) string {
	return `# bash completion for keybox, written by "keybox completion bash".
# Load it with: source <(keybox completion bash)
_keybox() {
	local cur=${COMP_WORDS[COMP_CWORD]}
` + findCommand("COMP_WORDS", 1) + caseStatement(root) + `	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$flags" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "$names" -- "$cur"))
	fi
}
complete -o default -F _keybox keybox
`
}

func zshCompletion(root compNode) string {
	return `#compdef keybox
# zsh completion for keybox, written by "keybox completion zsh".
# Load it with: source <(keybox completion zsh), or save it as _keybox in $fpath.
_keybox() {
	local cur=${words[CURRENT]}
` + findCommand("words", 2) + caseStatement(root) + `	if [[ $cur == -* ]]; then
		compadd -- ${=flags}
	elif [[ -n $names ]]; then
		compadd -- ${=names}
	else
		_files
	fi
}
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
	_keybox "$@"
else
	compdef _keybox keybox
fi
`
}

func fishCompletion(root compNode) string {
	var b strings.Builder
	b.WriteString(`# fish completion for keybox, written by "keybox completion fish".
# Load it with: keybox completion fish | source

# __keybox_words prints the words typed after keybox but flags and the
# values of the global flags.
function __keybox_words
    set -l skip 0
    for t in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $t
            case -o -output --output -server --server
                set skip 1
            case '-*'
            case '*'
                echo $t
        end
    end
end

# __keybox_at N NAME...: exactly N words so far, the first one of NAME.
function __keybox_at
    set -l w (__keybox_words)
    test (count $w) -eq $argv[1]; or return 1
    test $argv[1] -eq 0; and return 0
    contains -- $w[1] $argv[2..-1]
end

# __keybox_in NAME... [-- SUB]: the command is NAME (and its subcommand SUB).
function __keybox_in
    set -l w (__keybox_words)
    set -l i (contains -i -- -- $argv)
    if test -n "$i"
        test (count $w) -ge 2; or return 1
        set -l names $argv[1..(math $i - 1)]
        set -l sub $argv[(math $i + 1)]
        contains -- $w[1] $names; and test "$w[2]" = "$sub"
    else
        test (count $w) -ge 1; and contains -- $w[1] $argv
    end
end

`)
	flagLines := func(cond string, flags []compFlag) {
		for _, f := range flags {
			opt := "-l " + f.name
			if len(f.name) == 1 {
				opt = "-s " + f.name
			}
			if f.takesValue {
				opt += " -r"
			}
			fmt.Fprintf(&b, "complete -c keybox -n %s %s -d %s\n", fishQuote(cond), opt, fishQuote(f.usage))
		}
	}
	flagLines("__keybox_at 0", root.flags)
	for _, t := range root.subs {
		fmt.Fprintf(&b, "complete -c keybox -n '__keybox_at 0' -f -a %s -d %s\n", t.names[0], fishQuote(t.summary))
	}
	for _, t := range root.subs {
		names := strings.Join(t.names, " ")
		if len(t.subs) == 0 {
			for _, a := range t.args {
				fmt.Fprintf(&b, "complete -c keybox -n '__keybox_at 1 %s' -f -a %s\n", names, a)
			}
			flagLines("__keybox_in "+names, t.flags)
			continue
		}
		for _, c := range t.subs {
			fmt.Fprintf(&b, "complete -c keybox -n '__keybox_at 1 %s' -f -a %s -d %s\n", names, c.names[0], fishQuote(c.summary))
		}
		for _, c := range t.subs {
			flagLines("__keybox_in "+names+" -- "+c.names[0], c.flags)
		}
	}
	return b.String()
}

// fishQuote quotes s for fish, in single quotes.
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
