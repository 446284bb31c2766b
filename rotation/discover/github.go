package discover

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// The GitHub copies nobody listed. GitHub never shows a secret's value, only
// its name and when it was last written, so a value cannot be looked for
// there: the look is by name. Every Actions, environment, organisation and
// Dependabot secret the GitHub access can list, whose name is one the secret
// uses in the routing matrix and which is no destination of the matrix, may
// hold the token. Which repositories: those of every owner (organisation or
// person) the matrix's GitHub destinations name, as GitHub lists them to the
// access (most recently pushed first), the matrix's own repositories first, at
// most GitHubRepos of them; the owners' organisation secrets too.

// SecretLister lists what GitHub keeps (rotation/github's Lister): an
// owner's repositories, a repository's environments, and a scope's secrets by
// name and date, never a value. It paces itself and stops with an error
// carrying rotation.ErrRateBudget before GitHub's rate limit is used up.
type SecretLister interface {
	// Repos lists the repositories of owner the access sees ("owner/repo").
	Repos(ctx context.Context, owner string) ([]string, error)
	// Environments lists a repository's environments.
	Environments(ctx context.Context, repo string) ([]string, error)
	// Secrets lists the secrets of kind at target (owner/repo,
	// owner/repo/ENVIRONMENT or an organisation, as a destination names it).
	Secrets(ctx context.Context, kind rotation.DestKind, target string) ([]rotation.Copy, error)
}

// DefaultGitHubRepos caps the repositories one look reads; DefaultGitHubParallel
// is how many it reads at once (each is three requests and one per
// environment, paced by the lister).
const (
	DefaultGitHubRepos    = 100
	DefaultGitHubParallel = 3
)

// ghLook is what one look at GitHub found: every secret with a wanted name
// (destinations too), how many repositories were read of how many listed, and
// what could not be read.
type ghLook struct {
	found       []rotation.Copy
	repos, seen int
	problem     string
}

// ghFailures gathers what could not be listed, by what it was.
type ghFailures struct {
	mu      sync.Mutex
	order   []string
	count   map[string]int
	first   map[string]string
	stopped error
}

func (f *ghFailures) add(what string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if errors.Is(err, rotation.ErrRateBudget) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if f.stopped == nil {
			f.stopped = err
		}
		return
	}
	if f.count[what] == 0 {
		f.order = append(f.order, what)
		f.first[what] = rotation.ErrorMessage(err)
	}
	f.count[what]++
}

func (f *ghFailures) stop() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped != nil
}

var ghName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// githubNames are the names to look for: every name the places in skip (the
// secret's destinations) use, and every name the matrix's secrets that set
// any of them use anywhere, upper-case (GitHub's), those GitHub would accept.
func (s *Scanner) githubNames(skip map[rotation.Holding]bool) map[string]bool {
	names := map[string]bool{}
	add := func(n string) {
		if ghName.MatchString(n) && !strings.HasPrefix(strings.ToUpper(n), "GITHUB_") {
			names[strings.ToUpper(n)] = true
		}
	}
	for h := range skip {
		add(h.Name)
	}
	if s.Matrix != nil {
		for _, name := range s.Matrix.Names() {
			held := rotation.HeldBy(name, s.Matrix.Secrets[name].Destinations())
			mine := false
			for h := range held {
				mine = mine || skip[h]
			}
			for h := range held {
				if mine {
					add(h.Name)
				}
			}
		}
	}
	return names
}

// placeKey is a place as GitHub compares it: owners and repositories whatever
// their case, names upper-case.
func placeKey(h rotation.Holding) string {
	return string(h.Kind) + "\x00" + strings.ToLower(h.Target) + "\x00" + strings.ToUpper(h.Name)
}

// matrixPlaces maps every place the matrix sets to the secrets that set it.
func (s *Scanner) matrixPlaces() map[string][]string {
	out := map[string][]string{}
	if s.Matrix == nil {
		return out
	}
	for _, name := range s.Matrix.Names() {
		for h := range rotation.HeldBy(name, s.Matrix.Secrets[name].Destinations()) {
			out[placeKey(h)] = append(out[placeKey(h)], name)
		}
	}
	return out
}

