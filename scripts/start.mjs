// `yarn start`: the portal on the local default (app on :3000, backend on :7007).
import { spawn } from 'node:child_process';

const child = spawn('yarn', ['backstage-cli', 'repo', 'start'], {
  stdio: 'inherit',
});
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => child.kill(signal));
}
child.on('exit', code => process.exit(code ?? 1));
