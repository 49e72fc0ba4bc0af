// `yarn start`: the portal on the local default: the sandbox (Git on :7090, Argo CD
// instances on :7091 and :7092), the app on :3000 and the backend on :7007.
import { spawn } from 'node:child_process';

const children = [
  spawn('yarn', ['sandbox'], { stdio: 'inherit' }),
  spawn('yarn', ['backstage-cli', 'repo', 'start'], { stdio: 'inherit' }),
];
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => children.forEach(child => child.kill(signal)));
}
// When one stops, stop the other: a portal without its sandbox is not the local default.
for (const child of children) {
  child.on('exit', code => {
    children.forEach(other => other !== child && other.kill('SIGTERM'));
    process.exit(code ?? 1);
  });
}
