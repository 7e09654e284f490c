// Tokenizes sources with VS Code's own TextMate engine (vscode-textmate on
// vscode-oniguruma) and prints the scopes of every token, for the Go tests
// in editors/ to compare with their engine (TestVSCodeEngineAgrees).
// Input on stdin: [{"name", "scope", "text"}]; output on stdout:
// [{"name", "tokens": [[startByte, endByte, "scope scope …"], …]}].
'use strict';

const fs = require('fs');
const path = require('path');
const oniguruma = require('vscode-oniguruma');
const textmate = require('vscode-textmate');

const syntaxes = path.join(__dirname, '..', 'syntaxes');
const files = {
  'source.flow': 'flow.tmLanguage.json',
  'source.flowtest': 'flowtest.tmLanguage.json',
};

async function main() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scope) => {
      if (!files[scope]) return null;
      const file = path.join(syntaxes, files[scope]);
      return textmate.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
    },
  });
  const sources = JSON.parse(fs.readFileSync(0, 'utf8'));
  const out = [];
  for (const src of sources) {
    const grammar = await registry.loadGrammar(src.scope);
    let stack = textmate.INITIAL;
    let lineStart = 0;
    const tokens = [];
    for (const line of src.text.split('\n')) {
      const r = grammar.tokenizeLine(line, stack);
      for (const t of r.tokens) {
        const start = lineStart + Buffer.byteLength(line.slice(0, t.startIndex));
        const end = lineStart + Buffer.byteLength(line.slice(0, Math.min(t.endIndex, line.length)));
        if (end > start) tokens.push([start, end, t.scopes.join(' ')]);
      }
      stack = r.ruleStack;
      lineStart += Buffer.byteLength(line) + 1;
    }
    out.push({ name: src.name, tokens });
  }
  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
