// The client side of the Switchboard language server: it starts
// `switchboard lsp` (stdio) for .flow and .flowtest files and restarts it
// when the path setting changes. Colouring comes from the TextMate grammars
// in syntaxes/, so files are highlighted before the server answers and
// when the binary is missing.
'use strict';

const vscode = require('vscode');
const { LanguageClient, State } = require('vscode-languageclient/node');

let client;
let output;

function binaryPath() {
  const configured = vscode.workspace.getConfiguration('switchboard').get('path');
  return configured && configured.trim() !== '' ? configured.trim() : 'switchboard';
}

async function start(context) {
  const command = binaryPath();
  const serverOptions = {
    command,
    args: ['lsp'],
    options: { cwd: vscode.workspace.workspaceFolders?.[0]?.uri.fsPath },
  };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'flow' },
      { scheme: 'file', language: 'flowtest' },
    ],
    synchronize: {
      // A program is every .flow file of a directory: the server hears of
      // files changed outside the editor (git checkout, fmt).
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{flow,flowtest}'),
    },
    outputChannel: output,
  };
  client = new LanguageClient('switchboard', 'Switchboard', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    client = undefined;
    const open = 'Open Settings';
    const choice = await vscode.window.showErrorMessage(
      `Switchboard: could not start "${command} lsp" (${err && err.message ? err.message : err}). ` +
        'Install switchboard or set switchboard.path to the binary.',
      open,
    );
    if (choice === open) {
      vscode.commands.executeCommand('workbench.action.openSettings', 'switchboard.path');
    }
  }
}

async function stop() {
  if (client && client.state !== State.Stopped) {
    await client.stop();
  }
  client = undefined;
}

async function activate(context) {
  output = vscode.window.createOutputChannel('Switchboard');
  context.subscriptions.push(output);
  context.subscriptions.push(
    vscode.commands.registerCommand('switchboard.restartServer', async () => {
      await stop();
      await start(context);
    }),
    vscode.workspace.onDidChangeConfiguration(async (e) => {
      if (e.affectsConfiguration('switchboard.path')) {
        await stop();
        await start(context);
      }
    }),
  );
  await start(context);
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
