// Package discover is rotabot's scan for where a value is held: it reads the
// config of every app the platform keys see (Heroku, through rotation's
// ConfigScanner port), compares the SHA-256 of every value with the digests it
// looks for, in memory, and keeps only the names — app and variable — of the
// matches; and, since GitHub never shows a value, it lists the GitHub secrets
// (through its SecretLister port) that carry a name the secret uses and are no
// destination: copies that may hold it, one listing shared by the looks asked
// within half a minute of each other. The engine reaches it through its
// HolderFinder port (verify's last look for the old token, a dry run's unknown
// consumers); rotabot where and /rotate where ask it directly (Where). It must
// not know about runs, Slack or any SDK, and it keeps, stores and shows no
// value and no digest of any variable.
package discover

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// DefaultParallel is how many configs a scan reads at once: 200 apps at 200 ms
// a request take about 4 s.
const DefaultParallel = 10

// Config is what a Scanner needs, set by the command (or a test). New fills in
// the defaults; the config is not changed after.
type Config struct {
	// Matrix and Vault are what Where reads: the secret's destinations and its
	// current value.
	Matrix *rotation.Matrix
	Vault  rotation.Vault
	// Scanners read every app a platform key sees (Heroku); none: nothing can
	// be scanned.
	Scanners map[rotation.DestKind]rotation.ConfigScanner
	// Parallel is how many configs a scan reads at once (default
	// DefaultParallel).
	Parallel int
	// GitHub lists what GitHub keeps (nil: no look at GitHub); GitHubRepos
	// caps the repositories one look reads (default DefaultGitHubRepos),
	// GitHubParallel how many at once (default DefaultGitHubParallel).
	GitHub         SecretLister
	GitHubRepos    int
	GitHubParallel int
	// GitHubFresh is how long a listing of GitHub that read everything
	// serves the looks asked after it began (default DefaultGitHubFresh).
	GitHubFresh time.Duration
	// CallTimeout bounds each call to a platform or the vault (default 60 s).
	CallTimeout time.Duration
	Now         func() time.Time // default rotation.WallNow
}

// Scanner scans for where values are held. Build it with New.
type Scanner struct {
	Config
	ghShare *ghShare // the listings of GitHub the looks share
}

var _ rotation.HolderFinder = (*Scanner)(nil)

// New returns a scanner on c, with c's defaults filled in once.
func New(c Config) *Scanner {
	if c.Parallel <= 0 {
		c.Parallel = DefaultParallel
	}
	if c.GitHubRepos <= 0 {
		c.GitHubRepos = DefaultGitHubRepos
	}
	if c.GitHubParallel <= 0 {
		c.GitHubParallel = DefaultGitHubParallel
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 60 * time.Second
	}
	if c.GitHubFresh <= 0 {
		c.GitHubFresh = DefaultGitHubFresh
	}
	if c.Now == nil {
		c.Now = rotation.WallNow
	}
	return &Scanner{Config: c, ghShare: &ghShare{}}
}

func (s *Scanner) callCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, s.CallTimeout)
}

// scanned is what one scan found: for each wanted digest the places holding it,
// and for each place asked about whether it holds a variable of that name and
// which wanted digest its value has (-1 for none).
type scanned struct {
	seen, read int
	// apps maps every app seen to the error of reading it (nil: read).
	apps    map[rotation.Holding]error // keyed by Kind and Target only
	holders [][]rotation.Holding
	asked   map[rotation.Holding]int // -1: present, matches none; absent key: not present
	problem string
}

func appKey(kind rotation.DestKind, target string) rotation.Holding {
	return rotation.Holding{Kind: kind, Target: target}
}

