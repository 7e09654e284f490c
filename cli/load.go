package cli

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/switchboard-dev/switchboard/diag"
)

// This file turns command-line paths into the files the commands read.
//
//   - a file is read as given, whatever its extension (".md" files are
//     Markdown, whose ```flow blocks lint checks);
//   - a directory means the *.flow files directly inside it;
//   - DIR/... (and ./... or ...) means the *.flow files of DIR and of every
//     directory below it, skipping directories named testdata or starting
//     with "." or "_" (as the go command does).
//
// Every file is read once even when several arguments name it.

// input is one file to read.
type input struct {
	path string // as displayed: relative to the working directory when it is below it
	dir  string // the directory whose program the file belongs to
	md   bool   // a Markdown file
}

// loadOptions configure expand.
type loadOptions struct {
	// allowEmpty accepts a directory or pattern with no .flow files; by
	// default that is an error (a likely typo in a CI script).
	allowEmpty bool
}

// expand turns the arguments into a list of files, in argument order
// and, within a directory, sorted by name. Problems with the arguments
// (a missing path, an unreadable directory) are returned separately; the
// files that could be found are still returned.
func expand(args []string, opts loadOptions) ([]input, []error) {
	var (
		out  []input
		errs []error
		seen = map[string]bool{}
	)
	add := func(in input) {
		key := in.path
		if abs, err := filepath.Abs(in.path); err == nil {
			key = abs
		}
		if !seen[key] {
			seen[key] = true
			out = append(out, in)
		}
	}
	for _, arg := range args {
		if root, ok := recursivePattern(arg); ok {
			n, err := walkDirs(root, func(p string) (int, error) {
				files, err := flowFiles(p)
				for _, f := range files {
					add(input{path: displayPath(f), dir: displayPath(p)})
				}
				return len(files), err
			})
			if err != nil {
				errs = append(errs, err)
			} else if n == 0 && !opts.allowEmpty {
				errs = append(errs, fmt.Errorf("%s: no .flow files in %s or below it", arg, root))
			}
			continue
		}
		fi, err := os.Stat(arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.IsDir() {
			add(input{path: displayPath(arg), dir: displayPath(filepath.Dir(arg)), md: isMarkdown(arg)})
			continue
		}
		files, err := flowFiles(arg)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(files) == 0 && !opts.allowEmpty {
			errs = append(errs, fmt.Errorf("%s: no .flow files in this directory (use %s to include the directories below it)",
				arg, filepath.ToSlash(filepath.Join(arg, "..."))))
		}
		for _, f := range files {
			add(input{path: displayPath(f), dir: displayPath(arg)})
		}
	}
	return out, errs
}

// recursivePattern reports whether arg is DIR/... and returns DIR.
func recursivePattern(arg string) (string, bool) {
	s := filepath.ToSlash(arg)
	switch {
	case s == "...":
		return ".", true
	case strings.HasSuffix(s, "/..."):
		root := strings.TrimSuffix(s, "/...")
		if root == "" {
			root = "/"
		}
		return filepath.FromSlash(root), true
	}
	return "", false
}

// walkDirs calls visit for root and every directory below it that a
// recursive pattern covers (see skipDir), and sums what visit counts.
func walkDirs(root string, visit func(dir string) (int, error)) (int, error) {
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if p != root && skipDir(d.Name()) {
			return filepath.SkipDir
		}
		k, err := visit(p)
		n += k
		return err
	})
	return n, err
}

// skipDir reports whether a recursive walk leaves out a directory.
func skipDir(name string) bool {
	return name == "testdata" || name == "node_modules" ||
		strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// flowFiles returns the *.flow files directly in dir, sorted.
func flowFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".flow") || strings.HasPrefix(name, ".") {
			continue
		}
		path := filepath.Join(dir, name)
		regular := e.Type().IsRegular()
		if e.Type()&fs.ModeSymlink != 0 {
			fi, err := os.Stat(path) // follow the link
			regular = err == nil && fi.Mode().IsRegular()
		}
		if regular {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out, nil
}

func isMarkdown(path string) bool {
	ext := strings.ToLower(filepath.Ext(path))
	return ext == ".md" || ext == ".markdown"
}

// displayPath returns p cleaned and, when it is absolute and below the
// working directory, relative to it.
func displayPath(p string) string {
	p = filepath.Clean(p)
	if filepath.IsAbs(p) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, p); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				p = rel
			}
		}
	}
	return p
}

