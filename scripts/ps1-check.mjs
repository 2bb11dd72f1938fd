// ps1-check.mjs GRAMMAR.wasm FILE...: parses PowerShell files with the
// tree-sitter PowerShell grammar (web-tree-sitter) and prints each syntax
// error as FILE:LINE:COLUMN. Exit 0 when every file parses, 1 otherwise.
// There is no PowerShell here; this catches the unbalanced brace or quote
// that would make a Windows user's run of windows-smoke.ps1 die at once.
//
// It also reads each script's top-level flow, in the order it runs, and
// reports a variable read before anything assigned it (the smoke test's
// `$dom` was): PowerShell reads such a variable as $null without a word,
// so a check built on it passes or fails for the wrong reason. A file
// that another one dot-sources is read as part of that one, where the
// dot-source stands. Function bodies are left out (they run when called,
// not where they stand); a script block sees what is assigned before it
// and its own parameters, and what it assigns stays inside it.
import { Parser, Language } from 'web-tree-sitter';
import { readFileSync } from 'fs';
import { basename, dirname, join } from 'path';

await Parser.init();
const parser = new Parser();
parser.setLanguage(await Language.load(process.argv[2]));
const files = process.argv.slice(3);
const trees = new Map(files.map((f) => [f, parser.parse(readFileSync(f, 'utf8'))]));
let errors = 0;

for (const [file, tree] of trees) {
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
  report(tree.rootNode);
}

// Set by PowerShell itself, or by the scripts' environment.
const automatic = new Set([
  '_', 'psitem', 'args', 'input', 'this', 'true', 'false', 'null',
  'lastexitcode', 'pid', 'home', 'host', 'error', 'matches', 'pwd',
  'psscriptroot', 'pscommandpath', 'myinvocation', 'psversiontable',
  'executioncontext', 'psboundparameters', 'foreach', 'switch', 'ofs',
  'erroractionpreference', 'progresspreference', 'verbosepreference',
  'warningpreference', 'confirmpreference', 'debugpreference',
]);

// "$Name", "${Name}", "$script:Name" -> "name"; null for $env: and the
// like, which are not the script's own variables.
function varName(node) {
  let t = node.text.replace(/^[$@]/, '').replace(/^\{(.*)\}$/, '$1');
  const m = /^([A-Za-z]+):(.*)$/.exec(t);
  if (m) {
    if (!/^(script|local|private)$/i.test(m[1])) return null;
    t = m[2];
  }
  return t.toLowerCase();
}

// The file a dot-source command names (". (Join-Path $PSScriptRoot
// "x.ps1")" or ". "$PSScriptRoot\x.ps1""), or null.
function dotSourced(node, from) {
  if (node.type !== 'command' || node.child(0)?.type !== 'command_invokation_operator' ||
      node.child(0).text !== '.')
    return null;
  const m = /([\w.-]+\.ps1)/i.exec(node.text);
  return m ? join(dirname(from), m[1]) : null;
}

const included = new Set();
for (const [file, tree] of trees) {
  const find = (n) => {
    const d = dotSourced(n, file);
    if (d) included.add(d);
    for (const c of n.children) find(c);
  };
  find(tree.rootNode);
}

function flow(file, defined, seen) {
  let tree = trees.get(file);
  if (!tree) tree = parser.parse(readFileSync(file, 'utf8'));
  seen.add(file);
  const use = (n, scope) => {
    const name = varName(n);
    if (name === null || automatic.has(name) || scope.has(name)) return;
    errors++;
    const at = n.startPosition;
    console.log(`${file}:${at.row + 1}:${at.column + 1}: ${n.text} is read ` +
                'before anything assigns it');
    scope.add(name); // once is enough
  };
  const define = (n, scope) => {
    const walkDefine = (m) => {
      if (m.type === 'variable') {
        const name = varName(m);
        if (name !== null) scope.add(name);
        return;
      }
      // An index or member on the left ($a[$i] = ..., $h.x = ...) reads
      // the variable; only a plain name is assigned.
      if (m.type === 'element_access' || m.type === 'member_access') {
        visit(m, scope);
        return;
      }
      for (const c of m.children) walkDefine(c);
    };
    walkDefine(n);
  };
  const visit = (n, scope) => {
    switch (n.type) {
      case 'function_statement':
        return; // runs when called
      case 'script_block_expression':
      case 'script_block': {
        const inner = new Set(scope);
        for (const c of n.children) visit(c, inner);
        return;
      }
      case 'script_parameter':
        for (const c of n.children) {
          if (c.type === 'variable') define(c, scope);
          else visit(c, scope);
        }
        return;
      case 'assignment_expression': {
        // The value runs first: "$x = $x + 1" reads $x before assigning it.
        const left = n.children.find((c) => c.type === 'left_assignment_expression');
        for (const c of n.children) if (c !== left) visit(c, scope);
        if (left) define(left, scope);
        return;
      }
      case 'foreach_statement': {
        const v = n.children.find((c) => c.type === 'variable');
        for (const c of n.children) {
          if (c === v) define(c, scope);
          else visit(c, scope);
        }
        return;
      }
      case 'variable':
        use(n, scope);
        return;
      case 'command': {
        const d = dotSourced(n, file);
        if (d) {
          if (!seen.has(d)) flow(d, scope, seen);
          return;
        }
        break;
      }
    }
    for (const c of n.children) visit(c, scope);
  };
  visit(tree.rootNode, defined);
}

for (const file of files) {
  if (!included.has(file)) flow(file, new Set(), new Set());
}
const checked = files.filter((f) => !included.has(f)).map((f) => basename(f));
console.log(errors ? `${errors} error(s)` :
            `all parse; no variable read before it is assigned (${checked.join(', ')}, ` +
            'with what they dot-source)');
process.exit(errors ? 1 : 0);
