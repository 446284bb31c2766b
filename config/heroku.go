package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/raxx-app/rotabot/rotation"
)

// The keys of the Heroku waits and the log watch.
var (
	herokuKeys   = []string{"release_timeout", "restart_timeout"}
	logWatchKeys = []string{"window", "patterns"}
)

// Bounds of the settings: a wait of less than a second cannot see a release
// through, one of more than an hour holds a run for nothing; a log stream lasts
// about an hour on Heroku.
const (
	minWait   = time.Second
	maxWait   = time.Hour
	maxWindow = time.Hour
)

// heroku reads the top-level heroku block (its defaults when absent).
func (c *checker) heroku(top map[string]entry, hs *rotation.HerokuSettings) {
	hs.ReleaseTimeout, hs.RestartTimeout = rotation.DefaultReleaseTimeout, rotation.DefaultRestartTimeout
	e, ok := top["heroku"]
	if !ok {
		return
	}
	hm, ok := c.block(e, "heroku")
	if !ok {
		return
	}
	f := c.fields(hm, "heroku.", "in heroku", herokuKeys)
	if d, ok := c.duration(f, "release_timeout", "heroku.", minWait, maxWait, false,
		"how long a release may stay pending, e.g. 5m"); ok {
		hs.ReleaseTimeout = d
	}
	if d, ok := c.duration(f, "restart_timeout", "heroku.", minWait, maxWait, false,
		"how long the dynos may take to run the new release, e.g. 5m"); ok {
		hs.RestartTimeout = d
	}
}

// logWatch reads a secret's log_watch block (its defaults when absent: the
// window, and defaults as patterns).
func (c *checker) logWatch(f map[string]entry, p string, defaults []string) rotation.LogWatch {
	lw := rotation.LogWatch{Window: rotation.DefaultLogWindow, Patterns: compile(defaults)}
	e, ok := f["log_watch"]
	if !ok {
		return lw
	}
	lm, ok := c.block(e, p+"log_watch")
	if !ok {
		return lw
	}
	lf := c.fields(lm, p+"log_watch.", "in "+p+"log_watch", logWatchKeys)
	if d, ok := c.duration(lf, "window", p+"log_watch.", minWait, maxWindow, true,
		"how long to read each app's log after its restart, e.g. 60s; 0 turns the watch off"); ok {
		lw.Window = d
	}
	if pe, ok := lf["patterns"]; ok {
		if isNull(pe.val) || pe.val.Kind == yaml.SequenceNode && len(pe.val.Content) == 0 {
			c.addf(pe.line, "%slog_watch.patterns is empty — list what a GitHub authentication failure looks like in the app's log, e.g. ['Bad credentials'], or remove it to use the defaults", p)
			return lw
		}
		items := c.list(pe, p+"log_watch.patterns", "patterns: ['Bad credentials', '(?i)github.*\\b401\\b']")
		var pats []*regexp.Regexp
		bad := false
		for _, it := range items {
			re, err := regexp.Compile(it.val)
			switch {
			case err != nil:
				why := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
				c.addf(it.line, "%slog_watch pattern %s is not a regular expression (%s) — fix it, or put a backslash before ( ) [ ] { } . * + ? | to match them as written", p, show(it.val), why)
				bad = true
			case re.MatchString(""):
				c.addf(it.line, "%slog_watch pattern %s matches every line — make it match only an authentication failure, e.g. Bad credentials", p, show(it.val))
				bad = true
			default:
				pats = append(pats, re)
			}
		}
		if !bad && len(pats) > 0 {
			lw.Patterns = pats
		}
	}
	return lw
}

// duration reads f[key] as a Go duration within [lo, hi] (or 0 when zeroOK).
func (c *checker) duration(f map[string]entry, key, prefix string, lo, hi time.Duration, zeroOK bool, what string) (time.Duration, bool) {
	e, ok := f[key]
	if !ok || isNull(e.val) {
		return 0, false
	}
	v, ok := c.scalar(e, prefix+key)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		if _, nerr := fmt.Sscanf(v, "%d", new(int)); nerr == nil && !strings.ContainsAny(v, "smh") {
			c.addf(e.line, "%s%s %s has no unit — write it with one: %ss (%s)", prefix, key, show(v), strings.TrimSpace(v), what)
		} else {
			c.addf(e.line, "%s%s %s is not a duration — write %s", prefix, key, show(v), what)
		}
		return 0, false
	}
	if d == 0 && zeroOK {
		return 0, true
	}
	if d < lo || d > hi {
		c.addf(e.line, "%s%s %s is out of range — use %s to %s: %s", prefix, key, v, lo, human(hi), what)
		return 0, false
	}
	return d, true
}

func human(d time.Duration) string {
	if d%time.Hour == 0 {
		return fmt.Sprintf("%dh", d/time.Hour)
	}
	return d.String()
}

func compile(patterns []string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}
