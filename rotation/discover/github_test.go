package discover_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
)

// gitHub is GitHub as the look sees it: owners' repositories, environments,
// and each scope's secrets by name and date; some lists refused.
type gitHub struct {
	mu      sync.Mutex
	repos   map[string][]string                       // owner → repositories, as GitHub lists them
	envs    map[string][]string                       // repo → environments
	secrets map[rotation.DestKind]map[string][]string // kind → target → names
	fail    map[string]error                          // "kind target" or "repos owner" or "envs repo"
	// budget is how many lists may be read before the lister says its rate
	// budget is spent (0: no end).
	budget, calls int
	read          []string // the repositories whose Actions secrets were listed
	// hold, when set, keeps each list of an owner's repositories until it is
	// closed or the call's context ends; held hears each call kept.
	hold, held chan struct{}
}

var ghDate = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func (g *gitHub) spend(key string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls++
	if g.budget > 0 && g.calls > g.budget {
		return rotation.Wrap(rotation.EUNAVAILABLE, rotation.ErrRateBudget, "GitHub's rate limit is nearly used up")
	}
	return g.fail[key]
}

func (g *gitHub) Repos(ctx context.Context, owner string) ([]string, error) {
	if err := g.spend("repos " + owner); err != nil {
		return nil, err
	}
	if g.hold != nil {
		g.held <- struct{}{}
		select {
		case <-g.hold:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.repos[owner], nil
}

func (g *gitHub) callCount() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

func (g *gitHub) Environments(_ context.Context, repo string) ([]string, error) {
	if err := g.spend("envs " + repo); err != nil {
		return nil, err
	}
	return g.envs[repo], nil
}

func (g *gitHub) Secrets(_ context.Context, kind rotation.DestKind, target string) ([]rotation.Copy, error) {
	if err := g.spend(string(kind) + " " + target); err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if kind == rotation.DestGitHubSecret {
		g.read = append(g.read, target)
	}
	names, ok := g.secrets[kind][target]
	if !ok && (kind == rotation.DestGitHubOrgSecret || kind == rotation.DestDependabotSecret) && !strings.Contains(target, "/") && target != "raxx-app" {
		return nil, rotation.Errorf(rotation.ENOTFOUND, "GitHub answered 404") // a person, not an organisation
	}
	var out []rotation.Copy
	for _, n := range names {
		out = append(out, rotation.Copy{Holding: rotation.Holding{Kind: kind, Target: target, Name: n}, Updated: ghDate})
	}
	return out, nil
}

func ghMatrix() *rotation.Matrix {
	m := matrix()
	m.Secrets[secretName].Consumers.GitHubSecrets = []string{"raxx-app/TradeMasterAPI:GH_API_READONLY_TOKEN"}
	m.Secrets[secretName].Consumers.GitHubEnvSecrets = []string{"raxx-app/TradeMasterAPI/prod east:GH_API_READONLY_TOKEN"}
	m.Secrets[secretName].Consumers.HerokuApps = []string{"raxx-console-prod:GH_TOKEN"}
	m.Secrets["OTHER_TOKEN"] = &rotation.SecretConfig{Name: "OTHER_TOKEN", Kind: rotation.FineGrained, Consumers: rotation.Consumers{
		GitHubSecrets: []string{"raxx-app/Billing:GH_API_READONLY_TOKEN"}, // the same name, set from another secret
	}}
	return m
}

func ghWorld() *gitHub {
	return &gitHub{
		repos: map[string][]string{"raxx-app": {"raxx-app/Legacy", "raxx-app/Billing", "raxx-app/TradeMasterAPI", "raxx-app/Quiet"}},
		envs:  map[string][]string{"raxx-app/TradeMasterAPI": {"prod east", "team/prod"}},
		secrets: map[rotation.DestKind]map[string][]string{
			rotation.DestGitHubSecret: {
				"raxx-app/TradeMasterAPI": {"GH_API_READONLY_TOKEN", "UNRELATED"},
				"raxx-app/Legacy":         {"gh_api_readonly_token"}, // GitHub's names are upper-case; compared so
				"raxx-app/Billing":        {"GH_API_READONLY_TOKEN"},
			},
			rotation.DestGitHubEnvSecret: {
				"raxx-app/TradeMasterAPI/prod east": {"GH_API_READONLY_TOKEN"},
				"raxx-app/TradeMasterAPI/team/prod": {"GH_API_READONLY_TOKEN", "GH_TOKEN"},
			},
			rotation.DestGitHubOrgSecret:  {"raxx-app": {"GH_TOKEN"}},
			rotation.DestDependabotSecret: {"raxx-app": {}, "raxx-app/Quiet": {"GH_API_READONLY_TOKEN"}},
		},
		fail: map[string]error{},
	}
}

func copyLabels(cs []rotation.Copy) []string {
	var out []string
	for _, c := range cs {
		out = append(out, discover.CopyLine(c, "it", time.Time{}))
	}
	return out
}

// The look at GitHub finds, by name, every secret the access can list that is
// no destination of the matrix — the names the secret uses anywhere (a Heroku
// config var's too), whatever the case — and not the places another secret
// sets; it says how many repositories it read.
func TestFindHoldersNamesGitHubCopies(t *testing.T) {
	g := ghWorld()
	s := discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g})
	sc := ghMatrix().Secrets[secretName]
	d := s.FindHolders(context.Background(), rotation.NewSecret(oldToken).Digest(), rotation.HeldBy(secretName, sc.Destinations()))
	if d == nil || !d.GitHub || d.Repos != 4 || d.ReposSeen != 4 || d.Problem != "" || len(d.Holders) != 0 {
		t.Fatalf("discovery: %+v", d)
	}
	want := []string{
		"GitHub Actions raxx-app/Legacy (gh_api_readonly_token) may hold it: GitHub does not show values; updated 2026-03-01 09:30 UTC",
		"GitHub environment secret raxx-app/TradeMasterAPI · team/prod · GH_API_READONLY_TOKEN may hold it: GitHub does not show values; updated 2026-03-01 09:30 UTC",
		"GitHub environment secret raxx-app/TradeMasterAPI · team/prod · GH_TOKEN may hold it: GitHub does not show values; updated 2026-03-01 09:30 UTC",
		"GitHub organisation secret raxx-app · GH_TOKEN may hold it: GitHub does not show values; updated 2026-03-01 09:30 UTC",
		"Dependabot secret raxx-app/Quiet · GH_API_READONLY_TOKEN may hold it: GitHub does not show values; updated 2026-03-01 09:30 UTC",
	}
	if got := copyLabels(d.Copies); !slices.Equal(got, want) {
		t.Errorf("copies:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := discover.Summary(d); got != "looked at 4 GitHub repositories" {
		t.Errorf("summary %q", got)
	}
	if got := discover.VerifyText(d); got != "; looked at 4 GitHub repositories for the old token: nothing outside the routing matrix holds it; 5 GitHub secrets of the same name nobody listed may hold it" {
		t.Errorf("verify text %q", got)
	}
	lines := strings.Join(discover.PlanLines(d), "\n")
	if !strings.Contains(lines, "GitHub secrets nobody listed (5) — same name, not a destination; a rotation would not update them (looked at 4 GitHub repositories):\n    - GitHub Actions raxx-app/Legacy (gh_api_readonly_token) may hold the current token") {
		t.Errorf("plan lines:\n%s", lines)
	}
	// The run's time says whether a copy was written before it.
	c := d.Copies[0]
	if got := discover.CopyLine(c, "the old token", ghDate.Add(time.Minute)); !strings.HasSuffix(got, "updated 2026-03-01 09:30 UTC, before this rotation") {
		t.Errorf("before: %q", got)
	}
	if got := discover.CopyLine(c, "the old token", ghDate.Add(-time.Minute)); !strings.HasSuffix(got, ", after this rotation began (someone set it since)") {
		t.Errorf("after: %q", got)
	}
}

// The matrix's repositories are read first, then GitHub's order, at most
// GitHubRepos; what cannot be listed is said with what it was, and a spent
// rate budget stops the look with what it covered.
func TestGitHubLookBoundedAndHonest(t *testing.T) {
	ctx := context.Background()
	sc := ghMatrix().Secrets[secretName]
	skip := rotation.HeldBy(secretName, sc.Destinations())
	want := rotation.NewSecret(oldToken).Digest()

	g := ghWorld()
	d := discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g, GitHubRepos: 3, GitHubParallel: 1}).FindHolders(ctx, want, skip)
	if d.Repos != 3 || d.ReposSeen != 4 || discover.Summary(d) != "looked at 3 of 4 GitHub repositories" {
		t.Errorf("capped: %d of %d, %q", d.Repos, d.ReposSeen, discover.Summary(d))
	}
	if got := strings.Join(g.read, ","); got != "raxx-app/Billing,raxx-app/TradeMasterAPI,raxx-app/Legacy" {
		t.Errorf("read in the order %s, want the matrix's repositories first", got)
	}

	g = ghWorld()
	g.fail["dependabot_secret raxx-app/Quiet"] = rotation.Errorf(rotation.EFORBIDDEN, "GitHub refused GITHUB_TOKEN listing the Dependabot secrets of raxx-app/Quiet (403): give the token Dependabot secrets: Read")
	g.fail["envs raxx-app/TradeMasterAPI"] = rotation.Errorf(rotation.EFORBIDDEN, "no Actions: Read")
	d = discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g}).FindHolders(ctx, want, skip)
	if want := "could not list the Dependabot secrets of 1 GitHub repository: GitHub refused GITHUB_TOKEN listing the Dependabot secrets of raxx-app/Quiet (403): give the token Dependabot secrets: Read"; !strings.Contains(d.Problem, want) {
		t.Errorf("problem %q lacks %q", d.Problem, want)
	}
	if !strings.Contains(d.Problem, "could not list the environments of 1 GitHub repository: no Actions: Read") || len(d.Copies) != 2 {
		t.Errorf("problem %q, %d copies (Legacy's and the organisation's)", d.Problem, len(d.Copies))
	}

	g = ghWorld()
	g.budget = 5 // the owner's two lists, its repositories, then two of one repository's
	d = discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g, GitHubParallel: 1}).FindHolders(ctx, want, skip)
	if d.Repos != 1 || !strings.Contains(d.Problem, "the look at GitHub stopped (1 of 4 repositories read): GitHub's rate limit is nearly used up") {
		t.Errorf("a spent budget: %d repositories, problem %q", d.Repos, d.Problem)
	}
}

