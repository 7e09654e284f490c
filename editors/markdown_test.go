package editors

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestMarkdownCodeBlocks checks the grammar VS Code injects into Markdown:
// in every Markdown file of docs/ and the README, the lines of a ```flow
// block get the flow grammar's scopes, under the code block's and the
// embedding's, exactly as the block tokenized on its own; the fences and
// the text around them get none of the flow grammar's.
func TestMarkdownCodeBlocks(t *testing.T) {
	flowG, _ := loadGrammars(t)
	mdG := grammars["markdown.flow.codeblock"]
	files, _ := filepath.Glob("../docs/*.md")
	files = append(files, "../README.md")
	block := regexp.MustCompile("(?ms)^```flow\n(.*?)^```")
	blocks := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		src := string(data)
		md := scopesAt(t, mdG, path, src)
		c := &checker{t: t, name: path, src: src}
		inBlock := make([]bool, len(src))
		for _, m := range block.FindAllStringSubmatchIndex(src, -1) {
			blocks++
			alone := scopesAt(t, flowG, path, src[m[2]:m[3]])
			for i := m[2]; i < m[3]; i++ {
				inBlock[i] = true
				if src[i] == '\n' {
					continue
				}
				want := append([]string{"markdown.flow.codeblock", "markup.fenced_code.block.markdown", "meta.embedded.block.flow"}, alone[i-m[2]][1:]...)
				if !slices.Equal(md[i], want) {
					c.failf(i, "in the block: %q, alone: %q", strings.Join(md[i], " "), strings.Join(want, " "))
					break
				}
			}
		}
		for i := range src {
			if !inBlock[i] && src[i] != '\n' && hasScope(md[i], "meta.embedded.block.flow") {
				c.failf(i, "outside a flow block: %q", strings.Join(md[i], " "))
				break
			}
		}
		c.report()
	}
	if blocks < 20 {
		t.Errorf("%d ```flow blocks in docs/ and the README, expected the language reference's", blocks)
	}
}
