package rotationtest

import (
	"fmt"
	"testing"
)

// fatalRecorder is a testing.TB whose Fatalf notes the failure instead of
// stopping the test.
type fatalRecorder struct {
	testing.TB
	failed string
}

func (r *fatalRecorder) Helper() {}
func (r *fatalRecorder) Fatalf(format string, args ...any) {
	if r.failed == "" {
		r.failed = fmt.Sprintf(format, args...)
	}
}

func TestNoLeak(t *testing.T) {
	tok := NewToken()
	cases := []struct {
		name, text string
		tokens     []string
		leaks      bool
	}{
		{"clean", "Heroku refused HEROKU_API_KEY for app raxx-console-prod (401): check the key", []string{tok}, false},
		{"whole token", "sent " + tok, []string{tok}, true},
		{"8 characters", "…" + tok[20:28] + "…", []string{tok}, true},
		{"7 characters", "…" + tok[20:27] + "…", []string{tok}, false},
		{"the public prefix", "paste a github_pat_… token", []string{tok}, false},
		{"past the prefix", "github_pat_11RT", []string{tok}, true},
		{"a short token whole", "key=abc123", []string{"abc123"}, true},
		{"an empty token", "anything", []string{""}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &fatalRecorder{TB: t}
			NoLeak(r, c.text, c.tokens...)
			if got := r.failed != ""; got != c.leaks {
				t.Errorf("NoLeak reported a leak: %v, want %v (%s)", got, c.leaks, r.failed)
			}
			if r.failed != "" {
				NoLeak(t, r.failed, c.tokens...) // its own message repeats nothing
			}
		})
	}
}