// githubPlaces are the owners the matrix's GitHub destinations name and its
// repositories, sorted.
func (s *Scanner) githubPlaces() (owners, repos []string) {
	if s.Matrix == nil {
		return nil, nil
	}
	for _, name := range s.Matrix.Names() {
		for _, d := range s.Matrix.Secrets[name].Destinations() {
			if !d.Kind.IsGitHub() {
				continue
			}
			owner, rest, _ := strings.Cut(d.Target, "/")
			if !slices.Contains(owners, owner) {
				owners = append(owners, owner)
			}
			if rest != "" {
				repo, _ := rotation.SplitEnvTarget(d.Target)
				if !slices.ContainsFunc(repos, func(r string) bool { return strings.EqualFold(r, repo) }) {
					repos = append(repos, repo)
				}
			}
		}
	}
	slices.Sort(owners)
	slices.Sort(repos)
	return owners, repos
}

// lookGitHub is the look at GitHub for the secrets named as names has it: what
// every secret of the matrix's owners and of their repositories (the matrix's
// first, at most GitHubRepos) is, as one listing shared by the looks asked
// about the same time (shared) or, own, one of its own, kept to those names.
// It never fails as a whole: what could not be listed is said in problem.
func (s *Scanner) lookGitHub(ctx context.Context, names map[string]bool, own bool) *ghLook {
	l := s.shared(ctx, own)
	out := &ghLook{repos: l.repos, seen: l.seen, problem: l.problem}
	for _, c := range l.found {
		if names[strings.ToUpper(c.Name)] {
			out.found = append(out.found, c)
		}
	}
	return out
}

// A listing of GitHub is shared. GitHub shows names and dates only, the same
// whatever secret a look is for, and a look is three requests a repository:
// ten runs verifying within a minute would each read the whole organisation,
// out of GitHub's 5,000 requests an hour. So a look asked while another is
// under way waits for it and takes what it listed, and a listing that read
// everything serves the looks asked within GitHubFresh of its start. GitHub
// itself answers these lists with Cache-Control: private, max-age=60. A
// listing that could not read everything serves only the looks that waited
// for it: the next look lists again. A person's where (Where) lists GitHub as
// it stands, and what it listed then serves the runs' looks.

// DefaultGitHubFresh is how long a listing that read everything serves later
// looks, from its start.
const DefaultGitHubFresh = 30 * time.Second

// ghShare is a Scanner's listing under way and its last complete one.
type ghShare struct {
	mu      sync.Mutex
	running *ghListing
	last    *ghListing
	waiting int // looks waiting for the listing under way
}

// ghListing is one listing of GitHub: every secret the access could list,
// what it read, and what it could not; done is closed once it is over.
type ghListing struct {
	began time.Time
	done  chan struct{}
	ghLook
	// cut: the listing stopped because the context of the look that ran it
	// ended; a look still in time lists again.
	cut bool
}

// shared returns a listing for a look asked now: the last complete one if it
// began within GitHubFresh, the one under way, or a new one run by this look.
// A look whose listing was cut short by the context of the look that ran it
// lists again, if it still has time. An own look takes none of those and lists
// on its own; what it lists, if complete, is kept for the others.
func (s *Scanner) shared(ctx context.Context, own bool) *ghLook {
	sh := s.ghShare
	for {
		sh.mu.Lock()
		if l := sh.last; !own && l != nil && s.current(l) {
			sh.mu.Unlock()
			return &l.ghLook
		}
		if l := sh.running; !own && l != nil {
			sh.mu.Unlock()
			if look, again := s.await(ctx, l); !again {
				return look
			}
			continue
		}
		l := &ghListing{began: s.Now(), done: make(chan struct{})}
		if !own {
			sh.running = l
		}
		sh.mu.Unlock()
		s.listGitHub(ctx, l)
		sh.mu.Lock()
		if sh.running == l {
			sh.running = nil
		}
		sh.keepLocked(l)
		sh.mu.Unlock()
		close(l.done)
		return &l.ghLook
	}
}

