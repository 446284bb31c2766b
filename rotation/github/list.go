package github

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v62/github"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/discover"
)

var _ discover.SecretLister = (*Lister)(nil)

// Lister reads what GitHub keeps, for rotation/discover's look for the GitHub
// copies nobody listed: an owner's repositories, a repository's environments,
// and the secrets of each scope — their names and dates; GitHub never shows a
// value. It reads with the access the client was built with.
//
// It is paced and rate-limit aware, as the Heroku scan is: all callers
// together take requests from a bucket of Burst that refills one per Every, so
// a small look goes at once and a long one at most one request per Every
// (GitHub asks integrators to keep well under 900 REST points a minute, its
// secondary limit); every answer's X-RateLimit-Remaining and Reset are kept,
// and below Reserve left in the hour's window it stops, with an error carrying
// rotation.ErrRateBudget, so a scan never takes what a rotation's writes need.
// A 403 or 429 with Retry-After is waited out as every GitHub call is. It is
// safe for concurrent use.
type Lister struct {
	c *Client
	// Reserve is how many requests of the hour's window a scan leaves
	// (default 500); Burst how many may go at once (default 30), Every how
	// often one more may (default 100 ms: 600 a minute at most).
	Reserve int
	Burst   int
	Every   time.Duration
	Now     func() time.Time
	Sleep   func(ctx context.Context, d time.Duration) error

	mu        sync.Mutex
	remaining int       // the last X-RateLimit-Remaining (-1: none yet)
	reset     time.Time // when GitHub's window starts afresh
	tokens    float64   // what is left of the bucket at filled
	filled    time.Time // zero until the first request: the bucket starts full
	ids       map[string]int64
}

// Lister returns the lister on the client's access.
func (c *Client) Lister() *Lister {
	return &Lister{c: c, Reserve: 500, Burst: 30, Every: 100 * time.Millisecond, Now: rotation.WallNow, Sleep: rotation.Sleep,
		remaining: -1, ids: map[string]int64{}}
}

// pace waits for the request's turn, or refuses it when the window's budget is
// nearly spent.
func (l *Lister) pace(ctx context.Context) error {
	l.mu.Lock()
	now := l.Now()
	if l.remaining >= 0 && l.remaining < l.Reserve && now.Before(l.reset) {
		left, wait := l.remaining, ceilSecond(l.reset.Sub(now))
		l.mu.Unlock()
		e := rotation.Wrap(rotation.EUNAVAILABLE, rotation.ErrRateBudget,
			"GitHub's rate limit is nearly used up (%d requests left this hour): rotabot stopped listing GitHub secrets to leave them for rotations — try again in %s",
			left, words.HumanDuration((wait+time.Minute-1)/time.Minute*time.Minute))
		e.RetryAfter = wait
		return e
	}
	if l.filled.IsZero() {
		l.tokens, l.filled = float64(max(l.Burst, 1)), now
	}
	if l.Every > 0 && now.After(l.filled) {
		l.tokens = min(float64(max(l.Burst, 1)), l.tokens+float64(now.Sub(l.filled))/float64(l.Every))
		l.filled = now
	}
	l.tokens-- // taken now; below zero, it is owed and waited for
	var wait time.Duration
	if l.tokens < 0 && l.Every > 0 {
		wait = time.Duration(-l.tokens * float64(l.Every))
	}
	l.mu.Unlock()
	if wait > 0 {
		return l.Sleep(ctx, wait)
	}
	return nil
}

// noted keeps the rate limit an answer carried.
func (l *Lister) noted(resp *gh.Response) {
	if resp == nil || resp.Rate.Limit == 0 {
		return
	}
	l.mu.Lock()
	l.remaining, l.reset = resp.Rate.Remaining, resp.Rate.Reset.Time
	l.mu.Unlock()
}

// pages reads a list a page at a time, following go-github's NextPage (the
// Link header), each request paced.
func (l *Lister) pages(ctx context.Context, op call, page func(ctx context.Context, p int) (*gh.Response, error)) error {
	if l.c.admin == nil {
		return rotation.Errorf(rotation.EINVALID, "GITHUB_TOKEN is not set: rotabot lists %s with it", op.what)
	}
	op.kind = opList
	for p := 1; ; {
		if err := l.pace(ctx); err != nil {
			return err
		}
		resp, err := l.c.do(ctx, op, func(ctx context.Context) (*gh.Response, error) { return page(ctx, p) })
		l.noted(resp)
		if err != nil {
			return err
		}
		if resp.NextPage == 0 || resp.NextPage <= p {
			return nil
		}
		p = resp.NextPage
	}
}

// Repos lists the repositories of owner the access can see ("owner/repo"),
// most recently pushed first (GET /orgs/{org}/repos). An owner that is a
// person, not an organisation, answers 404 there: then their own repositories
// are read from GET /user/repos.
func (l *Lister) Repos(ctx context.Context, owner string) ([]string, error) {
	cl := l.c.admin
	var out []string
	keep := func(rs []*gh.Repository, only string) {
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, r := range rs {
			if only != "" && !strings.EqualFold(r.GetOwner().GetLogin(), only) {
				continue
			}
			out = append(out, r.GetFullName())
			l.ids[strings.ToLower(r.GetFullName())] = r.GetID()
		}
	}
	op := call{route: "GET /orgs/" + owner + "/repos", what: "the repositories of " + owner,
		perm: "the repository permission Metadata: Read on " + owner + "'s repositories (classic token: repo)"}
	err := l.pages(ctx, op, func(ctx context.Context, p int) (*gh.Response, error) {
		rs, resp, err := cl.Repositories.ListByOrg(ctx, owner, &gh.RepositoryListByOrgOptions{Sort: "pushed", ListOptions: gh.ListOptions{Page: p, PerPage: 100}})
		keep(rs, "")
		return resp, err
	})
	if rotation.ErrorCode(err) == rotation.ENOTFOUND {
		op.route = "GET /user/repos"
		err = l.pages(ctx, op, func(ctx context.Context, p int) (*gh.Response, error) {
			rs, resp, err := cl.Repositories.ListByAuthenticatedUser(ctx, &gh.RepositoryListByAuthenticatedUserOptions{Affiliation: "owner", Sort: "pushed",
				ListOptions: gh.ListOptions{Page: p, PerPage: 100}})
			keep(rs, owner)
			return resp, err
		})
	}
	return out, err
}

