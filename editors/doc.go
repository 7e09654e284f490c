// Package editors holds the editor support for .flow and .flowtest files:
// the VS Code extension in editors/vscode, whose TextMate grammars
// (syntaxes/*.tmLanguage.json) colour the files before the language server
// (`switchboard lsp`) answers. The package has no code of its own; its
// tests tokenize every shipped flow and flow test with the grammars, using a
// small TextMate engine over regexp2 (the Oniguruma-like syntax the grammars
// are written in), and check the result token by token against lang.Lex,
// so CI checks the grammars without Node. docs/EDITORS.md describes the
// set-up in VS Code, Neovim, Helix and other editors.
package editors
