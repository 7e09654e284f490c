// Writes dist/THIRD_PARTY_NOTICES.txt: the licence of every package esbuild
// put into dist/extension.js, read from the bundle's metafile, so the
// committed bundle carries the licences of what it contains.
'use strict';

const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const meta = JSON.parse(fs.readFileSync(path.join(root, 'dist', 'meta.json'), 'utf8'));
const packages = new Map();
for (const input of Object.keys(meta.inputs)) {
  const m = input.match(/^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//);
  if (m) packages.set(m[2], m[1]);
}
let out = 'dist/extension.js bundles the following packages.\n';
for (const [name, dir] of [...packages].sort()) {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, dir, 'package.json'), 'utf8'));
  const licence = fs.readdirSync(path.join(root, dir)).find((f) => /^licen[cs]e/i.test(f));
  out += `\n${'='.repeat(72)}\n${name} ${pkg.version} (${pkg.license})\n${'='.repeat(72)}\n\n`;
  out += licence ? fs.readFileSync(path.join(root, dir, licence), 'utf8').trim() + '\n' : `licence: ${pkg.license}\n`;
}
fs.writeFileSync(path.join(root, 'dist', 'THIRD_PARTY_NOTICES.txt'), out);
fs.unlinkSync(path.join(root, 'dist', 'meta.json'));