// scan reads the config of every app of every scanner, Parallel at a time,
// and reports where each of wants is held. asked lists places whose presence is
// reported whatever they hold. It never fails as a whole: what could not be read
// is said in problem.
func (s *Scanner) scan(ctx context.Context, wants []rotation.Digest, asked map[rotation.Holding]bool) *scanned {
	out := &scanned{apps: map[rotation.Holding]error{}, holders: make([][]rotation.Holding, len(wants)), asked: map[rotation.Holding]int{}}
	var problems []string
	kinds := make([]rotation.DestKind, 0, len(s.Scanners))
	for k := range s.Scanners {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		if p := s.scanKind(ctx, kind, wants, asked, out); p != "" {
			problems = append(problems, p)
		}
	}
	for i := range out.holders {
		slices.SortFunc(out.holders[i], func(a, b rotation.Holding) int {
			return strings.Compare(a.Target+"\x00"+a.Name, b.Target+"\x00"+b.Name)
		})
	}
	out.problem = strings.Join(problems, "; ")
	return out
}

// scanKind reads the config of every app kind's scanner sees into out and
// returns what could not be read ("" when everything was). A scanner that says
// its rate budget is nearly used up stops the apps not yet read.
func (s *Scanner) scanKind(ctx context.Context, kind rotation.DestKind, wants []rotation.Digest, asked map[rotation.Holding]bool, out *scanned) string {
	sc := s.Scanners[kind]
	cctx, cancel := s.callCtx(ctx)
	apps, err := sc.Apps(cctx)
	cancel()
	if err != nil {
		return fmt.Sprintf("could not list the %s apps: %s", kind.Word(), rotation.ErrorMessage(err))
	}
	out.seen += len(apps)
	var (
		mu      sync.Mutex
		stopped error
		wg      sync.WaitGroup
	)
	sem := make(chan struct{}, s.Parallel)
	for _, app := range apps {
		mu.Lock()
		stop := stopped != nil
		mu.Unlock()
		if stop || ctx.Err() != nil {
			mu.Lock()
			out.apps[appKey(kind, app)] = errNotRead
			mu.Unlock()
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			type seen struct {
				name string
				sum  rotation.Digest
			}
			var vars []seen
			cctx, cancel := s.callCtx(ctx)
			err := sc.ScanConfig(cctx, app, func(name string, sum rotation.Digest) { vars = append(vars, seen{name, sum}) })
			cancel()
			mu.Lock()
			defer mu.Unlock()
			out.apps[appKey(kind, app)] = err
			if err != nil {
				if errors.Is(err, rotation.ErrRateBudget) && stopped == nil {
					stopped = err
				}
				return
			}
			out.read++
			for _, v := range vars {
				h := rotation.Holding{Kind: kind, Target: app, Name: v.name}
				match := -1
				for i, w := range wants {
					if v.sum == w {
						out.holders[i] = append(out.holders[i], h)
						match = i
					}
				}
				if asked[h] {
					out.asked[h] = match
				}
			}
		}()
	}
	wg.Wait()
	return notReadProblem(ctx, kind, out.apps, stopped)
}

// errNotRead marks an app a scan did not get to.
var errNotRead = errors.New("not read")

// notReadProblem says which apps of kind could not be read, and why.
func notReadProblem(ctx context.Context, kind rotation.DestKind, apps map[rotation.Holding]error, stopped error) string {
	var failed []string
	total := 0
	for h, err := range apps {
		if h.Kind != kind {
			continue
		}
		total++
		if err != nil {
			failed = append(failed, h.Target)
		}
	}
	if len(failed) == 0 {
		return ""
	}
	slices.Sort(failed)
	head := fmt.Sprintf("%d of %s could not be read", len(failed), words.Plural(total, kind.Word()+" app", kind.Word()+" apps"))
	switch {
	case stopped != nil:
		return head + ": " + rotation.ErrorMessage(stopped)
	case ctx.Err() != nil:
		return head + ": the scan ran out of time"
	}
	var parts []string
	for i, app := range failed {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("and %d more", len(failed)-3))
			break
		}
		err := apps[appKey(kind, app)]
		parts = append(parts, app+" ("+rotation.ErrorMessage(err)+")")
	}
	return head + ": " + strings.Join(parts, ", ")
}

