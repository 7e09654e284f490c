package cli

import (
	"bytes"
	"fmt"
	"strings"
)

// This file is the line diff behind `switchboard fmt -d`: Myers' O(ND)
// algorithm ("An O(ND) Difference Algorithm and Its Variations", 1986)
// over lines, after trimming the common prefix and suffix, printed as a
// unified diff with three lines of context.

// edit is one line of an edit script. ai and bi are the positions in the
// old and new line lists before the edit is applied.
type edit struct {
	kind   byte // ' ' keep, '-' delete, '+' insert
	ai, bi int
}

// diffLines returns a shortest edit script turning a into b.
func diffLines(a, b []string) []edit {
	// Common prefix and suffix cost nothing to find and shrink the search.
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	var out []edit
	for i := 0; i < pre; i++ {
		out = append(out, edit{' ', i, i})
	}
	for _, e := range myers(a[pre:len(a)-suf], b[pre:len(b)-suf]) {
		out = append(out, edit{e.kind, e.ai + pre, e.bi + pre})
	}
	for i := 0; i < suf; i++ {
		out = append(out, edit{' ', len(a) - suf + i, len(b) - suf + i})
	}
	return out
}

func myers(a, b []string) []edit {
	n, m := len(a), len(b)
	if n == 0 && m == 0 {
		return nil
	}
	maxD := n + m
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	// trace[d] holds v[off-d-1 .. off+d+1] as it was before step d.
	var trace [][]int
	found := -1
	for d := 0; d <= maxD && found < 0; d++ {
		trace = append(trace, append([]int(nil), v[off-d-1:off+d+2]...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1] // down: insert b[y]
			} else {
				x = v[off+k-1] + 1 // right: delete a[x]
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = x
			if x >= n && y >= m {
				found = d
				break
			}
		}
	}
	// Walk back from (n, m) to (0, 0).
	var rev []edit
	x, y := n, m
	for d := found; d > 0; d-- {
		tv := trace[d]
		at := func(k int) int { return tv[k+d+1] } // v[off+k] before step d
		k := x - y
		prevK := k - 1
		if k == -d || (k != d && at(k-1) < at(k+1)) {
			prevK = k + 1
		}
		prevX := at(prevK)
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x--
			y--
			rev = append(rev, edit{' ', x, y})
		}
		if x == prevX {
			y--
			rev = append(rev, edit{'+', x, y})
		} else {
			x--
			rev = append(rev, edit{'-', x, y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, edit{' ', x, y})
	}
	out := make([]edit, len(rev))
	for i, e := range rev {
		out[len(rev)-1-i] = e
	}
	return out
}

// splitLines splits s after each newline; the last line may lack one.
func splitLines(s []byte) []string {
	var lines []string
	for len(s) > 0 {
		i := bytes.IndexByte(s, '\n')
		if i < 0 {
			lines = append(lines, string(s))
			break
		}
		lines = append(lines, string(s[:i+1]))
		s = s[i+1:]
	}
	return lines
}

// unifiedDiff returns the unified diff from old to new, with headers
// naming oldName and newName, or "" when they are equal.
func unifiedDiff(oldName, newName string, old, new []byte) string {
	if bytes.Equal(old, new) {
		return ""
	}
	const context = 3
	a, b := splitLines(old), splitLines(new)
	edits := diffLines(a, b)
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", oldName, newName)
	for i := 0; i < len(edits); {
		if edits[i].kind == ' ' {
			i++
			continue
		}
		// A hunk: this change, and the next ones while no more than
		// 2*context unchanged lines separate them.
		start := max(0, i-context)
		end := i + 1 // after the last change
		for j := i + 1; j < len(edits); {
			if edits[j].kind != ' ' {
				end = j + 1
				j++
				continue
			}
			k := j
			for k < len(edits) && edits[k].kind == ' ' {
				k++
			}
			if k == len(edits) || k-j > 2*context {
				break
			}
			j = k
		}
		stop := min(len(edits), end+context)
		hunk := edits[start:stop]
		var nOld, nNew int
		for _, e := range hunk {
			if e.kind != '+' {
				nOld++
			}
			if e.kind != '-' {
				nNew++
			}
		}
		fmt.Fprintf(&sb, "@@ -%s +%s @@\n", hunkRange(hunk[0].ai, nOld), hunkRange(hunk[0].bi, nNew))
		for _, e := range hunk {
			line := ""
			switch e.kind {
			case '+':
				line = b[e.bi]
			default:
				line = a[e.ai]
			}
			sb.WriteByte(e.kind)
			sb.WriteString(line)
			if !strings.HasSuffix(line, "\n") {
				sb.WriteString("\n\\ No newline at end of file\n")
			}
		}
		i = stop
	}
	return sb.String()
}

// hunkRange formats the start,count of a hunk header as GNU diff does:
// 1-based start, count omitted when 1, start before the hunk when empty.
func hunkRange(start, count int) string {
	switch count {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return fmt.Sprint(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}
