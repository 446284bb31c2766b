package rotation

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"
)

// Finding where a value is held, without keeping it.
//
// The most common way a rotation breaks production is a consumer nobody listed: an
// app that still reads the old token when it is revoked. A platform whose apps hold
// config vars (Heroku) can be asked for every app its key sees and for each app's
// config. A scan (rotation/discover, reached through the HolderFinder port)
// compares the SHA-256 of every value with the digests it looks for, in memory,
// and keeps only the names — app and variable — of the matches: no value, and no
// digest of any variable, is kept, stored or shown. Here are what a scan reads
// and reports, and the port; verify's last look for the old token is in
// step_verify.go.

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
	// GitHub says GitHub's secrets were looked at too: Repos of the ReposSeen
	// repositories its access lists, and Copies found there.
	GitHub    bool   `json:"github,omitempty"`
	Repos     int    `json:"repos,omitempty"`
	ReposSeen int    `json:"repos_seen,omitempty"`
	Copies    []Copy `json:"copies,omitempty"`
}

// Copy is a secret GitHub keeps under a name the secret uses in the routing
// matrix, at a place that is none of its destinations. GitHub never shows a
// value, only names and dates: it may hold the token.
type Copy struct {
	Holding
	Updated time.Time `json:"updated"`
}

// Complete reports whether every app the key sees was read.
func (d *Discovery) Complete() bool { return d != nil && d.Problem == "" }

// HolderFinder finds where a value is held beyond the places it is meant to be
// (rotation/discover scans every app the platform keys see).
type HolderFinder interface {
	// FindHolders scans for want and returns the places holding it that are
	// not in skip, names only; nil when nothing can be scanned. It never fails
	// as a whole: what could not be read is said in the Discovery's Problem.
	FindHolders(ctx context.Context, want Digest, skip map[Holding]bool) *Discovery
	// VerifyText is what verify's line says of d: "" when no scan was made.
	VerifyText(d *Discovery) string
}

// verifyScanLimit bounds the scan for the old token that ends verify (and a dry
// run's): a rate-limited scan reports what it covered rather than hold the run.
const verifyScanLimit = 2 * time.Minute

// HeldBy lists the places the run's (or plan's) destinations set, by kind.
func HeldBy(secret string, ds []Destination) map[Holding]bool {
	out := map[Holding]bool{}
	for _, d := range ds {
		out[Holding{Kind: d.Kind, Target: d.Target, Name: d.VarName(secret)}] = true
	}
	return out
}