// FindHolders scans for want and returns the places holding it that are not in
// skip, and looks at GitHub for the copies of the names skip's places use that
// no destination of the matrix is. It returns nil when nothing can be scanned
// (no scanner, no GitHub lister).
func (s *Scanner) FindHolders(ctx context.Context, want rotation.Digest, skip map[rotation.Holding]bool) *rotation.Discovery {
	if len(s.Scanners) == 0 && s.GitHub == nil {
		return nil
	}
	found, look := s.both(ctx, []rotation.Digest{want}, nil, s.githubNames(skip), false)
	d := &rotation.Discovery{At: s.Now().UTC()}
	var problems []string
	if found != nil {
		d.Seen, d.Read = found.seen, found.read
		for _, h := range found.holders[0] {
			if !skip[h] {
				d.Holders = append(d.Holders, h)
			}
		}
		problems = append(problems, found.problem)
	}
	if look != nil {
		d.GitHub, d.Repos, d.ReposSeen = true, look.repos, look.seen
		d.Copies = copiesOutside(look.found, s.matrixPlaces(), skip)
		problems = append(problems, look.problem)
	}
	d.Problem = joinProblems(problems)
	return d
}

// both runs the Heroku scan (when there is a scanner) and the look at GitHub
// (when there is a lister; own: on a listing of its own) at once; each result
// is nil when not run.
func (s *Scanner) both(ctx context.Context, wants []rotation.Digest, asked map[rotation.Holding]bool, names map[string]bool, own bool) (*scanned, *ghLook) {
	var (
		found *scanned
		look  *ghLook
		wg    sync.WaitGroup
	)
	if len(s.Scanners) > 0 {
		wg.Add(1)
		go func() { defer wg.Done(); found = s.scan(ctx, wants, asked) }()
	}
	if s.GitHub != nil {
		wg.Add(1)
		go func() { defer wg.Done(); look = s.lookGitHub(ctx, names, own) }()
	}
	wg.Wait()
	return found, look
}

func joinProblems(ps []string) string {
	var out []string
	for _, p := range ps {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "; ")
}

// WhereReport answers "where is this secret's current value held?": every app
// and variable holding it, in the routing matrix or not, and every destination
// of the matrix that does not hold it.
type WhereReport struct {
	Secret      string
	Fingerprint string
	Version     int
	// Seen and Read count the apps the key sees and those read; Problem says
	// what could not be read.
	Seen, Read int
	Problem    string
	Holding    []WhereHolding
	// Missing are Heroku destinations of the secret that do not hold the value.
	Missing []WhereMissing
	// Unchecked are destinations whose value cannot be read back (GitHub
	// Actions secrets are write-only; a shell rc is on someone's laptop).
	Unchecked []rotation.Destination
	// Heroku says Heroku apps were scanned. GitHub says GitHub was looked at:
	// Repos of ReposSeen repositories read, and Copies, every secret there
	// with a name the secret uses.
	Heroku, GitHub   bool
	Repos, ReposSeen int
	Copies           []WhereCopy
}

// WhereCopy is a GitHub secret with a name the secret uses: GitHub shows its
// date, never its value.
type WhereCopy struct {
	rotation.Copy
	// InMatrix: the place is a destination of this secret.
	InMatrix bool
	// Others are other secrets of the matrix that set this place.
	Others []string
}

// WhereHolding is one place holding the value.
type WhereHolding struct {
	rotation.Holding
	// InMatrix: the place is a destination of this secret.
	InMatrix bool
	// Others are other secrets of the matrix that set this place.
	Others []string
}

// WhereMissing is a destination of the secret that does not hold its value.
type WhereMissing struct {
	Destination rotation.Destination
	Why         string
}