// Environments lists a repository's environments (GET
// /repos/{owner}/{repo}/environments), their names as GitHub shows them.
func (l *Lister) Environments(ctx context.Context, repo string) ([]string, error) {
	owner, name, _ := strings.Cut(repo, "/")
	var out []string
	op := call{route: "GET /repos/" + repo + "/environments", what: "the environments of " + repo,
		perm: "the repository permission Actions: Read on " + repo + " (classic token: repo)"}
	err := l.pages(ctx, op, func(ctx context.Context, p int) (*gh.Response, error) {
		er, resp, err := l.c.admin.Repositories.ListEnvironments(ctx, owner, name, &gh.EnvironmentListOptions{ListOptions: gh.ListOptions{Page: p, PerPage: 100}})
		if er != nil {
			for _, e := range er.Environments {
				out = append(out, e.GetName())
			}
		}
		return resp, err
	})
	return out, err
}

// Secrets lists the secrets of kind at target, as a destination of that kind
// names it (owner/repo, owner/repo/ENVIRONMENT, org): names and dates.
func (l *Lister) Secrets(ctx context.Context, kind rotation.DestKind, target string) ([]rotation.Copy, error) {
	cl := l.c.admin
	d := rotation.Destination{Kind: kind, Target: target}
	op := call{what: scopeWord(d), perm: permission(kind, target, "Read")}
	var list func(ctx context.Context, o *gh.ListOptions) (*gh.Secrets, *gh.Response, error)
	owner, name, _ := strings.Cut(target, "/")
	switch {
	case kind == rotation.DestGitHubSecret:
		op.route = "GET /repos/" + target + "/actions/secrets"
		list = func(ctx context.Context, o *gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return cl.Actions.ListRepoSecrets(ctx, owner, name, o)
		}
	case kind == rotation.DestGitHubEnvSecret:
		repo, env := rotation.SplitEnvTarget(target)
		id, err := l.repoID(ctx, repo)
		if err != nil {
			return nil, err
		}
		esc := url.PathEscape(env) // go-github v62 does not escape it
		op.route = "GET /repositories/" + strconv.FormatInt(id, 10) + "/environments/" + esc + "/secrets"
		list = func(ctx context.Context, o *gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return cl.Actions.ListEnvSecrets(ctx, int(id), esc, o)
		}
	case kind == rotation.DestGitHubOrgSecret:
		op.route = "GET /orgs/" + target + "/actions/secrets"
		list = func(ctx context.Context, o *gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return cl.Actions.ListOrgSecrets(ctx, target, o)
		}
	case kind == rotation.DestDependabotSecret && name != "":
		op.route = "GET /repos/" + target + "/dependabot/secrets"
		list = func(ctx context.Context, o *gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return cl.Dependabot.ListRepoSecrets(ctx, owner, name, o)
		}
	case kind == rotation.DestDependabotSecret:
		op.route = "GET /orgs/" + target + "/dependabot/secrets"
		list = func(ctx context.Context, o *gh.ListOptions) (*gh.Secrets, *gh.Response, error) {
			return cl.Dependabot.ListOrgSecrets(ctx, target, o)
		}
	default:
		return nil, rotation.Errorf(rotation.EINVALID, "%s destinations are not GitHub secrets", kind)
	}
	var out []rotation.Copy
	err := l.pages(ctx, op, func(ctx context.Context, p int) (*gh.Response, error) {
		s, resp, err := list(ctx, &gh.ListOptions{Page: p, PerPage: 100})
		if s != nil {
			for _, x := range s.Secrets {
				out = append(out, rotation.Copy{Holding: rotation.Holding{Kind: kind, Target: target, Name: x.Name}, Updated: x.UpdatedAt.UTC()})
			}
		}
		return resp, err
	})
	return out, err
}

// repoID is a repository's id, from the lists Repos read, else GET
// /repos/{owner}/{repo}: go-github v62 reaches environments by id.
func (l *Lister) repoID(ctx context.Context, repo string) (int64, error) {
	l.mu.Lock()
	id, ok := l.ids[strings.ToLower(repo)]
	l.mu.Unlock()
	if ok {
		return id, nil
	}
	if l.c.admin == nil {
		return 0, rotation.Errorf(rotation.EINVALID, "GITHUB_TOKEN is not set: rotabot lists the secrets of %s with it", repo)
	}
	owner, name, _ := strings.Cut(repo, "/")
	if err := l.pace(ctx); err != nil {
		return 0, err
	}
	resp, err := l.c.do(ctx, call{kind: opList, route: "GET /repos/" + repo, what: "the repository " + repo,
		perm: "the repository permission Metadata: Read on " + repo + " (classic token: repo)"},
		func(ctx context.Context) (*gh.Response, error) {
			r, resp, err := l.c.admin.Repositories.Get(ctx, owner, name)
			id = r.GetID()
			return resp, err
		})
	l.noted(resp)
	if err != nil {
		return 0, err
	}
	l.mu.Lock()
	l.ids[strings.ToLower(repo)] = id
	l.mu.Unlock()
	return id, nil
}
