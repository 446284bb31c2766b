package main

import (
	"errors"
	"flag"
	"regexp"
	"strings"

	"github.com/raxx-app/rotabot/config"
	"github.com/raxx-app/rotabot/rotation"
)

// What a person is told to try or do next. A "Try:" line (exit 2) is the command
// line they typed with the one thing that was wrong put right: the flags they
// gave stay, names match whatever their case, and an unknown command or flag is
// answered with the nearest one (config.Suggest, the did-you-mean of `rotabot
// check`). A "Next:" line (exit 1) says what to do about a command that could
// not finish.

// retyped is the command line "rotabot ARGS", quoted for a shell where needed.
func retyped(args ...string) string {
	out := []string{"rotabot"}
	for _, a := range args {
		out = append(out, shellWord(a))
	}
	return strings.Join(out, " ")
}

var plainWord = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./~^-]+$`)

// shellWord quotes a for a POSIX shell when it needs it: double quotes when
// nothing in it is special inside them, else single quotes.
func shellWord(a string) string {
	switch {
	case plainWord.MatchString(a):
		return a
	case !strings.ContainsAny(a, "\"$`\\!"):
		return `"` + a + `"`
	}
	return shellQuote(a)
}

// replaceArg is args with the first argument equal to from replaced by to.
func replaceArg(args []string, from, to string) []string {
	out := append([]string(nil), args...)
	for i, a := range out {
		if a == from {
			out[i] = to
			break
		}
	}
	return out
}

// withoutFlag is the flag arguments args without flag name and its value.
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		n, _, hasValue := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if strings.HasPrefix(args[i], "-") && n == name {
			if !hasValue {
				i++ // its value is the next argument
			}
			continue
		}
		out = append(out, args[i])
	}
	return out
}

// unknownCommand is the usage error for a command name rotabot does not have:
// the nearest one, and the line typed with it.
func (c *cli) unknownCommand(name string, rest []string) error {
	commands := strings.Join(c.names(), ", ")
	g := config.Suggest(name, append(c.names(), "help"))
	if g == "" {
		return &usageError{msg: "unknown command " + quote(name) + " — the commands are " + commands, hint: "rotabot help"}
	}
	return &usageError{msg: "unknown command " + quote(name) + " — did you mean " + g + "? The commands are " + commands,
		hint: retyped(append([]string{g}, rest...)...)}
}

// flagError is the usage error for flags that do not parse: an unknown flag gets
// the nearest flag of the command, and the line typed with it.
func (cmd *command) flagError(err error) error {
	msg := flagMessage(err)
	name, ok := strings.CutPrefix(err.Error(), "flag provided but not defined: -")
	if !ok {
		return &usageError{msg: msg, hint: "rotabot help " + cmd.name}
	}
	name = strings.TrimLeft(name, "-")
	var names []string
	cmd.flags.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	g := config.Suggest(name, names)
	if g == "" {
		if len(names) == 0 {
			return &usageError{msg: msg + ": " + cmd.name + " takes no flags", hint: "rotabot help " + cmd.name}
		}
		return &usageError{msg: msg + ": " + cmd.name + " takes --" + strings.Join(names, ", --"), hint: "rotabot help " + cmd.name}
	}
	args := append([]string(nil), cmd.typed...)
	for i, a := range args {
		flagName, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && flagName == name {
			args[i] = "--" + g
			if hasValue {
				args[i] += "=" + value
			}
			break
		}
	}
	return &usageError{msg: msg + " — did you mean --" + g + "?", hint: retyped(append([]string{cmd.name}, args...)...)}
}

// unknownSecret is the usage error for a secret name the routing matrix does not
// have: the name it has whatever the case (or the nearest), in the line typed.
func unknownSecret(err error, command, secret string, typed []string, m *rotation.Matrix) error {
	names := m.Names()
	msg := rotation.ErrorMessage(err)
	g := config.Suggest(secret, names)
	if g == "" {
		return &usageError{msg: msg + " — known secrets: " + strings.Join(names, ", "),
			hint: retyped(append([]string{command}, replaceArg(typed, secret, "SECRET")...)...) + ", with SECRET one of those"}
	}
	if strings.EqualFold(g, secret) {
		msg += " — secret names are written as in the routing matrix: " + g
	} else {
		msg += " — did you mean " + g + "? Known secrets: " + strings.Join(names, ", ")
	}
	return &usageError{msg: msg, hint: retyped(append([]string{command}, replaceArg(typed, secret, g)...)...)}
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// nextStep is an error that says what to do about it, on the "Next:" line.
type nextStep struct {
	err  error
	next string
}

func (e *nextStep) Error() string { return e.err.Error() }
func (e *nextStep) Unwrap() error { return e.err }

// saysNext marks err as one whose message already ends with what to do: exit
// adds no "Next:" line.
func saysNext(err error) error { return &nextStep{err: err} }

// withNext attaches what to do next to err.
func withNext(err error, next string) error {
	if err == nil {
		return nil
	}
	return &nextStep{err: err, next: next}
}

// next is the "Next:" line for an exit 1 of command cmd: what the error says to
// do, or what to do about an error of its kind. An invalid, forbidden or
// conflicting request gets none: the engine's message for it is written for
// people as "what is wrong: what to do" (Slack shows the same words).
func next(cmd string, err error) string {
	var ns *nextStep
	if errors.As(err, &ns) {
		return ns.next
	}
	help := "rotabot help " + cmd
	if cmd == "" {
		help = "rotabot help"
	}
	switch rotation.ErrorCode(err) {
	case rotation.EUNAVAILABLE:
		return "the service named above did not answer: run the same command again in a few minutes"
	case rotation.EUNAUTHORIZED:
		return "a credential was refused: check the variable named above (rotabot help serve lists them all), then run the command again"
	case rotation.EINVALID, rotation.EFORBIDDEN, rotation.ECONFLICT:
		return ""
	case rotation.ENOTFOUND:
		return "check the name or id above and run the command again (" + help + " shows what it takes)"
	}
	var re *rotation.Error
	if !errors.As(err, &re) {
		// The command's own words for what went wrong (a file, a port).
		return "put right what is named above and run the command again (" + help + " shows what it needs)"
	}
	return "the log lines above say more; run the command again, and if it fails the same way, report it with them"
}
