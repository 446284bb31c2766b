package config

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// A credential's age and the runs rotabot starts by itself: max_age on a
// secret, auto_start_days on a secret or at the top level for every secret.

// Bounds of the settings.
const (
	minMaxAge        = time.Hour
	maxMaxAgeDays    = 3660 // ten years
	maxAutoStartDays = 365
)

// ageRe is a max_age: a whole number of days or hours.
var ageRe = regexp.MustCompile(`^([0-9]+)([dh])$`)

// autoStart is the top level's auto_start_days, the default of every secret.
type autoStart struct {
	days int
	line int // 0: not set at the top level
}

// topAutoStart reads the top level's auto_start_days into c.autoStart.
func (c *checker) topAutoStart(top map[string]entry) {
	if e, ok := top["auto_start_days"]; ok && !isNull(e.val) {
		if d, ok := c.autoStartDays(e, ""); ok {
			c.autoStart = autoStart{days: d, line: e.line}
		}
	}
}

// age reads a secret's max_age and auto_start_days into sc (the top level's
// auto_start_days when it has none of its own), and checks that a run it
// starts by itself would not start as soon as a token is made.
func (c *checker) age(se entry, f map[string]entry, p string, sc *rotation.SecretConfig) {
	maxAgeText := ""
	if e, ok := f["max_age"]; ok && !isNull(e.val) {
		if d, ok := c.maxAge(e, p); ok {
			sc.MaxAge, maxAgeText = d, strings.TrimSpace(e.val.Value)
		}
	}
	sc.AutoStartDays = c.autoStart.days
	line, from := se.line, " (set at the top level, line "+strconv.Itoa(c.autoStart.line)+")"
	if e, ok := f["auto_start_days"]; ok && !isNull(e.val) {
		d, ok := c.autoStartDays(e, p)
		if !ok {
			sc.AutoStartDays = 0
			return
		}
		sc.AutoStartDays, line, from = d, e.line, ""
	}
	if sc.AutoStartDays <= 0 {
		return
	}
	lead := time.Duration(sc.AutoStartDays) * 24 * time.Hour
	switch {
	case sc.MaxAge > 0 && lead >= sc.MaxAge:
		c.addf(line, "%sauto_start_days %d%s is not less than max_age %s — a run would start as soon as a token is made: lower auto_start_days for this secret (0 turns it off) or raise max_age",
			p, sc.AutoStartDays, from, maxAgeText)
	case (sc.Kind == rotation.FineGrained || sc.Kind == rotation.Classic) && sc.AutoStartDays >= sc.ExpiresInDays:
		c.addf(line, "%sauto_start_days %d%s is not less than expires_in_days %d — a run would start as soon as a token is made: lower auto_start_days for this secret (0 turns it off) or raise expires_in_days",
			p, sc.AutoStartDays, from, sc.ExpiresInDays)
	}
}

// maxAge reads a max_age: a whole number of days (90d) or hours (2160h).
func (c *checker) maxAge(e entry, p string) (time.Duration, bool) {
	v, ok := c.scalar(e, p+"max_age")
	if !ok {
		return 0, false
	}
	s := strings.ToLower(strings.TrimSpace(v))
	m := ageRe.FindStringSubmatch(s)
	if m == nil {
		switch n, err := strconv.Atoi(s); {
		case err == nil:
			c.addf(e.line, "%smax_age %s has no unit — write it in days or hours, e.g. max_age: %dd", p, show(v), n)
		case strings.HasSuffix(s, "w"):
			if n, err := strconv.Atoi(strings.TrimSuffix(s, "w")); err == nil {
				c.addf(e.line, "%smax_age %s: weeks are not a unit here — write days or hours: max_age: %dd", p, show(v), 7*n)
				return 0, false
			}
			fallthrough
		default:
			c.addf(e.line, "%smax_age %s is not an age — write a whole number of days or hours, e.g. max_age: 90d (or 2160h)", p, show(v))
		}
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	if m[2] == "d" {
		n *= 24
	}
	if err != nil || n > maxMaxAgeDays*24 || time.Duration(n)*time.Hour < minMaxAge {
		c.addf(e.line, "%smax_age %s is out of range — use 1h to %dd, e.g. max_age: 90d; remove it for no limit", p, show(v), maxMaxAgeDays)
		return 0, false
	}
	d := time.Duration(n) * time.Hour
	return d, true
}

// autoStartDays reads an auto_start_days: 0 (off) to maxAutoStartDays.
func (c *checker) autoStartDays(e entry, p string) (int, bool) {
	v, ok := c.scalar(e, p+"auto_start_days")
	if !ok {
		return 0, false
	}
	d, err := strconv.Atoi(strings.TrimSpace(v))
	switch {
	case err != nil:
		c.addf(e.line, "%sauto_start_days %s is not a whole number of days — write e.g. auto_start_days: 7 (the days before expiry or max age when rotabot starts the run)", p, show(v))
	case d < 0 || d > maxAutoStartDays:
		c.addf(e.line, "%sauto_start_days %d is out of range — use 1 to %d days before expiry or max age, or 0 to turn it off", p, d, maxAutoStartDays)
	default:
		return d, true
	}
	return 0, false
}
