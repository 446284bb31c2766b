package rotationtest

import (
	"context"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// Small hand-written fakes of the vault and of GitHub, shared by the engine's
// tests and by those of the services built on it (rotation/drift). They keep
// real values, so a test can check where every token ended up; the contract
// suites above hold the real adapters to the same behaviour.

// MemVault is an in-memory rotation.Vault: every version of every secret is kept
// ("" is a deleted one), as Infisical keeps a secret's history. Build it with
// NewMemVault.
type MemVault struct {
	mu       sync.Mutex
	versions map[string][]string // ref → values by version-1 ("" = deleted)
	writes   map[string]int
	fail     map[string]error // ref → the error of every call
	// failVersions is the error of every ReadVersion, when set.
	failVersions error
}

var _ rotation.Vault = (*MemVault)(nil)

// NewMemVault returns an empty vault.
func NewMemVault() *MemVault {
	return &MemVault{versions: map[string][]string{}, writes: map[string]int{}, fail: map[string]error{}}
}

func refKey(ref rotation.VaultRef) string { return ref.Environment + ":" + ref.Path + ref.Key }

// Set adds val as ref's newest version, as a person writing in Infisical does
// (it is not counted in Writes).
func (v *MemVault) Set(ref rotation.VaultRef, val string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.versions[refKey(ref)] = append(v.versions[refKey(ref)], val)
}

// Current is ref's current value and version ("" and 0 when it has none).
func (v *MemVault) Current(ref rotation.VaultRef) (string, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vs := v.versions[refKey(ref)]
	if len(vs) == 0 || vs[len(vs)-1] == "" {
		return "", 0
	}
	return vs[len(vs)-1], len(vs)
}

// Fail makes every Read and Write of ref answer err; nil ends it.
func (v *MemVault) Fail(ref rotation.VaultRef, err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err == nil {
		delete(v.fail, refKey(ref))
		return
	}
	v.fail[refKey(ref)] = err
}

// FailVersions makes every ReadVersion answer err; nil ends it.
func (v *MemVault) FailVersions(err error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.failVersions = err
}

// Writes counts the Writes of ref.
func (v *MemVault) Writes(ref rotation.VaultRef) int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.writes[refKey(ref)]
}

// Erase removes version n of ref from its history, as a person deleting it in
// Infisical does.
func (v *MemVault) Erase(ref rotation.VaultRef, n int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vs := v.versions[refKey(ref)]; n >= 1 && n <= len(vs) {
		vs[n-1] = ""
	}
}

// Read returns ref's current value; a secret without one is ENOTFOUND.
func (v *MemVault) Read(_ context.Context, ref rotation.VaultRef) (rotation.VaultValue, error) {
	v.mu.Lock()
	err := v.fail[refKey(ref)]
	v.mu.Unlock()
	if err != nil {
		return rotation.VaultValue{}, err
	}
	val, n := v.Current(ref)
	if n == 0 {
		return rotation.VaultValue{}, rotation.Errorf(rotation.ENOTFOUND, "no secret %s", ref.Key)
	}
	return rotation.VaultValue{Value: rotation.NewSecret(val), Version: n}, nil
}

// ReadVersion returns version n of ref; a version it does not hold is ENOTFOUND.
func (v *MemVault) ReadVersion(_ context.Context, ref rotation.VaultRef, n int) (rotation.Secret, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failVersions != nil {
		return rotation.Secret{}, v.failVersions
	}
	vs := v.versions[refKey(ref)]
	if n < 1 || n > len(vs) || vs[n-1] == "" {
		return rotation.Secret{}, rotation.Errorf(rotation.ENOTFOUND, "no version %d", n)
	}
	return rotation.NewSecret(vs[n-1]), nil
}

// Write adds val as ref's newest version and returns its number.
func (v *MemVault) Write(_ context.Context, ref rotation.VaultRef, val rotation.Secret) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.fail[refKey(ref)]; err != nil {
		return 0, err
	}
	v.writes[refKey(ref)]++
	v.versions[refKey(ref)] = append(v.versions[refKey(ref)], val.Reveal())
	return len(v.versions[refKey(ref)]), nil
}

// Delete adds a deleted version, unless ref has no current value.
func (v *MemVault) Delete(_ context.Context, ref rotation.VaultRef) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vs := v.versions[refKey(ref)]; len(vs) > 0 && vs[len(vs)-1] != "" {
		v.versions[refKey(ref)] = append(vs, "")
	}
	return nil
}

// MemGitHub is GET /user, the workload probe and POST /credentials/revoke in
// memory (a rotation.TokenChecker and a rotation.Revoker): it knows the tokens
// it was given by value and refuses every other (401). Build it with NewMemGitHub.
type MemGitHub struct {
	mu      sync.Mutex
	tokens  map[string]*token
	revokes int
}

type token struct {
	info    rotation.TokenInfo
	revoked bool
	probeOK bool
}

var (
	_ rotation.TokenChecker = (*MemGitHub)(nil)
	_ rotation.Revoker      = (*MemGitHub)(nil)
)

// NewMemGitHub returns a MemGitHub that knows no token.
func NewMemGitHub() *MemGitHub { return &MemGitHub{tokens: map[string]*token{}} }

// Add makes tok a token of login expiring at expires (zero: never), seeing one
// repository, whose workload probe answers.
func (g *MemGitHub) Add(tok, login string, expires time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	kind, _ := rotation.ShapeOf(tok)
	g.tokens[tok] = &token{info: rotation.TokenInfo{Login: login, Kind: kind, ExpiresAt: expires, Repos: 1}, probeOK: true}
}

// Delete is tok deleted in GitHub's settings: it answers 401 from now on.
func (g *MemGitHub) Delete(tok string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.tokens[tok]; ok {
		t.revoked = true
	}
}

// NoProbe makes the workload probe refuse tok (404).
func (g *MemGitHub) NoProbe(tok string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if t, ok := g.tokens[tok]; ok {
		t.probeOK = false
	}
}

// Revokes counts the calls of Revoke.
func (g *MemGitHub) Revokes() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.revokes
}

// Check answers who tok is; a token it does not know, or revoked, is
// EUNAUTHORIZED.
func (g *MemGitHub) Check(_ context.Context, tok rotation.Secret) (rotation.TokenInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[tok.Reveal()]
	if !ok || t.revoked {
		return rotation.TokenInfo{}, rotation.Errorf(rotation.EUNAUTHORIZED, "GitHub refused the token (401 Bad credentials)")
	}
	return t.info, nil
}

// Probe answers 404 for a token it does not know, revoked, or NoProbe.
func (g *MemGitHub) Probe(_ context.Context, tok rotation.Secret, path string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[tok.Reveal()]
	if !ok || t.revoked || !t.probeOK {
		return rotation.Errorf(rotation.ENOTFOUND, "GET %s answered 404", path)
	}
	return nil
}

// Revoke revokes tok: it answers 401 from now on.
func (g *MemGitHub) Revoke(_ context.Context, tok rotation.Secret) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revokes++
	if t, ok := g.tokens[tok.Reveal()]; ok {
		t.revoked = true
	}
	return nil
}
