package discover_test

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
)

const (
	oldToken   = "github_pat_11AAAAOLDOLDOLDOLDOLD_0123456789abcdefOLD"
	otherToken = "github_pat_11CCCCOTHEROTHEROTHER_0123456789abcdefOTH"
	secretName = "GITHUB_API_READONLY_TOKEN"
)

// apps is Heroku as a scan sees it: apps of config vars, some of which cannot
// be read.
type apps struct {
	mu   sync.Mutex
	vars map[string]map[string]string // app → var → value
	fail map[string]error
}

func (a *apps) Apps(context.Context) ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for app := range a.vars {
		out = append(out, app)
	}
	slices.Sort(out)
	return out, nil
}

func (a *apps) ScanConfig(_ context.Context, app string, each func(string, rotation.Digest)) error {
	a.mu.Lock()
	if err := a.fail[app]; err != nil {
		a.mu.Unlock()
		return err
	}
	vars := map[string]string{}
	for k, v := range a.vars[app] {
		vars[k] = v
	}
	a.mu.Unlock()
	for k, v := range vars {
		each(k, rotation.Digest(sha256.Sum256([]byte(v))))
	}
	return nil
}

func matrix() *rotation.Matrix {
	return &rotation.Matrix{
		Vault: rotation.VaultSettings{Environment: "prod", Path: "/MooseQuest/github/", PendingPath: "/rotabot/pending/"},
		Secrets: map[string]*rotation.SecretConfig{
			secretName: {Name: secretName, Kind: rotation.FineGrained, Consumers: rotation.Consumers{
				HerokuApps:       []string{"raxx-console-prod", "raxx-console-staging"},
				GitHubSecrets:    []string{"raxx-app/TradeMasterAPI"},
				ShellRCOperators: []string{"U0OPERATOR"},
			}},
		},
	}
}

// Where finds every place holding the secret's current value, in the routing
// matrix or not, and says of each destination that does not hold it why.
func TestWhereFindsTheCurrentValue(t *testing.T) {
	m := matrix()
	vault := rotationtest.NewMemVault()
	cur, _ := m.Refs(secretName)
	vault.Set(cur, oldToken)
	heroku := &apps{vars: map[string]map[string]string{
		"raxx-console-prod":    {secretName: oldToken},
		"raxx-console-staging": {secretName: otherToken}, // changed by hand
		"raxx-legacy-cron":     {"GH_TOKEN": oldToken},
	}, fail: map[string]error{}}
	s := discover.New(discover.Config{Matrix: m, Vault: vault, Scanners: map[rotation.DestKind]rotation.ConfigScanner{rotation.DestHeroku: heroku}})
	ctx := context.Background()
	rep, err := s.Where(ctx, secretName)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Fingerprint != rotation.Fingerprint(oldToken) || rep.Version != 1 || rep.Seen != 3 || rep.Read != 3 || rep.Problem != "" {
		t.Fatalf("report: %+v", rep)
	}
	var holding []string
	for _, h := range rep.Holding {
		holding = append(holding, h.Label()+map[bool]string{true: " in", false: " out"}[h.InMatrix])
	}
	if want := []string{"raxx-console-prod · GITHUB_API_READONLY_TOKEN in", "raxx-legacy-cron · GH_TOKEN out"}; !slices.Equal(holding, want) {
		t.Errorf("holding: %v, want %v", holding, want)
	}
	if len(rep.Missing) != 1 || rep.Missing[0].Destination.Target != "raxx-console-staging" || rep.Missing[0].Why != "holds another value" {
		t.Errorf("missing: %+v", rep.Missing)
	}
	if len(rep.Unchecked) != 2 {
		t.Errorf("unchecked (an Actions secret and a shell rc): %+v", rep.Unchecked)
	}
	// A destination whose app cannot be read, or is not there, says so.
	heroku.fail["raxx-console-prod"] = rotation.Errorf(rotation.EFORBIDDEN, "HEROKU_API_KEY may not read app raxx-console-prod (403)")
	delete(heroku.vars, "raxx-console-staging")
	rep, err = s.Where(ctx, secretName)
	if err != nil {
		t.Fatal(err)
	}
	whys := map[string]string{}
	for _, m := range rep.Missing {
		whys[m.Destination.Target] = m.Why
	}
	if whys["raxx-console-prod"] != "could not be read: HEROKU_API_KEY may not read app raxx-console-prod (403)" ||
		whys["raxx-console-staging"] != "not among the apps HEROKU_API_KEY can see" {
		t.Errorf("why: %v", whys)
	}
	if !strings.Contains(rep.Problem, "1 of 2 Heroku apps could not be read: raxx-console-prod (HEROKU_API_KEY may not read") {
		t.Errorf("problem: %s", rep.Problem)
	}
	// Without a scanner there is nothing to look at.
	bare := discover.New(discover.Config{Matrix: m, Vault: vault})
	if _, err := bare.Where(ctx, secretName); rotation.ErrorCode(err) != rotation.EINVALID {
		t.Errorf("where without HEROKU_API_KEY: %v", err)
	}
	if d := bare.FindHolders(ctx, rotation.NewSecret(oldToken).Digest(), nil); d != nil {
		t.Errorf("a scan without a scanner: %+v", d)
	}
}
