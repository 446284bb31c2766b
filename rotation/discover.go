package rotation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Finding where a value is held, without keeping it.
//
// The most common way a rotation breaks production is a consumer nobody listed: an
// app that still reads the old token when it is revoked. A platform whose apps hold
// config vars (Heroku) can be asked for every app its key sees and for each app's
// config. A scan compares the SHA-256 of every value with the digests it looks for,
// in memory, and keeps only the names — app and variable — of the matches: no value,
// and no digest of any variable, is kept, stored or shown.

// Digest is the SHA-256 of a value: what a scan compares. It is dropped after the
// comparison, never stored or shown (people see the 8-hex Fingerprint), and it
// refuses to print itself.
type Digest [sha256.Size]byte

// Digest returns the SHA-256 of the value.
func (s Secret) Digest() Digest { return sha256.Sum256([]byte(s.v)) }

func (Digest) String() string               { return "[digest]" }
func (Digest) GoString() string             { return "rotation.Digest{[digest]}" }
func (Digest) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte("[digest]")) }
func (Digest) MarshalText() ([]byte, error) { return []byte("[digest]"), nil }

// ConfigScanner reads the config of every app a platform's key can see (Heroku).
// It is rate-limit aware: it slows down, then stops with an error carrying
// ErrRateBudget, well before the platform's limit is used up.
type ConfigScanner interface {
	// Apps lists the names of every app the key can see.
	Apps(ctx context.Context) ([]string, error)
	// ScanConfig reads target's config once and calls each with every
	// variable's name and the digest of its value, on the caller's goroutine,
	// once the whole config was read. Values are never returned or kept.
	ScanConfig(ctx context.Context, target string, each func(name string, sum Digest)) error
}

// ErrRateBudget: a scan stopped because the platform's rate limit is nearly used
// up; what is left is kept for rotations.
var ErrRateBudget = errors.New("rate limit nearly used up")

// Holding is one variable of one app: a place a value is held.
type Holding struct {
	Kind   DestKind `json:"kind"`
	Target string   `json:"target"` // the app
	Name   string   `json:"name"`   // the config var
}

// Label names the place for people: "raxx-legacy-cron · GH_TOKEN".
func (h Holding) Label() string { return h.Target + " · " + h.Name }

// Discovery is what a scan for one value found beyond the places it was meant to
// be: app and variable names only.
type Discovery struct {
	At time.Time `json:"at"`
	// Seen is how many apps the key can see; Read how many configs were read.
	Seen int `json:"seen"`
	Read int `json:"read"`
	// Holders hold the value and are not destinations of the run.
	Holders []Holding `json:"holders,omitempty"`
	// Problem says why the scan did not cover every app ("" when it did).
	Problem string `json:"problem,omitempty"`
}

// Complete reports whether every app the key sees was read.
func (d *Discovery) Complete() bool { return d != nil && d.Problem == "" }

// Summary says what the scan covered: "scanned 4 Heroku apps".
func (d *Discovery) Summary() string {
	if d == nil {
		return ""
	}
	s := "scanned " + Plural(d.Read, "Heroku app", "Heroku apps")
	if d.Read < d.Seen {
		s = fmt.Sprintf("scanned %d of %s", d.Read, Plural(d.Seen, "Heroku app", "Heroku apps"))
	}
	return s
}

// Defaults of a scan.
const (
	// DefaultScanParallel is how many configs a scan reads at once: 200 apps at
	// 200 ms a request take about 4 s.
	DefaultScanParallel = 10
	// verifyScanLimit bounds the scan for the old token that ends verify (and a
	// dry run's): a rate-limited scan reports what it covered rather than hold
	// the run.
	verifyScanLimit = 2 * time.Minute
)

// scanned is what one scan found: for each wanted digest the places holding it,
// and for each place asked about whether it holds a variable of that name and
// which wanted digest its value has (-1 for none).
type scanned struct {
	seen, read int
	// apps maps every app seen to the error of reading it (nil: read).
	apps    map[Holding]error // keyed by Kind and Target only
	holders [][]Holding
	asked   map[Holding]int // -1: present, matches none; absent key: not present
	problem string
}

func appKey(kind DestKind, target string) Holding { return Holding{Kind: kind, Target: target} }