// await waits for the listing under way, l, and returns what it listed; again
// when l was cut short and this look still has time to list.
func (s *Scanner) await(ctx context.Context, l *ghListing) (look *ghLook, again bool) {
	sh := s.ghShare
	sh.mu.Lock()
	sh.waiting++
	sh.mu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
	}
	sh.mu.Lock()
	sh.waiting--
	sh.mu.Unlock()
	switch {
	case ctx.Err() != nil:
		return &ghLook{problem: "the look at GitHub ran out of time (it waited for the look under way)"}, false
	case l.cut:
		return nil, true
	}
	return &l.ghLook, false
}

// current reports whether l began within GitHubFresh of now (and not after
// it: a clock set back does not make an old listing new).
func (s *Scanner) current(l *ghListing) bool {
	age := s.Now().Sub(l.began)
	return age >= 0 && age < s.GitHubFresh
}

// keepLocked keeps l for the looks to come if it read everything and began
// no earlier than the one kept. sh.mu is held.
func (sh *ghShare) keepLocked(l *ghListing) {
	if l.problem == "" && (sh.last == nil || !l.began.Before(sh.last.began)) {
		sh.last = l
	}
}

// listGitHub lists every secret of the matrix's owners and of their
// repositories (the matrix's first, at most GitHubRepos) into l.
func (s *Scanner) listGitHub(ctx context.Context, l *ghListing) {
	out := &l.ghLook
	fails := &ghFailures{count: map[string]int{}, first: map[string]string{}}
	var mu sync.Mutex
	keep := func(cs []rotation.Copy) {
		mu.Lock()
		defer mu.Unlock()
		out.found = append(out.found, cs...)
	}
	list := func(kind rotation.DestKind, target, what string) {
		cctx, cancel := s.callCtx(ctx)
		cs, err := s.GitHub.Secrets(cctx, kind, target)
		cancel()
		if err != nil {
			fails.add(what, err)
		}
		keep(cs)
	}
	owners, repos := s.githubPlaces()
	for _, owner := range owners {
		for _, k := range []rotation.DestKind{rotation.DestGitHubOrgSecret, rotation.DestDependabotSecret} {
			cctx, cancel := s.callCtx(ctx)
			cs, err := s.GitHub.Secrets(cctx, k, owner)
			cancel()
			if err != nil && rotation.ErrorCode(err) != rotation.ENOTFOUND { // 404: a person, not an organisation
				fails.add("the organisation secrets of "+owner, err)
			}
			keep(cs)
		}
		cctx, cancel := s.callCtx(ctx)
		listed, err := s.GitHub.Repos(cctx, owner)
		cancel()
		if err != nil {
			fails.add("the repositories of "+owner, err)
		}
		for _, r := range listed {
			if !slices.ContainsFunc(repos, func(x string) bool { return strings.EqualFold(x, r) }) {
				repos = append(repos, r) // the matrix's own first, then as GitHub listed them
			}
		}
	}
	out.seen = len(repos)
	if len(repos) > s.GitHubRepos {
		repos = repos[:s.GitHubRepos]
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, s.GitHubParallel)
	for _, repo := range repos {
		sem <- struct{}{} // its turn first: a look that ran before it may have stopped the rest
		if fails.stop() || ctx.Err() != nil {
			<-sem
			break
		}
		wg.Add(1)
		mu.Lock()
		out.repos++
		mu.Unlock()
		go func() {
			defer func() { <-sem; wg.Done() }()
			list(rotation.DestGitHubSecret, repo, "Actions secrets")
			list(rotation.DestDependabotSecret, repo, "Dependabot secrets")
			cctx, cancel := s.callCtx(ctx)
			envs, err := s.GitHub.Environments(cctx, repo)
			cancel()
			if err != nil {
				fails.add("environments", err)
			}
			for _, env := range envs {
				list(rotation.DestGitHubEnvSecret, repo+"/"+env, "environment secrets")
			}
		}()
	}
	wg.Wait()
	out.problem = fails.problem(ctx, out.repos, out.seen)
	l.cut = out.problem != "" && ctx.Err() != nil
}

