package main

// The README is the front door and docs/ the manual. These tests keep them
// navigable: every relative link and #anchor leads somewhere, every file of docs/
// opens with who it is for and a table of contents that lists its sections, the
// README indexes every file of docs/ and stays short, and its test command is the
// one CI runs.

import (
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// readmeMaxLines is how long the README may grow: past it, the detail belongs in
// a file of docs/.
const readmeMaxLines = 250

// mdDocFiles is the README and every Markdown file of docs/, as paths relative to
// the repository's top level, with docs/ sorted.
func mdDocFiles(t *testing.T) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) == 0 {
		t.Fatal("there is no docs/*.md")
	}
	files := []string{"README.md"}
	for _, d := range docs {
		rel, err := filepath.Rel(repoRoot, d)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, filepath.ToSlash(rel))
	}
	slices.Sort(files[1:])
	return files
}

// mdLine is one line of a Markdown file outside fenced code blocks.
type mdLine struct {
	n    int // 1-based
	text string
}

// mdProse returns the lines of a Markdown file that are not inside a fenced
// code block (``` … ```), so that a shell comment is not taken for a heading.
func mdProse(src string) []mdLine {
	var out []mdLine
	fenced := false
	for i, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			out = append(out, mdLine{i + 1, l})
		}
	}
	return out
}

var (
	mdHeadingRE  = regexp.MustCompile(`^(#{1,6}) +(.*?) *#*$`)
	mdLabelRE    = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	mdCodeSpanRE = regexp.MustCompile("`[^`]*`")
	// mdLinkRE finds an inline link's or image's target: "](target)" or
	// "](target "title")". Nested image links ([![alt](img)](url)) give both.
	mdLinkRE = regexp.MustCompile(`\]\(([^)\s]*)(?:\s+"[^"]*")?\)`)
	// mdSchemeRE marks an absolute URL (https:, mailto:), which is not checked here.
	mdSchemeRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9+.-]*:`)
)

// mdHeading is one Markdown heading: its level (1 for #) and its text as written.
type mdHeading struct {
	level int
	text  string
	line  int
}

func mdHeadings(src string) []mdHeading {
	var out []mdHeading
	for _, l := range mdProse(src) {
		if m := mdHeadingRE.FindStringSubmatch(l.text); m != nil {
			out = append(out, mdHeading{len(m[1]), m[2], l.n})
		}
	}
	return out
}

// mdSlug is GitHub's anchor for a heading's text: the text as rendered (a link's
// label, no backticks), lower-cased, every character dropped but letters, digits,
// marks, '-', '_' and spaces, and each space turned into '-'.
func mdSlug(text string) string {
	text = mdLabelRE.ReplaceAllString(text, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(text) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_', unicode.IsLetter(r), unicode.IsNumber(r), unicode.IsMark(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

// mdAnchors returns every anchor a file's headings make, as GitHub numbers them: the
// second heading with the same slug gets "-1", the third "-2", and so on.
func mdAnchors(src string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, h := range mdHeadings(src) {
		s := mdSlug(h.text)
		a := s
		if n := seen[s]; n > 0 {
			a = fmt.Sprintf("%s-%d", s, n)
		}
		seen[s]++
		out[a] = true
	}
	return out
}

// TestDocSlugs: the slug rule matches what GitHub makes of this project's own
// headings.
func TestDocSlugs(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"Rollback, cancel, abandon, and when neither is possible", "rollback-cancel-abandon-and-when-neither-is-possible"},
		{"1. The Slack app", "1-the-slack-app"},
		{"In the logs (`heroku logs --tail -a raxx-rotabot`; JSON lines with `run` and `secret`)", "in-the-logs-heroku-logs---tail--a-raxx-rotabot-json-lines-with-run-and-secret"},
		{"PostgreSQL (`DATABASE_URL`)", "postgresql-database_url"},
		{"`/rotate` (answers only you see)", "rotate-answers-only-you-see"},
		{"The bot's Slack scopes", "the-bots-slack-scopes"},
		{"On the run card (a step's line, and the card's last line)", "on-the-run-card-a-steps-line-and-the-cards-last-line"},
		{"When Slack is down: `rotabot rotate`", "when-slack-is-down-rotabot-rotate"},
		{"See [the sandbox](docs/sandbox.md) — Über · ok", "see-the-sandbox--über--ok"},
	} {
		if got := mdSlug(c.heading); got != c.want {
			t.Errorf("slug(%q) = %q, want %q", c.heading, got, c.want)
		}
	}
	got := mdAnchors("# A\n## Drift\n```sh\n# Drift\n```\n### Drift\n## Drift\n")
	want := map[string]bool{"a": true, "drift": true, "drift-1": true, "drift-2": true}
	if !maps.Equal(got, want) {
		t.Errorf("anchors of repeated headings (one inside a code block) = %v, want %v", got, want)
	}
}

