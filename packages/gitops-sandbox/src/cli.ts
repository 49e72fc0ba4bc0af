/* eslint-disable no-console */
// `yarn sandbox`: starts the local stand-ins on 127.0.0.1 and prints their URLs and tokens.
import path from 'node:path';
import { startSandbox } from './sandbox';

async function main() {
  const gitPort = Number(process.env.SANDBOX_GIT_PORT ?? 7090);
  // Push events for the local backend's events plugin, GitHub's format, signed with
  // app-config.yaml's events.modules.github.webhookSecret. SANDBOX_WEBHOOK_URL= (empty)
  // posts none.
  const webhookUrl =
    process.env.SANDBOX_WEBHOOK_URL ??
    'http://127.0.0.1:7007/api/events/http/github';
  const webhookKind =
    process.env.SANDBOX_WEBHOOK_KIND === 'gitlab' ? 'gitlab' : 'github';
  const sandbox = await startSandbox({
    dir: process.env.SANDBOX_DIR,
    gitPort,
    gitToken: process.env.SANDBOX_TOKEN,
    registryPort: gitPort + 3,
    // The sandbox runs from source only, so __dirname is the src folder.
    // eslint-disable-next-line no-restricted-syntax
    examplesDir: path.resolve(__dirname, '../../../examples'),
    instances: [
      { name: 'main', environments: ['dev', 'staging'], port: gitPort + 1 },
      { name: 'prod', environments: ['prod'], port: gitPort + 2 },
    ],
    scaleServices: Number(process.env.SANDBOX_SCALE_SERVICES ?? 0) || undefined,
    latencyMs: Number(process.env.SANDBOX_LATENCY_MS ?? 0) || undefined,
    webhooks: webhookUrl
      ? [
          {
            url: webhookUrl,
            kind: webhookKind,
            secret:
              process.env.SANDBOX_WEBHOOK_SECRET ?? 'sandbox-webhook-secret',
          },
        ]
      : [],
  });
  const { gitUrl, gitToken } = sandbox;
  console.log(
    `Git server   ${gitUrl}/git/<repo>.git  (any user, password ${gitToken})`,
  );
  console.log(
    `  git clone http://sandbox:${gitToken}@${gitUrl.slice(
      7,
    )}/git/service-a-config.git`,
  );
  for (const instance of sandbox.instances) {
    console.log(
      `Argo CD ${instance.name.padEnd(5)} ${instance.url}  token ${
        instance.token
      }  (environments ${instance.environments.join(
        ', ',
      )}; user admin, password sandbox)`,
    );
  }
  const first = sandbox.instances[0];
  console.log(
    `  curl -H 'Authorization: Bearer ${first.token}' ${first.url}/api/v1/applications`,
  );
  const { registry } = sandbox;
  const { username, password } = registry.credentials;
  console.log(
    `Registry     ${registry.url}  (user ${username}, password ${password}; the cluster pulls every image through it)`,
  );
  console.log(
    `  skopeo login --tls-verify=false -u ${username} -p ${password} ${registry.host}`,
  );
  console.log(
    `  docker login -u ${username} -p ${password} ${registry.host}   (127.0.0.1 is an insecure registry to docker by default)`,
  );
  console.log(
    `  helm push chart.tgz oci://${registry.host}/charts --plain-http   (after helm registry login --insecure; Argo CD repoURL ${registry.host}/charts)`,
  );
  const charts = sandbox.charts.repoUrl('<repo>');
  console.log(
    `Charts       ${charts}  (helm repo add; index.yaml by helm repo index)`,
  );
  console.log(
    `  curl -u sandbox:${gitToken} --data-binary @hello-1.0.0.tgz ${charts}/api/charts`,
  );
  for (const webhook of sandbox.webhooks()) {
    console.log(
      `Webhooks     every push posts a ${webhook.kind} push event to ${webhook.url}`,
    );
  }
  console.log(
    `Control API  ${gitUrl}/api/sandbox  (faults, image pushes, webhooks: see packages/gitops-sandbox/README.md)`,
  );
  const stop = async () => {
    await sandbox.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch(error => {
  console.error(error);
  process.exit(1);
});
