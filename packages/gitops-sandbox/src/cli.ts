/* eslint-disable no-console */
// `yarn sandbox`: starts the local stand-ins on 127.0.0.1 and prints their URLs and token.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startGitServer } from './git/GitServer';

async function main() {
  const root =
    process.env.SANDBOX_DIR ??
    (await fs.mkdtemp(path.join(os.tmpdir(), 'gitops-sandbox-')));
  const token = process.env.SANDBOX_TOKEN ?? 'sandbox-token';
  const git = await startGitServer({
    root: path.join(root, 'repos'),
    token,
    port: Number(process.env.SANDBOX_GIT_PORT ?? 7090),
  });
  console.log(
    `Git server:  ${git.url}/git/<repo>.git  (user any, password ${token})`,
  );
  console.log(
    `Create repo: curl -H 'Authorization: Bearer ${token}' -d '{"name":"x"}' ${git.url}/api/repos`,
  );
  console.log(`Data:        ${root}`);
  const stop = async () => {
    await git.close();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