// mdLink is one relative link found in a Markdown file.
type mdLink struct {
	file   string // the file it is in, relative to the repository's top level
	line   int
	target string // as written
}

// mdRelativeLinks returns every link of src that is not an absolute URL, outside
// code blocks and code spans.
func mdRelativeLinks(file, src string) []mdLink {
	var out []mdLink
	for _, l := range mdProse(src) {
		text := mdCodeSpanRE.ReplaceAllString(l.text, "")
		for _, m := range mdLinkRE.FindAllStringSubmatch(text, -1) {
			if target := m[1]; !mdSchemeRE.MatchString(target) {
				out = append(out, mdLink{file, l.n, target})
			}
		}
	}
	return out
}

// mdLinkProblems checks every relative link of files (paths under root, with
// forward slashes): it names each link that leaves root, leads to nothing, or
// names an anchor no heading of its target makes. It also returns how many
// relative links it checked.
func mdLinkProblems(root string, files []string) (problems []string, checked int) {
	srcs := map[string]string{}
	read := func(file string) (string, error) {
		if src, ok := srcs[file]; ok {
			return src, nil
		}
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(file)))
		srcs[file] = string(b)
		return srcs[file], err
	}
	for _, f := range files {
		src, err := read(f)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, l := range mdRelativeLinks(f, src) {
			checked++
			where := fmt.Sprintf("%s:%d: link %q", l.file, l.line, l.target)
			p, frag, _ := strings.Cut(l.target, "#")
			target := l.file
			if p != "" {
				target = path.Clean(path.Join(path.Dir(l.file), p))
				if target == ".." || strings.HasPrefix(target, "../") {
					problems = append(problems, where+" leads out of the repository")
					continue
				}
				if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(target))); err != nil {
					problems = append(problems, fmt.Sprintf("%s: there is no %s", where, target))
					continue
				}
			}
			if frag == "" {
				continue
			}
			if !strings.HasSuffix(target, ".md") {
				problems = append(problems, fmt.Sprintf("%s: an anchor into %s, which is not Markdown", where, target))
				continue
			}
			tsrc, err := read(target)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: %v", where, err))
				continue
			}
			if !mdAnchors(tsrc)[frag] {
				problems = append(problems, fmt.Sprintf("%s: %s has no heading with the anchor #%s", where, target, frag))
			}
		}
	}
	return problems, checked
}

// TestDocLinks: every relative link and #anchor in the README and docs/ leads to a
// file or folder of the repository, and to a heading of the file it names.
func TestDocLinks(t *testing.T) {
	files := mdDocFiles(t)
	problems, checked := mdLinkProblems(repoRoot, files)
	for _, p := range problems {
		t.Error(p)
	}
	if checked < 50 {
		t.Errorf("only %d relative links were found in %v: the link finder is broken", checked, files)
	}
}

