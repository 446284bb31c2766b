package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/raxx-app/rotabot/internal/words"
	"github.com/raxx-app/rotabot/rotation"
)

// What may name the routing matrix.
const (
	FromFlag    = "--config"
	FromEnv     = envConfig
	FromDefault = ""
)

// Source is where the routing matrix is read from, and what named it: the
// --config flag, ROTABOT_CONFIG, or neither (./rotabot.yaml). A matrix that cannot
// be read is blamed on what named it, so the fix lands in the right place.
type Source struct {
	// From is FromFlag, FromEnv or FromDefault.
	From string
	// Value is a path, the YAML itself, or base64 of it.
	Value string
}

// SourceOf picks the routing matrix's source: the flag when it was given, else
// ROTABOT_CONFIG when it is set — even to nothing, a mistake Load names — else
// ./rotabot.yaml.
func SourceOf(flagValue string, flagGiven bool, lookup func(string) (string, bool)) Source {
	if flagGiven {
		return Source{From: FromFlag, Value: flagValue}
	}
	if v, ok := lookup(envConfig); ok {
		return Source{From: FromEnv, Value: v}
	}
	return Source{From: FromDefault, Value: DefaultConfigPath}
}

// Name is what problems in the matrix are named after: the file's path, or what
// named the matrix when it holds the YAML itself (ROTABOT_CONFIG:8: …).
func (s Source) Name() string {
	v := strings.TrimSpace(s.Value)
	if v == "" {
		v = DefaultConfigPath
	}
	if c := classify(v); c.kind != fromPath && s.From != FromDefault {
		return s.From
	}
	return v
}

type sourceKind int

const (
	fromPath sourceKind = iota
	fromInline
	fromBase64
)

// classified is what a source value holds.
type classified struct {
	kind sourceKind
	data []byte // the YAML, for fromInline and fromBase64
	// cut is set for base64 that looks cut short: it decodes to YAML that stops
	// in the middle of a line, or decodes only once its last character is
	// dropped (no base64 is 4n+1 long).
	cut bool
	// notMatrix, for a value that decodes as base64 to something other than a
	// routing matrix, says what it decodes to.
	notMatrix string
}

var (
	// matrixStartRe is a line that starts with one of the matrix's top keys.
	matrixStartRe = regexp.MustCompile(`(?m)^(` + strings.Join(topKeys, "|") + `)[ \t]*:`)
	base64Re      = regexp.MustCompile(`^[A-Za-z0-9+/_-]+=*$`)
	encodings     = []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding}
)

// classify tells what a source value holds: a path, the YAML itself (it has a
// line break or starts like a routing matrix), or base64 of the YAML (wrapped or
// not, standard or URL alphabet). Base64 is tried first, since its alphabet cannot
// hold a YAML key's colon; a path that happens to be base64-shaped decodes to no
// matrix and stays a path.
func classify(v string) classified {
	compact := strings.Join(strings.Fields(v), "")
	if len(compact) >= 8 && base64Re.MatchString(compact) {
		if b, ok := decodeBase64(compact); ok {
			if utf8.Valid(b) && looksLikeMatrix(string(b)) {
				return classified{kind: fromBase64, data: b, cut: !strings.HasSuffix(string(b), "\n")}
			}
			if len(compact) >= 16 && !strings.HasPrefix(compact, "/") {
				return classified{kind: fromPath, notMatrix: describeDecoded(b)}
			}
		} else if b, ok := decodeBase64(compact[:len(compact)-1]); ok && utf8.Valid(b) && looksLikeMatrix(string(b)) {
			// No base64 is 4n+1 characters long: the end was lost.
			return classified{kind: fromBase64, data: b, cut: true}
		}
	}
	if strings.ContainsAny(v, "\r\n") || looksLikeMatrix(v) {
		return classified{kind: fromInline, data: []byte(v)}
	}
	return classified{kind: fromPath}
}

func decodeBase64(s string) ([]byte, bool) {
	for _, enc := range encodings {
		if b, err := enc.DecodeString(s); err == nil {
			return b, true
		}
	}
	return nil, false
}

// describeDecoded says what base64 that is no routing matrix decodes to, without
// repeating any of it.
func describeDecoded(b []byte) string {
	t := strings.TrimSpace(string(b))
	switch {
	case !utf8.Valid(b):
		return "binary data, not YAML"
	case !strings.ContainsAny(t, " \t") && len(t) >= 8 && base64Re.MatchString(strings.Join(strings.Fields(t), "")):
		return "more base64: it was encoded twice"
	}
	return "text that is not a routing matrix (no ops_usergroup, channel, vault or secrets)"
}

