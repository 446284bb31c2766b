package rotation_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
)

// Small hand-written fakes of the outside world. They keep real values so a test
// can check where every token ended up.

type fakeVault struct {
	mu       sync.Mutex
	versions map[string][]string // ref → values by version-1 ("" = deleted)
	writes   map[string]int
	fail     map[string]error // ref key → error for every call
	// failVersions is the error of every ReadVersion, when set.
	failVersions error
}

func newFakeVault() *fakeVault {
	return &fakeVault{versions: map[string][]string{}, writes: map[string]int{}, fail: map[string]error{}}
}

func key(ref rotation.VaultRef) string { return ref.Environment + ":" + ref.Path + ref.Key }

func (v *fakeVault) set(ref rotation.VaultRef, val string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.versions[key(ref)] = append(v.versions[key(ref)], val)
}

func (v *fakeVault) current(ref rotation.VaultRef) (string, int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	vs := v.versions[key(ref)]
	if len(vs) == 0 || vs[len(vs)-1] == "" {
		return "", 0
	}
	return vs[len(vs)-1], len(vs)
}

func (v *fakeVault) Read(_ context.Context, ref rotation.VaultRef) (rotation.VaultValue, error) {
	v.mu.Lock()
	err := v.fail[key(ref)]
	v.mu.Unlock()
	if err != nil {
		return rotation.VaultValue{}, err
	}
	val, n := v.current(ref)
	if n == 0 {
		return rotation.VaultValue{}, rotation.Errorf(rotation.ENOTFOUND, "no secret %s", ref.Key)
	}
	return rotation.VaultValue{Value: rotation.NewSecret(val), Version: n}, nil
}

func (v *fakeVault) ReadVersion(_ context.Context, ref rotation.VaultRef, n int) (rotation.Secret, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failVersions != nil {
		return rotation.Secret{}, v.failVersions
	}
	vs := v.versions[key(ref)]
	if n < 1 || n > len(vs) || vs[n-1] == "" {
		return rotation.Secret{}, rotation.Errorf(rotation.ENOTFOUND, "no version %d", n)
	}
	return rotation.NewSecret(vs[n-1]), nil
}

func (v *fakeVault) Write(_ context.Context, ref rotation.VaultRef, val rotation.Secret) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.fail[key(ref)]; err != nil {
		return 0, err
	}
	v.writes[key(ref)]++
	v.versions[key(ref)] = append(v.versions[key(ref)], val.Reveal())
	return len(v.versions[key(ref)]), nil
}

func (v *fakeVault) Delete(_ context.Context, ref rotation.VaultRef) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if vs := v.versions[key(ref)]; len(vs) > 0 && vs[len(vs)-1] != "" {
		v.versions[key(ref)] = append(vs, "")
	}
	return nil
}

type tokenInfo struct {
	info    rotation.TokenInfo
	revoked bool
	probeOK bool
}

type fakeGitHub struct {
	mu      sync.Mutex
	tokens  map[string]*tokenInfo
	revokes int
	down    error // every call fails with it
}

func newFakeGitHub() *fakeGitHub { return &fakeGitHub{tokens: map[string]*tokenInfo{}} }

func (g *fakeGitHub) add(tok, login string, expires time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	kind, _ := rotation.TokenShape(tok)
	g.tokens[tok] = &tokenInfo{info: rotation.TokenInfo{Login: login, Kind: kind, ExpiresAt: expires, Repos: 1}, probeOK: true}
}

func (g *fakeGitHub) Check(_ context.Context, tok rotation.Secret) (rotation.TokenInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.down != nil {
		return rotation.TokenInfo{}, g.down
	}
	t, ok := g.tokens[tok.Reveal()]
	if !ok || t.revoked {
		return rotation.TokenInfo{}, rotation.Errorf(rotation.EUNAUTHORIZED, "GitHub refused the token (401 Bad credentials)")
	}
	return t.info, nil
}

func (g *fakeGitHub) Probe(_ context.Context, tok rotation.Secret, path string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	t, ok := g.tokens[tok.Reveal()]
	if !ok || t.revoked || !t.probeOK {
		return rotation.Errorf(rotation.ENOTFOUND, "GET %s answered 404", path)
	}
	return nil
}

func (g *fakeGitHub) Revoke(_ context.Context, tok rotation.Secret) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revokes++
	if t, ok := g.tokens[tok.Reveal()]; ok {
		t.revoked = true
	}
	return nil
}

type fakeConsumer struct {
	mu     sync.Mutex
	kind   string
	values map[string]string // target → value
	sets   map[string]int
	fail   map[string]error
	// onSet runs after a successful set (a test's crash hook).
	onSet func(target string)
}

func newFakeConsumer(kind string) *fakeConsumer {
	return &fakeConsumer{kind: kind, values: map[string]string{}, sets: map[string]int{}, fail: map[string]error{}}
}

func (c *fakeConsumer) Set(_ context.Context, target, name string, v rotation.Secret) error {
	c.mu.Lock()
	if err := c.fail[target]; err != nil {
		c.mu.Unlock()
		return err
	}
	c.sets[target]++
	c.values[target] = v.Reveal()
	hook := c.onSet
	c.mu.Unlock()
	if hook != nil {
		hook(target)
	}
	return nil
}

func (c *fakeConsumer) Verify(_ context.Context, target, name string, v rotation.Secret, since time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values[target] != v.Reveal() {
		return rotation.Errorf(rotation.EINVALID, "%s %s holds a different value", c.kind, target)
	}
	return nil
}

func (c *fakeConsumer) value(target string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[target]
}

func (c *fakeConsumer) count(target string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sets[target]
}

type fakeNotifier struct {
	mu      sync.Mutex
	notes   []string
	asked   map[string][]rotation.OperatorAction
	audits  []rotation.AuditEntry
	changes int
	posted  int // cards posted
	// auditErr fails every audit post (an archived audit channel).
	auditErr error
}

func newFakeNotifier() *fakeNotifier {
	return &fakeNotifier{asked: map[string][]rotation.OperatorAction{}}
}

func (n *fakeNotifier) RunChanged(_ context.Context, r *rotation.Run, note string) (rotation.CardRef, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.changes++
	n.notes = append(n.notes, fmt.Sprintf("%s %s: %s", r.ID, r.State, note))
	card := r.Card
	if card.Channel != "" && card.TS == "" {
		n.posted++
		card.TS = fmt.Sprintf("1700000000.%06d", n.posted) // as chat.postMessage answers
	}
	return card, nil
}

func (n *fakeNotifier) AskOperator(_ context.Context, r *rotation.Run, op string, a rotation.OperatorAction) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.asked[op] = append(n.asked[op], a)
	return nil
}

func (n *fakeNotifier) Audited(_ context.Context, r *rotation.Run, e rotation.AuditEntry) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.auditErr != nil {
		return n.auditErr
	}
	n.audits = append(n.audits, e)
	return nil
}