// Where lists every secret with a name the secret uses, its own destinations
// marked, another secret's named, alongside the Heroku scan or without it.
func TestWhereListsGitHubCopies(t *testing.T) {
	m := ghMatrix()
	vault := rotationtest.NewMemVault()
	cur, _ := m.Refs(secretName)
	vault.Set(cur, oldToken)
	s := discover.New(discover.Config{Matrix: m, Vault: vault, GitHub: ghWorld()})
	rep, err := s.Where(context.Background(), secretName)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Heroku || !rep.GitHub || rep.Repos != 4 || rep.Problem != "" {
		t.Fatalf("report: %+v", rep)
	}
	var got []string
	for _, c := range rep.Copies {
		got = append(got, c.Kind.Word()+" "+c.Label()+map[bool]string{true: " in", false: " out"}[c.InMatrix]+" "+strings.Join(c.Others, ","))
	}
	want := []string{
		"GitHub Actions raxx-app/Billing · GH_API_READONLY_TOKEN out OTHER_TOKEN",
		"GitHub Actions raxx-app/Legacy · gh_api_readonly_token out ",
		"GitHub Actions raxx-app/TradeMasterAPI · GH_API_READONLY_TOKEN in ",
		"GitHub environment raxx-app/TradeMasterAPI/prod east · GH_API_READONLY_TOKEN in ",
		"GitHub environment raxx-app/TradeMasterAPI/team/prod · GH_API_READONLY_TOKEN out ",
		"GitHub environment raxx-app/TradeMasterAPI/team/prod · GH_TOKEN out ",
		"GitHub organisation raxx-app · GH_TOKEN out ",
		"Dependabot raxx-app/Quiet · GH_API_READONLY_TOKEN out ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("copies:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Looks at GitHub asked about the same time share one listing: a look asked
// while one is under way waits for it, and a listing that read everything
// serves the looks of the next GitHubFresh (names and dates only, the same for
// every secret). A listing that could not read everything is not kept, and a
// look whose listing was cut short by another look's end lists again.
func TestLooksAtGitHubShareOneListing(t *testing.T) {
	ctx := context.Background()
	sc := ghMatrix().Secrets[secretName]
	skip := rotation.HeldBy(secretName, sc.Destinations())
	want := rotation.NewSecret(oldToken).Digest()
	now := ghDate
	clock := func() time.Time { return now }
	const oneLook = 17 // the owner's 2 lists and its repositories; 4 repositories' 2 lists and environments; 2 environments' secrets

	g := ghWorld()
	s := discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g, Now: clock})
	first := s.FindHolders(ctx, want, skip)
	if n := g.callCount(); n != oneLook || len(first.Copies) != 5 {
		t.Fatalf("first look: %d calls, %d copies; want %d and 5", n, len(first.Copies), oneLook)
	}
	g.mu.Lock()
	g.secrets[rotation.DestGitHubSecret]["raxx-app/Quiet"] = []string{"GH_TOKEN"}
	g.mu.Unlock()
	now = now.Add(discover.DefaultGitHubFresh - time.Second)
	again := s.FindHolders(ctx, want, skip)
	if n := g.callCount(); n != oneLook || len(again.Copies) != 5 || again.Repos != 4 || again.Problem != "" {
		t.Errorf("a look within GitHubFresh: %d calls, %+v; want the first listing's", n, again)
	}
	// Another secret's look takes the same listing, kept to its own names.
	other := s.FindHolders(ctx, want, rotation.HeldBy("OTHER_TOKEN", ghMatrix().Secrets["OTHER_TOKEN"].Destinations()))
	if n := g.callCount(); n != oneLook || len(other.Copies) == len(first.Copies) {
		t.Errorf("another secret's look: %d calls, %d copies", n, len(other.Copies))
	}
	now = now.Add(time.Second)
	later := s.FindHolders(ctx, want, skip)
	if n := g.callCount(); n != 2*oneLook || len(later.Copies) != 6 {
		t.Errorf("a look GitHubFresh after the listing began: %d calls, %d copies; want a new listing (%d) that sees raxx-app/Quiet's GH_TOKEN", n, len(later.Copies), 2*oneLook)
	}

	// A clock set back does not make the kept listing new.
	now = ghDate.Add(-time.Minute)
	if s.FindHolders(ctx, want, skip); g.callCount() != 3*oneLook {
		t.Errorf("a look with the clock set back: %d calls, want a new listing (%d)", g.callCount(), 3*oneLook)
	}
	now = ghDate

	// A person's where lists GitHub as it stands (a copy just removed is
	// gone from its report), and the runs' looks then take that listing.
	m := ghMatrix()
	vault := rotationtest.NewMemVault()
	cur, _ := m.Refs(secretName)
	vault.Set(cur, oldToken)
	g = ghWorld()
	s = discover.New(discover.Config{Matrix: m, Vault: vault, GitHub: g, Now: clock})
	s.FindHolders(ctx, want, skip)
	g.mu.Lock()
	delete(g.secrets[rotation.DestGitHubSecret], "raxx-app/Legacy")
	g.mu.Unlock()
	rep, err := s.Where(ctx, secretName)
	if err != nil {
		t.Fatal(err)
	}
	if n := g.callCount(); n != 2*oneLook || slices.ContainsFunc(rep.Copies, func(c discover.WhereCopy) bool { return c.Target == "raxx-app/Legacy" }) {
		t.Errorf("where after a look: %d calls (want a listing of its own, %d), copies %+v", n, 2*oneLook, rep.Copies)
	}
	if d := s.FindHolders(ctx, want, skip); g.callCount() != 2*oneLook || len(d.Copies) != 4 {
		t.Errorf("a look after where: %d calls, %d copies; want where's listing (%d calls, 4 copies: Legacy's removed)", g.callCount(), len(d.Copies), 2*oneLook)
	}

	// Eight looks at once: one listing.
	g = ghWorld()
	g.hold, g.held = make(chan struct{}), make(chan struct{}, 16)
	s = discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g, Now: clock})
	var wg sync.WaitGroup
	got := make([]*rotation.Discovery, 8)
	wg.Go(func() { got[0] = s.FindHolders(ctx, want, skip) })
	<-g.held
	for i := 1; i < 8; i++ {
		wg.Go(func() { got[i] = s.FindHolders(ctx, want, skip) })
	}
	for discover.WaitingForGitHub(s) < 7 {
		time.Sleep(time.Millisecond)
	}
	close(g.hold)
	wg.Wait()
	if n := g.callCount(); n != oneLook {
		t.Errorf("eight looks at once made %d calls; want one listing's %d", n, oneLook)
	}
	for i, d := range got {
		if len(d.Copies) != 5 || d.Problem != "" {
			t.Errorf("look %d: %+v", i, d)
		}
	}

	// A listing that could not read everything serves no later look.
	g = ghWorld()
	g.fail["envs raxx-app/TradeMasterAPI"] = rotation.Errorf(rotation.EFORBIDDEN, "no Actions: Read")
	s = discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g, Now: clock})
	s.FindHolders(ctx, want, skip)
	n1 := g.callCount()
	if d := s.FindHolders(ctx, want, skip); g.callCount() != 2*n1 || !strings.Contains(d.Problem, "no Actions: Read") {
		t.Errorf("after an incomplete listing: %d calls (want %d), problem %q", g.callCount(), 2*n1, d.Problem)
	}

	// The look that runs the listing ends (its run stopped): a look that
	// waited for it and still has time lists again, and reads everything.
	g = ghWorld()
	g.hold, g.held = make(chan struct{}), make(chan struct{}, 16)
	s = discover.New(discover.Config{Matrix: ghMatrix(), GitHub: g, Now: clock})
	short, cancel := context.WithCancel(ctx)
	var cut, waited *rotation.Discovery
	wg.Go(func() { cut = s.FindHolders(short, want, skip) })
	<-g.held
	wg.Go(func() { waited = s.FindHolders(ctx, want, skip) })
	for discover.WaitingForGitHub(s) < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-g.held // the waiting look's own listing
	close(g.hold)
	wg.Wait()
	if !strings.Contains(cut.Problem, "ran out of time") {
		t.Errorf("the look whose context ended: problem %q", cut.Problem)
	}
	if waited.Problem != "" || len(waited.Copies) != 5 || waited.Repos != 4 {
		t.Errorf("the look that waited: %+v; want its own complete listing", waited)
	}
}