// problem says what the look could not list ("" when it listed everything).
func (f *ghFailures) problem(ctx context.Context, read, seen int) string {
	var parts []string
	for _, what := range f.order {
		n := f.count[what]
		head := "could not list " + what
		if !strings.HasPrefix(what, "the ") {
			head = fmt.Sprintf("could not list the %s of %s", what, words.Plural(n, "GitHub repository", "GitHub repositories"))
		}
		parts = append(parts, head+": "+f.first[what])
	}
	switch {
	case f.stopped != nil && errors.Is(f.stopped, rotation.ErrRateBudget):
		parts = append(parts, fmt.Sprintf("the look at GitHub stopped (%d of %s read): %s", read, words.Plural(seen, "repository", "repositories"), rotation.ErrorMessage(f.stopped)))
	case f.stopped != nil || ctx.Err() != nil:
		parts = append(parts, fmt.Sprintf("the look at GitHub ran out of time (%d of %s read)", read, words.Plural(seen, "repository", "repositories")))
	}
	return strings.Join(parts, "; ")
}

// copiesOutside are the found secrets that are no place the matrix sets, in
// GitHubKinds' order, then by place.
func copiesOutside(found []rotation.Copy, places map[string][]string, skip map[rotation.Holding]bool) []rotation.Copy {
	mine := map[string]bool{}
	for h := range skip {
		mine[placeKey(h)] = true
	}
	var out []rotation.Copy
	for _, c := range found {
		if k := placeKey(c.Holding); !mine[k] && len(places[k]) == 0 {
			out = append(out, c)
		}
	}
	sortCopies(out)
	return out
}

func sortCopies(cs []rotation.Copy) {
	slices.SortFunc(cs, func(a, b rotation.Copy) int {
		if a.Kind != b.Kind {
			return slices.Index(rotation.GitHubKinds, a.Kind) - slices.Index(rotation.GitHubKinds, b.Kind)
		}
		return strings.Compare(a.Target+"\x00"+a.Name, b.Target+"\x00"+b.Name)
	})
}

// Line says what a GitHub secret with a name the secret uses is, for people
// (plain text): in the routing matrix, set from another secret, or a copy
// nobody listed that may hold the value.
func (c WhereCopy) Line(secret string) string {
	label := rotation.Destination{Kind: c.Kind, Target: c.Target, Name: c.Name}.PlainLabel()
	switch {
	case c.InMatrix:
		return label + " — in the routing matrix; updated " + words.DateText(c.Updated)
	case len(c.Others) > 0:
		return label + " — not a destination of " + secret + "; the routing matrix sets it from " + strings.Join(c.Others, ", ") +
			"; updated " + words.DateText(c.Updated)
	}
	return CopyLine(c.Copy, "this value", time.Time{}) + " — NOT in the routing matrix: a rotation will not update it"
}

// Looked says what the look at GitHub covered: "Looked at 3 of 5 GitHub
// repositories GitHub lists".
func (rep WhereReport) Looked() string {
	n := words.Plural(rep.ReposSeen, "GitHub repository", "GitHub repositories")
	if rep.Repos < rep.ReposSeen {
		n = fmt.Sprintf("%d of %s", rep.Repos, n)
	}
	return "Looked at " + n + " for secrets of the names " + rep.Secret + " uses, by name (GitHub never shows a value)"
}

// CopyLine says what a GitHub copy may hold (what: "the old token"), and
// whether it was last written before since (the run's start; zero: no run).
func CopyLine(c rotation.Copy, what string, since time.Time) string {
	s := rotation.Destination{Kind: c.Kind, Target: c.Target, Name: c.Name}.PlainLabel() + " may hold " + what +
		": GitHub does not show values; updated " + words.DateText(c.Updated)
	switch {
	case since.IsZero():
	case c.Updated.Before(since.Truncate(time.Second)):
		s += ", before this rotation"
	default:
		s += ", after this rotation began (someone set it since)"
	}
	return s
}