// scan reads the config of every app of every scanner, ScanParallel at a time,
// and reports where each of wants is held. asked lists places whose presence is
// reported whatever they hold. It never fails as a whole: what could not be read
// is said in problem.
func (e *Engine) scan(ctx context.Context, wants []Digest, asked map[Holding]bool) *scanned {
	out := &scanned{apps: map[Holding]error{}, holders: make([][]Holding, len(wants)), asked: map[Holding]int{}}
	var problems []string
	var mu sync.Mutex
	kinds := make([]DestKind, 0, len(e.Scanners))
	for k := range e.Scanners {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, kind := range kinds {
		sc := e.Scanners[kind]
		cctx, cancel := e.callCtx(ctx)
		apps, err := sc.Apps(cctx)
		cancel()
		if err != nil {
			problems = append(problems, fmt.Sprintf("could not list the %s apps: %s", kind.Word(), ErrorMessage(err)))
			continue
		}
		out.seen += len(apps)
		var stopped error
		sem := make(chan struct{}, e.ScanParallel)
		var wg sync.WaitGroup
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
					sum  Digest
				}
				var vars []seen
				cctx, cancel := e.callCtx(ctx)
				err := sc.ScanConfig(cctx, app, func(name string, sum Digest) { vars = append(vars, seen{name, sum}) })
				cancel()
				mu.Lock()
				defer mu.Unlock()
				out.apps[appKey(kind, app)] = err
				if err != nil {
					if errors.Is(err, ErrRateBudget) && stopped == nil {
						stopped = err
					}
					return
				}
				out.read++
				for _, v := range vars {
					h := Holding{Kind: kind, Target: app, Name: v.name}
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
		if p := notReadProblem(ctx, kind, out.apps, stopped); p != "" {
			problems = append(problems, p)
		}
	}
	for i := range out.holders {
		slices.SortFunc(out.holders[i], func(a, b Holding) int {
			return strings.Compare(a.Target+"\x00"+a.Name, b.Target+"\x00"+b.Name)
		})
	}
	out.problem = strings.Join(problems, "; ")
	return out
}

// errNotRead marks an app a scan did not get to.
var errNotRead = errors.New("not read")

// notReadProblem says which apps of kind could not be read, and why.
func notReadProblem(ctx context.Context, kind DestKind, apps map[Holding]error, stopped error) string {
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
	head := fmt.Sprintf("%d of %s could not be read", len(failed), Plural(total, kind.Word()+" app", kind.Word()+" apps"))
	switch {
	case stopped != nil:
		return head + ": " + ErrorMessage(stopped)
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
		parts = append(parts, app+" ("+ErrorMessage(err)+")")
	}
	return head + ": " + strings.Join(parts, ", ")
}

// discover scans for want and returns the places holding it that are not in
// skip. It returns nil when nothing can be scanned (no scanner configured).
func (e *Engine) discover(ctx context.Context, want Digest, skip map[Holding]bool) *Discovery {
	if len(e.Scanners) == 0 {
		return nil
	}
	s := e.scan(ctx, []Digest{want}, nil)
	d := &Discovery{At: e.now(), Seen: s.seen, Read: s.read, Problem: s.problem}
	for _, h := range s.holders[0] {
		if !skip[h] {
			d.Holders = append(d.Holders, h)
		}
	}
	return d
}

// heldBy lists the places the run's (or plan's) destinations set, by kind.
func heldBy(secret string, ds []Destination) map[Holding]bool {
	out := map[Holding]bool{}
	for _, d := range ds {
		out[Holding{Kind: d.Kind, Target: d.Target, Name: d.VarName(secret)}] = true
	}
	return out
}

// discoverOld ends verify: it scans for the old token, which is about to be
// revoked, and returns the places outside the run's destinations that still hold
// it. nil when nothing can be scanned or the old token is not known.
func (e *Engine) discoverOld(ctx context.Context, r *Run) *Discovery {
	if len(e.Scanners) == 0 || r.VaultVersionBefore == 0 || r.OldFingerprint == "" {
		return nil
	}
	cur, _ := e.refs(r)
	cctx, cancel := e.callCtx(ctx)
	old, err := e.Vault.ReadVersion(cctx, cur, r.VaultVersionBefore)
	cancel()
	switch {
	case err != nil:
		return &Discovery{At: e.now(), Problem: "could not read the old token from Infisical to look for it: " + ErrorMessage(err)}
	case old.Fingerprint() != r.OldFingerprint:
		return &Discovery{At: e.now(), Problem: fmt.Sprintf("Infisical version %d of %s is not the old token, so rotabot could not look for it", r.VaultVersionBefore, r.Secret)}
	}
	sctx, stop := context.WithTimeout(ctx, verifyScanLimit)
	defer stop()
	d := e.discover(sctx, old.Digest(), heldBy(r.Secret, r.Destinations))
	if ctx.Err() != nil {
		return nil // stopping: the resumed verify scans again
	}
	return d
}

// OldHolderLine says what the scan for the old token found at one place, for the
// card and the CLI's SUMMARY; revoked says whether the old token was revoked
// already.
func OldHolderLine(h Holding, revoked bool) string {
	if revoked {
		return h.Label() + " held the old token at verify: it breaks if it still does"
	}
	return h.Label() + " still holds the old token: revoking breaks it"
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
	Unchecked []Destination
}

// WhereHolding is one place holding the value.
type WhereHolding struct {
	Holding
	// InMatrix: the place is a destination of this secret.
	InMatrix bool
	// Others are other secrets of the matrix that set this place.
	Others []string
}

// WhereMissing is a destination of the secret that does not hold its value.
type WhereMissing struct {
	Destination Destination
	Why         string
}

// Where reads the secret's current value from the vault and scans every app the
// platform keys see for it. It writes nothing and keeps nothing.
func (e *Engine) Where(ctx context.Context, secret string) (WhereReport, error) {
	sc, err := e.Matrix.Secret(secret)
	if err != nil {
		return WhereReport{}, err
	}
	if len(e.Scanners) == 0 {
		return WhereReport{}, Errorf(EINVALID, "HEROKU_API_KEY is not set: rotabot cannot look at Heroku apps without it")
	}
	cur, _ := e.Matrix.Refs(secret)
	cctx, cancel := e.callCtx(ctx)
	vv, err := e.Vault.Read(cctx, cur)
	cancel()
	if err != nil {
		return WhereReport{}, Wrap(ErrorCode(err), err, "Could not read %s from Infisical: %s", secret, ErrorMessage(err))
	}
	rep := WhereReport{Secret: secret, Fingerprint: vv.Value.Fingerprint(), Version: vv.Version}
	dests := destinations(sc, Overrides{})
	mine := heldBy(secret, dests)
	others := map[Holding][]string{}
	for _, name := range e.Matrix.Names() {
		if name == secret {
			continue
		}
		for h := range heldBy(name, destinations(e.Matrix.Secrets[name], Overrides{})) {
			others[h] = append(others[h], name)
		}
	}
	s := e.scan(ctx, []Digest{vv.Value.Digest()}, mine)
	rep.Seen, rep.Read, rep.Problem = s.seen, s.read, s.problem
	for _, h := range s.holders[0] {
		rep.Holding = append(rep.Holding, WhereHolding{Holding: h, InMatrix: mine[h], Others: others[h]})
	}
	for _, d := range dests {
		h := Holding{Kind: d.Kind, Target: d.Target, Name: d.VarName(secret)}
		if _, scannable := e.Scanners[d.Kind]; !scannable {
			rep.Unchecked = append(rep.Unchecked, d)
			continue
		}
		match, present := s.asked[h]
		appErr, seen := s.apps[appKey(d.Kind, d.Target)]
		why := ""
		switch {
		case present && match == 0:
			continue // holds it
		case !seen && s.seen > 0:
			why = "not among the apps HEROKU_API_KEY can see"
		case !seen:
			why = "not checked: the apps could not be listed"
		case errors.Is(appErr, errNotRead):
			why = "not read: the scan stopped before it"
		case appErr != nil:
			why = "could not be read: " + ErrorMessage(appErr)
		case !present:
			why = "has no " + h.Name + " config var"
		default:
			why = "holds another value"
		}
		rep.Missing = append(rep.Missing, WhereMissing{Destination: d, Why: why})
	}
	return rep, nil
}

// VerifyText is what verify's line says of the scan: "" when none was made.
func (d *Discovery) VerifyText() string {
	switch {
	case d == nil:
		return ""
	case d.Seen == 0 && d.Problem != "":
		return "; the scan for other holders of the old token failed: " + d.Problem
	}
	s := "; " + d.Summary() + " for the old token: "
	switch n := len(d.Holders); {
	case n == 0:
		s += "nothing outside the routing matrix holds it"
	case n == 1:
		s += d.Holders[0].Label() + " still holds it"
	default:
		s += fmt.Sprintf("%d places outside the routing matrix still hold it", n)
	}
	if d.Problem != "" {
		s += " (" + d.Problem + ")"
	}
	return s
}

// PlanLines are what a dry run adds to the plan: the consumers of the current
// value that the plan does not reach (plain text, for the CLI and Slack alike).
func (d *Discovery) PlanLines() []string {
	if d == nil {
		return nil
	}
	var out []string
	switch {
	case d.Seen == 0 && d.Problem != "":
		return []string{"  unknown consumers: the scan failed: " + d.Problem}
	case len(d.Holders) == 0:
		out = append(out, "  unknown consumers: none ("+d.Summary()+"; nothing outside the routing matrix holds the current value)")
	default:
		out = append(out, fmt.Sprintf("  unknown consumers (%d) — they hold the current value but are not in the routing matrix, so a rotation would not update them and revoking the old token would break them (%s):",
			len(d.Holders), d.Summary()))
		for _, h := range d.Holders {
			out = append(out, "    - "+h.Kind.Word()+" "+h.Label())
		}
	}
	if d.Problem != "" && d.Seen > 0 {
		out = append(out, "  ⚠ the scan is incomplete: "+d.Problem)
	}
	return out
}
