package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// ageDoc is a matrix with one top-level line (top, "" for none) and two secrets:
// A (classic, 90 days) with body a and B (classic) with body b.
func ageDoc(top, a, b string) string {
	return "ops_usergroup: S0OPS\nchannel: C0OPS\n" + top + "vault: {environment: prod, path: /p/}\nsecrets:\n" +
		"  A:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n" + a +
		"  B:\n    kind: classic\n    scopes: [repo]\n    consumers: {heroku_apps: [raxx-console-prod]}\n" + b
}

func TestAgeSettingsAreRead(t *testing.T) {
	cases := []struct {
		name, doc  string
		maxA, maxB time.Duration
		autoA      int
		autoB      int
	}{
		{"none", ageDoc("", "", ""), 0, 0, 0, 0},
		{"days and hours", ageDoc("", "    max_age: 90d\n", "    max_age: 36h\n"), 90 * 24 * time.Hour, 36 * time.Hour, 0, 0},
		{"upper-case unit", ageDoc("", "    max_age: 30D\n", ""), 30 * 24 * time.Hour, 0, 0, 0},
		{"top level for all", ageDoc("auto_start_days: 7\n", "", ""), 0, 0, 7, 7},
		{"a secret's own wins, 0 turns it off", ageDoc("auto_start_days: 7\n", "    auto_start_days: 3\n", "    auto_start_days: 0\n"), 0, 0, 3, 0},
		{"on one secret only", ageDoc("", "    max_age: 90d\n    auto_start_days: 10\n", ""), 90 * 24 * time.Hour, 0, 10, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, probs := Parse("t.yaml", []byte(c.doc))
			if len(probs) > 0 {
				t.Fatalf("problems: %v", probs)
			}
			a, b := m.Secrets["A"], m.Secrets["B"]
			if a.MaxAge != c.maxA || b.MaxAge != c.maxB || a.AutoStartDays != c.autoA || b.AutoStartDays != c.autoB {
				t.Errorf("A max_age %v auto %d, B max_age %v auto %d; want %v %d, %v %d",
					a.MaxAge, a.AutoStartDays, b.MaxAge, b.AutoStartDays, c.maxA, c.autoA, c.maxB, c.autoB)
			}
		})
	}
}

func TestAgeProblemsAtTheirLine(t *testing.T) {
	cases := []struct {
		name, doc string
		want      []string
	}{
		{"max_age without a unit", ageDoc("", "    max_age: 90\n", ""), []string{
			`t.yaml:9: A: max_age "90" has no unit — write it in days or hours, e.g. max_age: 90d`}},
		{"max_age in weeks", ageDoc("", "    max_age: 12w\n", ""), []string{
			`t.yaml:9: A: max_age "12w": weeks are not a unit here — write days or hours: max_age: 84d`}},
		{"max_age in months or words", ageDoc("", "    max_age: 3 months\n", "    max_age: 1d12h\n"), []string{
			`t.yaml:9: A: max_age "3 months" is not an age — write a whole number of days or hours, e.g. max_age: 90d (or 2160h)`,
			`t.yaml:14: B: max_age "1d12h" is not an age — write a whole number of days or hours, e.g. max_age: 90d (or 2160h)`}},
		{"max_age out of range", ageDoc("", "    max_age: 0d\n", "    max_age: 4000d\n"), []string{
			`t.yaml:9: A: max_age "0d" is out of range — use 1h to 3660d, e.g. max_age: 90d; remove it for no limit`,
			`t.yaml:14: B: max_age "4000d" is out of range — use 1h to 3660d, e.g. max_age: 90d; remove it for no limit`}},
		{"max_age is a list", ageDoc("", "    max_age: [90d]\n", ""), []string{
			`t.yaml:9: A: max_age should be a single value, not a list — write it as one word or a quoted string`}},
		{"auto_start_days not a number", ageDoc("auto_start_days: a week\n", "    auto_start_days: 7d\n", ""), []string{
			`t.yaml:3: auto_start_days "a week" is not a whole number of days — write e.g. auto_start_days: 7 (the days before expiry or max age when rotabot starts the run)`,
			`t.yaml:10: A: auto_start_days "7d" is not a whole number of days — write e.g. auto_start_days: 7 (the days before expiry or max age when rotabot starts the run)`}},
		{"auto_start_days out of range", ageDoc("auto_start_days: 400\n", "    auto_start_days: -1\n", ""), []string{
			`t.yaml:3: auto_start_days 400 is out of range — use 1 to 365 days before expiry or max age, or 0 to turn it off`,
			`t.yaml:10: A: auto_start_days -1 is out of range — use 1 to 365 days before expiry or max age, or 0 to turn it off`}},
		{"auto_start_days not below max_age", ageDoc("", "    max_age: 48h\n    auto_start_days: 2\n", ""), []string{
			`t.yaml:10: A: auto_start_days 2 is not less than max_age 48h — a run would start as soon as a token is made: lower auto_start_days for this secret (0 turns it off) or raise max_age`}},
		{"the top level's, not below a secret's max_age or expiry", ageDoc("auto_start_days: 30\n", "    max_age: 30d\n", "    expires_in_days: 14\n"), []string{
			`t.yaml:6: A: auto_start_days 30 (set at the top level, line 3) is not less than max_age 30d — a run would start as soon as a token is made: lower auto_start_days for this secret (0 turns it off) or raise max_age`,
			`t.yaml:11: B: auto_start_days 30 (set at the top level, line 3) is not less than expires_in_days 14 — a run would start as soon as a token is made: lower auto_start_days for this secret (0 turns it off) or raise expires_in_days`}},
		{"a typo", ageDoc("", "    max_ag: 90d\n", ""), []string{
			`t.yaml:9: unknown key "max_ag" in A — did you mean max_age?`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, probs := Parse("t.yaml", []byte(c.doc))
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
				if !strings.Contains(p.Msg, " — ") {
					t.Errorf("not 'what is wrong — how to fix it': %q", p.Msg)
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(c.want, "\n"))
			}
			if m != nil {
				t.Error("a matrix came back with problems")
			}
		})
	}
}
