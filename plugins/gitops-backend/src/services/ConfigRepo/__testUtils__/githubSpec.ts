import fs from 'node:fs';

type Json = any;

/**
 * GitHub's own OpenAPI description of its REST API (npm `@octokit/openapi`), the
 * contract every GitHub stand-in answer is held to. 13 MB: read once per test file.
 */
export const GITHUB_SPEC_FILE = require.resolve(
  '@octokit/openapi/generated/api.github.com.json',
);

let spec: Json | undefined;

export function githubSpec(): Json {
  spec ??= JSON.parse(fs.readFileSync(GITHUB_SPEC_FILE, 'utf8'));
  return spec;
}

/** A fresh copy of `components.examples[name].value`: GitHub's documented answer. */
export function githubExample(name: string): Json {
  const example = githubSpec().components.examples[name];
  if (!example) throw new Error(`GitHub's spec has no example ${name}`);
  return structuredClone(example.value);
}
