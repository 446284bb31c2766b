package handlers

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/raxx-app/rotabot/rotation"
)

// Command is a parsed /rotate.
type Command struct {
	Kind   string // start, dry-run, status, list, history, expiring, where, drift, help, abandon
	Secret string
	RunID  string
	Reason string // abandon: why, for the audit trail
}

// Command kinds.
const (
	CmdStart    = "start"
	CmdDryRun   = "dry-run"
	CmdStatus   = "status"
	CmdList     = "list"
	CmdHistory  = "history"
	CmdExpiring = "expiring"
	CmdWhere    = "where"
	CmdDrift    = "drift"
	CmdHelp     = "help"
	CmdAbandon  = "abandon"
)

// MaxCommandLen bounds what /rotate accepts; anything longer is refused unread.
const MaxCommandLen = 200

var (
	secretNameRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	runIDRe      = regexp.MustCompile(`^r[1-9][0-9]{0,17}$`)
)

// ParseError is a /rotate that cannot be understood; Msg says why in a person's words.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

func perr(format string, args ...any) *ParseError {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

// ParseCommand parses the text after /rotate. known lists the configured secret
// names. It never echoes more than a short, cleaned piece of what it was given.
func ParseCommand(text string, known []string) (Command, error) {
	if !utf8.ValidString(text) {
		return Command{}, perr("That command holds characters I cannot read.")
	}
	if verb, rest, _ := strings.Cut(strings.TrimSpace(text), " "); strings.EqualFold(verb, CmdAbandon) {
		return parseAbandon(rest)
	}
	if len(text) > MaxCommandLen {
		return Command{}, perr("That command is too long (%d characters): /rotate takes a secret name and at most one flag.", len(text))
	}
	if looksSecret(text) {
		return Command{}, perr("That looks like a token: never paste a token in a command. /rotate takes a secret name, e.g. /rotate %s — and if it was a live token, rotate it now.", example(known))
	}
	if strings.ContainsAny(text, "<>") {
		return Command{}, perr("That command holds Slack formatting (a mention, a link or an e-mail address): type a secret name, e.g. /rotate %s.", example(known))
	}
	if strings.ContainsAny(text, ";&|$`\\") {
		return Command{}, perr("That command holds shell characters (; & | $ ` \\): /rotate takes a secret name and nothing to run, e.g. /rotate %s.", example(known))
	}
	fields := strings.Fields(text)
	if len(fields) == 0 {
		return Command{}, perr("Which secret? Type /rotate SECRET_NAME.")
	}
	verb := strings.ToLower(fields[0])
	args := fields[1:]
	switch verb {
	case "help", "-h", "--help":
		if len(args) > 0 {
			return Command{}, perr("/rotate help takes nothing after it.")
		}
		return Command{Kind: CmdHelp}, nil
	case "list", "expiring":
		if len(args) > 0 {
			return Command{}, perr("/rotate %s takes nothing after it.", verb)
		}
		return Command{Kind: verb}, nil
	case "status":
		switch len(args) {
		case 0:
			return Command{Kind: CmdStatus}, nil
		case 1:
			id := strings.ToLower(args[0])
			if !runIDRe.MatchString(id) {
				return Command{}, perr("%s is not a run id: run ids look like r42.", clean(args[0]))
			}
			return Command{Kind: CmdStatus, RunID: id}, nil
		}
		return Command{}, perr("/rotate status takes at most one run id, e.g. /rotate status r42.")
	case "history", "where":
		if len(args) != 1 {
			return Command{}, perr("/rotate %s takes one secret name, e.g. /rotate %s %s.", verb, verb, example(known))
		}
		name, err := secretName(args[0], known)
		if err != nil {
			return Command{}, err
		}
		return Command{Kind: verb, Secret: name}, nil
	case "drift":
		if len(args) > 0 {
			return Command{}, perr("/rotate drift takes nothing after it.")
		}
		return Command{Kind: CmdDrift}, nil
	}
	if strings.HasPrefix(fields[0], "-") {
		return Command{}, perr("Put the secret name first, e.g. /rotate %s --dry-run.", example(known))
	}
	name, err := secretName(fields[0], known)
	if err != nil {
		return Command{}, err
	}
	switch {
	case len(args) == 0:
		return Command{Kind: CmdStart, Secret: name}, nil
	case len(args) == 1 && (args[0] == "--dry-run" || args[0] == "-n" || args[0] == "dry-run" || args[0] == "--dry_run"):
		return Command{Kind: CmdDryRun, Secret: name}, nil
	}
	return Command{}, perr("I do not understand %s after the secret name: the only flag is --dry-run.", clean(strings.Join(args, " ")))
}

// parseAbandon parses what follows /rotate abandon: a run id and the reason, in
// words — which may hold any punctuation, but no Slack formatting and no token.
func parseAbandon(rest string) (Command, error) {
	if len(rest) > MaxCommandLen+rotation.MaxReasonLen {
		return Command{}, perr("That command is too long (%d characters): keep the reason to a sentence or two.", len(rest))
	}
	if looksSecret(rest) {
		return Command{}, perr("That looks like a token: never paste a token in a command. Say why in words — and if it was a live token, rotate it now.")
	}
	id, reason, _ := strings.Cut(strings.TrimSpace(rest), " ")
	if id == "" {
		return Command{}, perr("Which run? Type /rotate abandon r42 REASON: the reason goes in the audit trail.")
	}
	if !runIDRe.MatchString(strings.ToLower(id)) {
		return Command{}, perr("%s is not a run id: run ids look like r42 (/rotate abandon r42 REASON).", clean(id))
	}
	id = strings.ToLower(id)
	reason = strings.Join(strings.Fields(reason), " ")
	switch {
	case reason == "":
		return Command{}, perr("Say why: /rotate abandon %s REASON — the reason goes in the audit trail, e.g. /rotate abandon %s old version gone from Infisical; restored by hand.", id, id)
	case strings.ContainsAny(reason, "<>"):
		return Command{}, perr("That reason holds Slack formatting (a mention, a link or an e-mail address): write it in plain words.")
	}
	if err := rotation.CheckReason(reason); err != nil {
		return Command{}, perr("%s.", rotation.ErrorMessage(err))
	}
	return Command{Kind: CmdAbandon, RunID: id, Reason: reason}, nil
}

func secretName(s string, known []string) (string, error) {
	for _, k := range known {
		if s == k {
			return s, nil
		}
	}
	up := strings.ToUpper(strings.ReplaceAll(s, "-", "_"))
	for _, k := range known {
		if up == k {
			return "", perr("Secret names are written as in the routing matrix: did you mean %s?", k)
		}
	}
	if !secretNameRe.MatchString(up) {
		return "", perr("%s is not a secret name: names look like %s.", clean(s), example(known))
	}
	return "", perr("%s is not a secret in the routing matrix.", clean(s))
}

func example(known []string) string {
	if len(known) > 0 {
		return known[0]
	}
	return "SECRET_NAME"
}

// clean shortens and neuters user input before it is shown back: at most 40
// characters, no backticks or Slack control characters, and nothing that looks
// like the middle of a token (a long unbroken run is cut).
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '`' || r == '*' || r == '~' || r == '<' || r == '>' || r == '&' || r == '@' || r == '!':
			return -1
		case r < 32:
			return -1
		}
		return r
	}, s)
	if len(s) > 40 {
		s = s[:40]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	if looksSecret(s) {
		return "that"
	}
	return "“" + s + "”"
}

// looksSecret reports whether s could be a token someone pasted in the wrong place.
func looksSecret(s string) bool {
	for _, p := range []string{"ghp_", "github_pat_", "gho_", "ghu_", "ghs_", "ghr_", "xox", "xapp-"} {
		if strings.Contains(strings.ToLower(s), p) {
			return true
		}
	}
	return false
}
