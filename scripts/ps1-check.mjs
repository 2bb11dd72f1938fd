// ps1-check.mjs GRAMMAR.wasm FILE...: parses PowerShell files with the
// tree-sitter PowerShell grammar (web-tree-sitter) and prints each syntax
// error as FILE:LINE:COLUMN. Exit 0 when every file parses, 1 otherwise.
// There is no PowerShell here; this catches the unbalanced brace or quote
// that would make a Windows user's run of windows-smoke.ps1 die at once.
import { Parser, Language } from 'web-tree-sitter';
import { readFileSync } from 'fs';

await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(process.argv[2]));
let errors = 0;
for (const file of process.argv.slice(3)) {
  const report = (node) => {
    if (node.type === 'ERROR' || node.isMissing) {
      errors++;
      const at = node.startPosition;
      const what = node.isMissing ? `missing ${node.type}` : 'syntax error';
      const text = node.text.slice(0, 60).replace(/\s+/g, ' ');
      console.log(`${file}:${at.row + 1}:${at.column + 1}: ${what}: ${text}`);
      return; // the first error in a subtree says enough
    }
    for (const child of node.children) report(child);
  };
  report(parser.parse(readFileSync(file, 'utf8')).rootNode);
}
console.log(errors ? `${errors} syntax error(s)` : 'all parse');
process.exit(errors ? 1 : 0);