func looksLikeMatrix(s string) bool {
	t := strings.TrimSpace(s)
	return matrixStartRe.MatchString(s) || strings.HasPrefix(t, "---") || strings.HasPrefix(t, "{")
}

// Load reads and checks the routing matrix. The error is for a matrix that cannot
// be read at all — no file, an empty ROTABOT_CONFIG, base64 of something else or
// cut short — each with its own message naming what named the matrix. Mistakes
// inside it are problems, all of them, sorted by line; the matrix is nil whenever
// there is one.
func (s Source) Load() (*rotation.Matrix, []Problem, error) {
	v := strings.TrimSpace(s.Value)
	if v == "" {
		switch s.From {
		case FromEnv:
			return nil, nil, rotation.Errorf(rotation.EINVALID, "ROTABOT_CONFIG is set but empty — it should hold the routing matrix: a path, the YAML, or base64 of it. "+
				"An empty value is what $(base64 -w0 rotabot.yaml) leaves when base64 fails (macOS's base64 has no -w: use base64 -i rotabot.yaml | tr -d '\\n'); unset it to read ./rotabot.yaml")
		case FromFlag:
			return nil, nil, rotation.Errorf(rotation.EINVALID, "--config is empty — give the routing matrix's path (or its YAML, or base64 of it)")
		}
		v = DefaultConfigPath
	}
	c := classify(v)
	switch c.kind {
	case fromInline:
		m, probs := Parse(s.Name(), c.data)
		return m, probs, nil
	case fromBase64:
		// A matrix cut short may still parse — without the secrets or consumers
		// after the cut — so it is refused even then. (A file whose last line has
		// no line break looks the same: it needs one.)
		m, probs := Parse(s.Name(), c.data)
		if c.cut {
			lines := strings.Count(string(c.data), "\n") + 1
			what := "what is there parses, but would lack whatever was cut off"
			if len(probs) > 0 {
				what = fmt.Sprintf("what is there has %s (first: %s)", words.Plural(len(probs), "problem", "problems"), probs[0].String())
			}
			return nil, nil, rotation.Errorf(rotation.EINVALID, "%s holds base64 of a routing matrix that looks cut short: it decodes to %d lines and stops in the middle of one; %s — copy the whole value again, e.g. base64 -w0 rotabot.yaml (if the file itself ends without a line break, add one first)",
				s.From, lines, what)
		}
		return m, probs, nil
	}
	data, err := os.ReadFile(v)
	if err != nil {
		if c.notMatrix != "" && !errors.Is(err, fs.ErrPermission) {
			return nil, nil, rotation.Wrap(rotation.EINVALID, err, "%s holds base64, but it decodes to %s — encode the routing matrix file itself, e.g. base64 -w0 rotabot.yaml",
				s.From, c.notMatrix)
		}
		return nil, nil, rotation.Wrap(rotation.EINVALID, err, "%s", s.readFailure(v, err))
	}
	m, probs := Parse(v, data)
	return m, probs, nil
}

// readFailure says in a person's words why the routing matrix at path could not
// be read, and what to change: the flag, the variable, or the working folder.
func (s Source) readFailure(path string, err error) string {
	if looksLikeToken(path) || utf8.RuneCountInString(path) > 200 {
		path = show(path) // never a token, nor a page of text
	}
	named := " (" + s.From + ")"
	fix := "point " + s.From + " at a readable YAML file"
	switch s.From {
	case FromDefault:
		named = ""
		fix = "point --config or ROTABOT_CONFIG at a readable YAML file"
	case FromFlag:
		fix = "give --config the path of a readable YAML file"
	}
	switch {
	case errors.Is(err, fs.ErrNotExist):
		switch s.From {
		case FromDefault:
			where := "this folder"
			if dir, err := filepath.Abs("."); err == nil {
				where = dir
			}
			return fmt.Sprintf("there is no routing matrix: no %s in %s, and neither --config nor ROTABOT_CONFIG names one — copy rotabot.example.yaml to rotabot.yaml and fill it in, or set ROTABOT_CONFIG (a path, the YAML, or base64 of it)", path, where)
		case FromFlag:
			return fmt.Sprintf("cannot read the routing matrix %s (--config): there is no such file — check the path given to --config, or start from rotabot.example.yaml", path)
		}
		return fmt.Sprintf("cannot read the routing matrix %s%s: there is no such file — point %s at it, or start from rotabot.example.yaml", path, named, s.From)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("cannot read the routing matrix %s%s: permission denied — let rotabot's user read it", path, named)
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Sprintf("cannot read the routing matrix %s%s: %v — %s", path, named, err, fix)
}
