package heroku_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/heroku"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
	"github.com/raxx-app/rotabot/sandbox"
	sbheroku "github.com/raxx-app/rotabot/sandbox/heroku"
)

// The Heroku config-var consumer passes the Consumer contract on the stand-in.
func TestConsumerContract(t *testing.T) {
	const (
		missing = "raxx-console-typo"
		name    = "GITHUB_API_READONLY_TOKEN"
		badKey  = "hrku-wrong-key-9f8e7d6c5b4a"
	)
	rotationtest.Consumer(t, func(t *testing.T) rotationtest.ConsumerHarness {
		h := sbheroku.New(apiKey)
		t.Cleanup(h.Close)
		h.AddApp(app, map[string]string{"OTHER_SECRET": other, name: oldToken})
		return rotationtest.ConsumerHarness{
			Consumer: heroku.New(heroku.Config{BaseURL: h.URL, APIKey: apiKey}),
			BadCredentials: func() rotation.Consumer {
				return heroku.New(heroku.Config{BaseURL: h.URL, APIKey: badKey})
			},
			Fail: func(op rotationtest.Op, f rotationtest.Fault) {
				route := map[rotationtest.Op]string{rotationtest.OpSet: patch, rotationtest.OpVerify: read}[op]
				h.Fail(route, herokuFault(f))
			},
			Held:    h.ConfigVar,
			Target:  app,
			Missing: missing,
			Name:    name,
			Secrets: []string{apiKey, badKey, oldToken, other},
			Set: rotationtest.Messages{
				Unauthorized: "Heroku refused HEROKU_API_KEY for app raxx-console-prod (401): check the key",
				NotFound:     "Heroku has no app raxx-console-typo (404): check the app's name, and that HEROKU_API_KEY's account can see it",
				RateLimited:  "Heroku rate limit reached for app raxx-console-prod (429): retry in 1s",
				Unavailable:  "Heroku is unavailable for app raxx-console-prod (503): retry later",
				Timeout:      "Heroku did not answer in time for app raxx-console-prod",
			},
			Verify: rotationtest.Messages{
				Unauthorized: "Heroku refused HEROKU_API_KEY for app raxx-console-prod (401): check the key",
				NotFound:     "Heroku has no app raxx-console-typo (404): check the app's name, and that HEROKU_API_KEY's account can see it",
				RateLimited:  "Heroku rate limit reached for app raxx-console-prod (429): retry in 1s",
				Unavailable:  "Heroku is unavailable for app raxx-console-prod (503): retry later",
				Timeout:      "Heroku did not answer in time for app raxx-console-prod",
			},
		}
	})
}

// herokuFault says a contract fault the stand-in's way: Heroku's Retry-After is in
// whole seconds.
func herokuFault(f rotationtest.Fault) *sandbox.Fault {
	sf := &sandbox.Fault{Status: f.Status, Hang: f.Hang, Times: f.Times}
	if f.RetryAfter > 0 {
		sf.RetryAfter = strconv.Itoa(int((f.RetryAfter + time.Second - 1) / time.Second))
	}
	return sf
}