// TestDocLinkProblems: the link check finds each kind of broken link, and passes
// the kinds that work (a folder, a repeated heading's anchor, an absolute URL, a
// link written in a code span).
func TestDocLinkProblems(t *testing.T) {
	root := t.TempDir()
	write := func(name, src string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("README.md", "# Title\n\n[a](docs/a.md#second-1) [b](docs/) [c](#title) [d](https://example.com/x.md#y) `[e](nowhere.md)`\n"+
		"[f](docs/missing.md) [g](docs/a.md#nope)\n")
	write("docs/a.md", "# A\n\n## Second\n\n## Second\n\n```sh\n## Hidden\n```\n\n[h](a.md#hidden) [i](../../elsewhere.md) [j](../README.md#title)\n")
	problems, checked := mdLinkProblems(root, []string{"README.md", "docs/a.md"})
	if checked != 8 {
		t.Errorf("checked %d relative links, want 8 (a, b, c, f, g, h, i, j)", checked)
	}
	want := []string{
		`README.md:4: link "docs/missing.md": there is no docs/missing.md`,
		`README.md:4: link "docs/a.md#nope": docs/a.md has no heading with the anchor #nope`,
		`docs/a.md:11: link "a.md#hidden": docs/a.md has no heading with the anchor #hidden`,
		`docs/a.md:11: link "../../elsewhere.md" leads out of the repository`,
	}
	if !slices.Equal(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

// mdContents returns the targets of the list under a file's "## Contents" heading,
// and that heading's line (0 when there is none).
func mdContents(src string) ([]string, int) {
	lines := mdProse(src)
	for i, l := range lines {
		if l.text != "## Contents" {
			continue
		}
		var out []string
		for _, item := range lines[i+1:] {
			if strings.HasPrefix(item.text, "#") {
				break
			}
			if m := mdLinkRE.FindStringSubmatch(item.text); m != nil && strings.HasPrefix(item.text, "- [") {
				out = append(out, m[1])
			}
		}
		return out, l.n
	}
	return nil, 0
}

// mdSectionAnchors are the anchors of a file's "##" headings, in order, Contents
// itself left out.
func mdSectionAnchors(src string) []string {
	var out []string
	for _, h := range mdHeadings(src) {
		if h.level == 2 && h.text != "Contents" {
			out = append(out, "#"+mdSlug(h.text))
		}
	}
	return out
}

// TestDocsOpenWithWhoAndContents: each file of docs/ opens with its title, one
// paragraph saying who it is for, and a table of contents listing every "##"
// section in order; the README's contents list its sections too.
func TestDocsOpenWithWhoAndContents(t *testing.T) {
	for _, f := range mdDocFiles(t) {
		src := string(deployFile(t, f))
		toc, at := mdContents(src)
		if at == 0 {
			t.Errorf("%s has no \"## Contents\"", f)
			continue
		}
		if want := mdSectionAnchors(src); !slices.Equal(toc, want) {
			t.Errorf("%s: the contents list %v, but its sections are %v", f, toc, want)
		}
		if f == "README.md" {
			continue
		}
		lines := strings.Split(src, "\n")
		if !strings.HasPrefix(lines[0], "# ") {
			t.Errorf("%s: the first line is %q, not the title (# …)", f, lines[0])
			continue
		}
		var paragraphs, inPara int
		for _, l := range lines[1 : at-1] {
			switch {
			case strings.TrimSpace(l) == "":
				inPara = 0
			case inPara == 0:
				paragraphs, inPara = paragraphs+1, 1
			}
		}
		if paragraphs != 1 {
			t.Errorf("%s: between the title and the contents there are %d paragraphs; want one, saying who the file is for", f, paragraphs)
		}
	}
}

// TestReadmeIndexesDocs: the README is short and links every file of docs/.
func TestReadmeIndexesDocs(t *testing.T) {
	src := string(deployFile(t, "README.md"))
	if n := strings.Count(src, "\n"); n >= readmeMaxLines {
		t.Errorf("README.md has %d lines; keep it under %d and move the detail into docs/", n, readmeMaxLines)
	}
	linked := map[string]bool{}
	for _, l := range mdRelativeLinks("README.md", src) {
		p, _, _ := strings.Cut(l.target, "#")
		linked[path.Clean(p)] = true
	}
	for _, f := range mdDocFiles(t)[1:] {
		if !linked[f] {
			t.Errorf("README.md does not link %s: add it to the index of docs/", f)
		}
	}
}

// TestReadmeTestCommandIsCI: the test command the README gives first is exactly
// the one .ci/run runs.
func TestReadmeTestCommandIsCI(t *testing.T) {
	var ci []string
	for _, l := range strings.Split(string(deployFile(t, ".ci/run")), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "go test ") {
			ci = append(ci, strings.TrimSpace(l))
		}
	}
	if len(ci) != 1 {
		t.Fatalf(".ci/run has %d go test lines, want 1: %q", len(ci), ci)
	}
	fenced := false
	for _, l := range strings.Split(string(deployFile(t, "README.md")), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			fenced = !fenced
			continue
		}
		cmd, _, _ := strings.Cut(l, " #")
		if cmd = strings.TrimSpace(cmd); fenced && strings.HasPrefix(cmd, "go test ") {
			if cmd != ci[0] {
				t.Errorf("the README's test command is %q; .ci/run runs %q: make them the same", cmd, ci[0])
			}
			return
		}
	}
	t.Errorf("the README gives no test command; .ci/run runs %q", ci[0])
}
