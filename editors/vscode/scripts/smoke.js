// Activates the bundled extension (dist/extension.js) outside VS Code, on a
// stand-in for the `vscode` module, and checks that it starts the language
// server and speaks to it: the client sends `initialize`, opens SMOKE_FILE
// (a .flow or .flowtest file), waits for the server's diagnostics of it and
// shuts the server down. Run by TestExtensionStartsTheServer in editors/;
// by hand:
//
//	SMOKE_BIN=/path/to/switchboard SMOKE_FILE=flows/support.flow node scripts/smoke.js
//
// It prints the LSP trace, then one line per diagnostic received, and exits
// 0 when diagnostics came back, 1 when the extension reported that the
// server could not start.
'use strict';

const Module = require('module');
const path = require('path');

const disposable = { dispose() {} };
const event = () => disposable;
let failure;
const trace = [];

// Every member the client touches and the stand-in does not define is a
// callable, constructible no-op, so the client's feature registrations
// (providers, events such as onDidOpenTextDocument) pass.
function noop(name) {
  return new Proxy(function () {}, {
    get(t, p) {
      if (p === 'then') return undefined;
      if (p === Symbol.toPrimitive || p === 'toString') return () => name;
      if (p === Symbol.iterator) return function* () {};
      if (p === 'dispose') return () => {};
      if (p === 'length') return 0;
      return noop(`${name}.${String(p)}`);
    },
    apply: () => noop(`${name}()`),
    construct: () => noop(`new ${name}`),
  });
}

function withDefaults(defined, name) {
  const rest = noop(name);
  return new Proxy(defined, { get: (t, p) => (p in t ? t[p] : rest[p]) });
}

const file = path.resolve(process.env.SMOKE_FILE || 'main.flow');
const dir = path.dirname(file);
const fs = require('fs');

class Position {
  constructor(line, character) { this.line = line; this.character = character; }
}
class Range {
  constructor(a, b, c, d) {
    [this.start, this.end] = typeof a === 'number' ? [new Position(a, b), new Position(c, d)] : [a, b];
  }
}
class CancellationTokenSource {
  constructor() { this.token = { isCancellationRequested: false, onCancellationRequested: event }; }
  cancel() { this.token.isCancellationRequested = true; }
  dispose() {}
}
class Diagnostic {
  constructor(range, message, severity) { Object.assign(this, { range, message, severity }); }
}
const uri = (p) => ({ scheme: 'file', fsPath: p, path: p, toString: () => 'file://' + p, with: () => uri(p) });
const document = {
  uri: uri(file),
  fileName: file,
  languageId: file.endsWith('.flowtest') ? 'flowtest' : 'flow',
  version: 1,
  isClosed: false,
  getText: () => fs.readFileSync(file, 'utf8'),
};
let received;
const diagnosticsCame = new Promise((resolve) => { received = resolve; });
const collection = {
  set(u, diagnostics) {
    if (u && String(u).endsWith(path.basename(file))) received(diagnostics || []);
  },
  delete() {}, clear() {}, dispose() {}, forEach() {}, get: () => [], has: () => false,
};
const output = {
  name: 'Switchboard',
  append: (s) => trace.push(s),
  appendLine: (s) => trace.push(s + '\n'),
  show() {}, clear() {}, replace() {}, dispose() {},
};
const vscode = withDefaults({
  version: '1.90.0',
  Position, Range, Diagnostic, CancellationTokenSource,
  DiagnosticSeverity: { Error: 0, Warning: 1, Information: 2, Hint: 3 },
  Uri: { parse: (s) => uri(s.replace(/^file:\/\//, '')), file: uri },
  languages: withDefaults({
    match: (selector, doc) => ([].concat(selector).some((s) => s.language === doc.languageId) ? 10 : 0),
    createDiagnosticCollection: () => collection,
  }, 'vscode.languages'),
  env: { language: 'en', machineId: 'smoke', sessionId: 'smoke', appName: 'smoke', uiKind: 1 },
  workspace: withDefaults({
    getConfiguration: () => ({
      get: (key, def) => ({ path: process.env.SMOKE_BIN, 'trace.server': 'messages' })[key] ?? def,
      has: () => false,
      update: async () => {},
    }),
    workspaceFolders: [{ uri: { fsPath: dir, scheme: 'file', toString: () => 'file://' + dir }, name: 'smoke', index: 0 }],
    createFileSystemWatcher: () => ({ onDidCreate: event, onDidChange: event, onDidDelete: event, dispose() {} }),
    textDocuments: [document],
    notebookDocuments: [],
  }, 'vscode.workspace'),
  window: withDefaults({
    createOutputChannel: () => output,
    showErrorMessage: async (msg) => { failure = failure || msg; },
    showWarningMessage: async () => undefined,
    showInformationMessage: async () => undefined,
    visibleTextEditors: [],
    tabGroups: { all: [], onDidChangeTabs: event },
  }, 'vscode.window'),
  commands: { registerCommand: () => disposable, executeCommand: async () => undefined },
}, 'vscode');

const load = Module._load;
Module._load = function (request, ...rest) {
  return request === 'vscode' ? vscode : load.call(this, request, ...rest);
};

async function main() {
  const extension = require(path.join(__dirname, '..', 'dist', 'extension.js'));
  const context = { subscriptions: [] };
  await extension.activate(context);
  if (failure) {
    process.stdout.write(trace.join(''));
    console.error(failure);
    process.exit(1);
  }
  const diagnostics = await diagnosticsCame;
  await extension.deactivate();
  process.stdout.write(trace.join(''));
  for (const d of diagnostics) {
    console.log(`diagnostic ${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.message}`);
  }
  console.log(`${diagnostics.length} diagnostics for ${path.basename(file)}`);
}

const timer = setTimeout(() => {
  process.stdout.write(trace.join(''));
  console.error('no diagnostics within 60s');
  process.exit(2);
}, 60000);
main().then(() => clearTimeout(timer), (err) => {
  console.error(err);
  process.exit(1);
});