// ---- Markdown ----

// mdBlock is one ```flow fenced block of a Markdown file.
type mdBlock struct {
	src   []byte
	fence diag.Pos // the opening fence line, for diagnostics with no position
	// Per line of src: where the line starts in src, where its content
	// starts in the Markdown file, and how many columns of indentation
	// were removed (the fence's).
	srcStart []int
	mdStart  []int
	indent   []int
}

// flowBlocks returns the fenced code blocks whose info string starts with
// "flow". Fences are ``` or ~~~ (three or more); a block closes at a fence
// of the same character at least as long, or at the end of the file. The
// fence's indentation is removed from the block's lines, so blocks inside
// list items work.
func flowBlocks(md []byte) []*mdBlock {
	var (
		blocks []*mdBlock
		cur    *mdBlock
		open   string // the opening fence while inside any fenced block
		indent int
	)
	lineNo := 0
	for off := 0; off < len(md); {
		end := bytes.IndexByte(md[off:], '\n')
		next := len(md)
		if end >= 0 {
			end += off
			next = end + 1
		} else {
			end = len(md)
		}
		lineNo++
		line := string(md[off:end])
		trimmed := strings.TrimLeft(line, " \t")
		lead := len(line) - len(trimmed)
		if open == "" {
			if fence, info, ok := parseFence(trimmed); ok {
				open, indent = fence, lead
				if word, _, _ := strings.Cut(strings.TrimSpace(info), " "); strings.EqualFold(word, "flow") {
					cur = &mdBlock{fence: diag.Pos{Offset: off + lead, Line: lineNo, Col: lead + 1}}
					blocks = append(blocks, cur)
				}
			}
		} else if isClosingFence(trimmed, open) {
			open, cur = "", nil
		} else if cur != nil {
			strip := 0
			for strip < indent && strip < len(line) && line[strip] == ' ' {
				strip++
			}
			cur.srcStart = append(cur.srcStart, len(cur.src))
			cur.mdStart = append(cur.mdStart, off+strip)
			cur.indent = append(cur.indent, strip)
			cur.src = append(cur.src, md[off+strip:end]...)
			cur.src = append(cur.src, '\n')
		}
		off = next
	}
	return blocks
}

// parseFence reports whether s (indentation removed) opens a fenced block,
// and returns the fence and the info string.
func parseFence(s string) (fence, info string, ok bool) {
	if len(s) < 3 || (s[0] != '`' && s[0] != '~') {
		return "", "", false
	}
	n := 0
	for n < len(s) && s[n] == s[0] {
		n++
	}
	if n < 3 {
		return "", "", false
	}
	info = strings.TrimRight(s[n:], "\r")
	if s[0] == '`' && strings.Contains(info, "`") {
		return "", "", false
	}
	return s[:n], info, true
}

func isClosingFence(s, open string) bool {
	s = strings.TrimRight(s, " \t\r")
	if len(s) < len(open) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != open[0] {
			return false
		}
	}
	return true
}

// pos maps a position in the block's source to the Markdown file.
func (b *mdBlock) pos(p diag.Pos) diag.Pos {
	if !p.IsValid() || len(b.srcStart) == 0 {
		return b.fence
	}
	i := p.Line - 1
	if i >= len(b.srcStart) {
		// Past the last line (the end of the file): the closing fence.
		last := len(b.srcStart) - 1
		lineLen := len(b.src) - b.srcStart[last] // including the '\n'
		return diag.Pos{Offset: b.mdStart[last] + lineLen, Line: b.fence.Line + len(b.srcStart) + 1, Col: 1}
	}
	return diag.Pos{
		Offset: b.mdStart[i] + p.Offset - b.srcStart[i],
		Line:   b.fence.Line + p.Line,
		Col:    p.Col + b.indent[i],
	}
}

// relocate moves the diagnostics of a block to where they are in the
// Markdown file.
func (b *mdBlock) relocate(list diag.List) {
	fix := func(s *diag.Span) {
		s.Start, s.End = b.pos(s.Start), b.pos(s.End)
		if s.End.Offset < s.Start.Offset {
			s.End = s.Start
		}
	}
	for _, d := range list {
		fix(&d.Span)
		for i := range d.Related {
			fix(&d.Related[i].Span)
		}
	}
}
