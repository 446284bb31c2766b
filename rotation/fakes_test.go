package rotation_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/raxx-app/rotabot/rotation"
	"github.com/raxx-app/rotabot/rotation/rotationtest"
)

// Small hand-written fakes of the outside world. They keep real values so a test
// can check where every token ended up.

// The vault and GitHub are rotationtest's, shared with the services' tests.
type (
	fakeVault  = rotationtest.MemVault
	fakeGitHub = rotationtest.MemGitHub
)

func newFakeVault() *fakeVault   { return rotationtest.NewMemVault() }
func newFakeGitHub() *fakeGitHub { return rotationtest.NewMemGitHub() }

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
