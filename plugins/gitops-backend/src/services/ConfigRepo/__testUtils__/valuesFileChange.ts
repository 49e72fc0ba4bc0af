import {
  GitopsSourceError,
  ValuesFileChange,
} from '@gitops-backstage/plugin-gitops-node';

// What the GitHub and GitLab writers' tests share: the values file and its edits.

export const FILE = 'envs/prod/values.yaml';
export const VALUES = [
  '# service-a in prod',
  'image:',
  '  repository: registry.example.com/checkout/service-a',
  '  tag: "1.0.0" # promoted by gitops',
  'replicas: 3',
  '',
].join('\n');

export const setTag = (tag: string) => (text: string) =>
  text.replace(/tag: "[^"]*"/, `tag: "${tag}"`);

/** Changes to FILE on main of the repository; the edit promotes 1.1.0 unless given. */
export const changeIn =
  (repoURL: string) =>
  (edit = setTag('1.1.0')): ValuesFileChange => ({
    repoURL,
    branch: 'main',
    file: FILE,
    edit,
    message: 'Promote service-a 1.1.0 to prod',
    author: { name: 'Jane Doe', email: 'jane@example.com' },
  });

export async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    e => e,
  );
  expect(error).toBeInstanceOf(GitopsSourceError);
  return error as GitopsSourceError;
}

/** Indexes of the lines that differ. */
export function changedLines(before: string, after: string) {
  const a = before.split('\n');
  const b = after.split('\n');
  expect(b).toHaveLength(a.length);
  return a.flatMap((line, i) => (line === b[i] ? [] : [i]));
}
