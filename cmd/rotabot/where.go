package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
)

// whereOptions are `rotabot where`'s.
type whereOptions struct {
	Secret string
	Config configOption
	// typed is the command line as typed, for a Try: line that keeps its flags.
	typed []string
}

func newWhereCmd(c *cli, runF func(context.Context, *whereOptions) error) *command {
	cmd := newCommand("where", "SECRET", "every Heroku app and config var holding SECRET's current value, and every GitHub secret of its names, in the routing matrix or not",
		"Reads SECRET's current value from Infisical and the config of every Heroku app HEROKU_API_KEY\n"+
			"can see, and prints every app and config var holding that value — marked in or not in the\n"+
			"routing matrix — and every Heroku destination of the matrix that does not hold it. Values are\n"+
			"compared as SHA-256 digests in memory; nothing is written or kept. With GITHUB_TOKEN it also lists\n"+
			"every Actions, environment, organisation and Dependabot secret of the matrix's GitHub owners\n"+
			"(their repositories, at most 100) named as SECRET is anywhere in the matrix: GitHub never shows a\n"+
			"value, so one that is no destination may hold it. It slows down, then stops, well before Heroku's\n"+
			"and GitHub's rate limits. Exit 0 when every Heroku destination holds the value and everything\n"+
			"could be read, 1 otherwise.")
	opts := &whereOptions{}
	addConfigFlag(cmd, &opts.Config)
	cmd.run = func(ctx context.Context, args []string) error {
		secret, err := cmd.oneSecret(args)
		if err != nil {
			return err
		}
		opts.Secret, opts.typed = secret, cmd.typed
		opts.Config.given(cmd.flags)
		if runF != nil {
			return runF(ctx, opts)
		}
		return c.runWhere(ctx, opts)
	}
	return cmd
}

func (c *cli) runWhere(ctx context.Context, opts *whereOptions) error {
	su, problems := c.loadSetup(opts.Config)
	log := c.logger(su.env).With("command", "where")
	if su.m != nil {
		if _, err := su.m.Secret(opts.Secret); err != nil {
			return unknownSecret(err, "where", opts.Secret, opts.typed, su.m)
		}
	}
	problems = append(problems, readNeeds(su.env)...)
	if su.env.HerokuAPIKey == "" && su.env.GitHubToken == "" {
		problems = append(problems, "HEROKU_API_KEY and GITHUB_TOKEN are not set: rotabot lists the Heroku apps and reads their config vars with the first, and GitHub's secrets by name with the second")
	}
	if len(problems) > 0 {
		return &problemsError{lines: problems, what: "problem", fix: "fix %s and run again"}
	}
	ad, err := openAdapters(ctx, su.env, su.m, c.getenv, log)
	if err != nil {
		return err
	}
	defer ad.Close()
	rep, err := ad.discover(su.m).Where(ctx, opts.Secret)
	if err != nil {
		return err
	}
	var ids []string
	for _, d := range append(append([]rotation.Destination(nil), rep.Unchecked...), missingDests(rep)...) {
		ids = append(ids, d.Target)
	}
	printWhere(c.stdout, rep, c.peopleNames(ctx, su.env, ids))
	switch {
	case rep.Problem != "":
		return withNext(fmt.Errorf("the scan is incomplete: see above"), "once what is named above is put right, run rotabot where "+opts.Secret+" again")
	case len(rep.Missing) > 0:
		return withNext(fmt.Errorf("%s of %s %s not hold the value in Infisical: see above", words.Plural(len(rep.Missing), "destination", "destinations"),
			opts.Secret, map[bool]string{true: "does", false: "do"}[len(rep.Missing) == 1]),
			"rotabot rotate "+opts.Secret+" sets Infisical's value on every destination (add --dry-run to see the plan first), or a run started with /rotate "+opts.Secret+" in Slack")
	}
	return nil
}

// printWhere prints a where report for a terminal: names and fingerprints only.
func printWhere(w io.Writer, rep discover.WhereReport, names map[string]string) {
	fmt.Fprintf(w, "WHERE — %s: the value in Infisical is version %d, fingerprint %s\n", rep.Secret, rep.Version, rep.Fingerprint)
	if rep.Heroku {
		fmt.Fprintf(w, "Scanned %d of %s HEROKU_API_KEY can see (SHA-256 digests compared in memory; nothing kept).\n",
			rep.Read, words.Plural(rep.Seen, "Heroku app", "Heroku apps"))
	}
	if rep.GitHub {
		fmt.Fprintln(w, rep.Looked()+".")
	}
	fmt.Fprintln(w)
	if rep.Heroku {
		printHeroku(w, rep, names)
	}
	if rep.GitHub {
		if len(rep.Copies) == 0 {
			fmt.Fprintln(w, "\nGitHub: no secret of these names.")
		} else {
			fmt.Fprintf(w, "\nGitHub secrets of these names (%d):\n", len(rep.Copies))
			for _, c := range rep.Copies {
				fmt.Fprintf(w, "  %s\n", c.Line(rep.Secret))
			}
		}
	}
	if len(rep.Unchecked) > 0 {
		fmt.Fprintln(w, "\nNot checked (their values cannot be read back):")
		for _, d := range rep.Unchecked {
			fmt.Fprintf(w, "  %s\n", d.PlainLabelNamed(names))
		}
	}
	if rep.Problem != "" {
		fmt.Fprintf(w, "\n⚠ The scan is incomplete: %s\n", rep.Problem)
	}
}

// printHeroku prints what the Heroku scan found.
func printHeroku(w io.Writer, rep discover.WhereReport, names map[string]string) {
	width := 0
	for _, hd := range rep.Holding {
		width = max(width, len([]rune(hd.Label())))
	}
	if len(rep.Holding) == 0 {
		fmt.Fprintln(w, "Holding it: no Heroku app.")
	} else {
		fmt.Fprintf(w, "Holding it (%d):\n", len(rep.Holding))
		for _, hd := range rep.Holding {
			note := "in the routing matrix"
			switch {
			case hd.InMatrix:
			case len(hd.Others) > 0:
				note = "NOT a destination of " + rep.Secret + " (the routing matrix sets it from " + strings.Join(hd.Others, ", ") + ")"
			default:
				note = "NOT in the routing matrix: a rotation will not update it, and revoking this token breaks it"
			}
			fmt.Fprintf(w, "  %-*s  %s\n", width, hd.Label(), note)
		}
	}
	if len(rep.Missing) > 0 {
		fmt.Fprintf(w, "\nDestinations in the routing matrix that do not hold it (%d):\n", len(rep.Missing))
		for _, m := range rep.Missing {
			fmt.Fprintf(w, "  %s: %s\n", m.Destination.PlainLabelNamed(names), m.Why)
		}
	} else if rep.Problem == "" {
		fmt.Fprintln(w, "\nEvery Heroku destination in the routing matrix holds it.")
	}
}

func missingDests(rep discover.WhereReport) []rotation.Destination {
	var out []rotation.Destination
	for _, m := range rep.Missing {
		out = append(out, m.Destination)
	}
	return out
}