// Where reads the secret's current value from the vault and scans every app the
// platform keys see for it. It writes nothing and keeps nothing.
func (s *Scanner) Where(ctx context.Context, secret string) (WhereReport, error) {
	sc, err := s.Matrix.Secret(secret)
	if err != nil {
		return WhereReport{}, err
	}
	if len(s.Scanners) == 0 && s.GitHub == nil {
		return WhereReport{}, rotation.Errorf(rotation.EINVALID, "HEROKU_API_KEY and GITHUB_TOKEN are not set: rotabot can look neither at Heroku apps nor at GitHub's secrets")
	}
	cur, _ := s.Matrix.Refs(secret)
	cctx, cancel := s.callCtx(ctx)
	vv, err := s.Vault.Read(cctx, cur)
	cancel()
	if err != nil {
		return WhereReport{}, rotation.Wrap(rotation.ErrorCode(err), err, "Could not read %s from Infisical: %s", secret, rotation.ErrorMessage(err))
	}
	rep := WhereReport{Secret: secret, Fingerprint: vv.Value.Fingerprint(), Version: vv.Version}
	dests := sc.Destinations()
	mine := rotation.HeldBy(secret, dests)
	others := map[rotation.Holding][]string{}
	for _, name := range s.Matrix.Names() {
		if name == secret {
			continue
		}
		for h := range rotation.HeldBy(name, s.Matrix.Secrets[name].Destinations()) {
			others[h] = append(others[h], name)
		}
	}
	// A person asking where the value is now (after removing a copy, say)
	// gets GitHub as it stands, not a listing shared with the runs.
	found, look := s.both(ctx, []rotation.Digest{vv.Value.Digest()}, mine, s.githubNames(mine), true)
	if look != nil {
		rep.GitHub, rep.Repos, rep.ReposSeen = true, look.repos, look.seen
		rep.Copies = whereCopies(secret, look.found, s.matrixPlaces())
	}
	if found == nil {
		found = &scanned{holders: make([][]rotation.Holding, 1)}
	}
	rep.Heroku = len(s.Scanners) > 0
	rep.Seen, rep.Read, rep.Problem = found.seen, found.read, joinProblems([]string{found.problem, look.problemText()})
	for _, h := range found.holders[0] {
		rep.Holding = append(rep.Holding, WhereHolding{Holding: h, InMatrix: mine[h], Others: others[h]})
	}
	for _, d := range dests {
		h := rotation.Holding{Kind: d.Kind, Target: d.Target, Name: d.VarName(secret)}
		if _, scannable := s.Scanners[d.Kind]; !scannable {
			if !slices.ContainsFunc(rep.Copies, func(c WhereCopy) bool { return c.InMatrix && placeKey(c.Holding) == placeKey(h) }) {
				rep.Unchecked = append(rep.Unchecked, d) // a GitHub secret found shows its date among the copies
			}
			continue
		}
		match, present := found.asked[h]
		appErr, seen := found.apps[appKey(d.Kind, d.Target)]
		why := ""
		switch {
		case present && match == 0:
			continue // holds it
		case !seen && found.seen > 0:
			why = "not among the apps HEROKU_API_KEY can see"
		case !seen:
			why = "not checked: the apps could not be listed"
		case errors.Is(appErr, errNotRead):
			why = "not read: the scan stopped before it"
		case appErr != nil:
			why = "could not be read: " + rotation.ErrorMessage(appErr)
		case !present:
			why = "has no " + h.Name + " config var"
		default:
			why = "holds another value"
		}
		rep.Missing = append(rep.Missing, WhereMissing{Destination: d, Why: why})
	}
	return rep, nil
}

// problemText is the look's problem ("" for no look).
func (l *ghLook) problemText() string {
	if l == nil {
		return ""
	}
	return l.problem
}

// whereCopies are the found secrets with, for each, whether secret sets it
// and which other secrets of the matrix do.
func whereCopies(secret string, found []rotation.Copy, places map[string][]string) []WhereCopy {
	sortCopies(found)
	out := make([]WhereCopy, 0, len(found))
	for _, c := range found {
		wc := WhereCopy{Copy: c}
		for _, name := range places[placeKey(c.Holding)] {
			if name == secret {
				wc.InMatrix = true
			} else {
				wc.Others = append(wc.Others, name)
			}
		}
		out = append(out, wc)
	}
	return out
}
