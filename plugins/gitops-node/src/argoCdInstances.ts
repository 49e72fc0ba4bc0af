import { Config } from '@backstage/config';
import { redactUrl } from './redact';

/**
 * How the backend reaches one Argo CD instance. Holds secrets: never send it out.
 *
 * @public
 */
export interface ArgoCdInstanceConfig {
  name: string;
  url: string;
  frontendUrl: string;
  credentials:
    | { kind: 'token'; token: string }
    | { kind: 'password'; username: string; password: string };
}

/**
 * Names of Argo CD instances and Kubernetes clusters in the config.
 *
 * @public
 */
export const CONFIG_NAME = /^[a-zA-Z0-9]([-a-zA-Z0-9_.]*[a-zA-Z0-9])?$/;

/**
 * An http(s) URL from the config, without trailing slashes; throws naming `key`. A URL
 * carrying a user name or password is refused: credentials have keys of their own
 * (`token`, `username`/`password`), and a URL is shown in links, logs and errors.
 *
 * @public
 */
export function httpUrl(value: string, key: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`Invalid URL at ${key}: "${redactUrl(value)}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Invalid URL at ${key}: only http and https are supported`);
  }
  if (url.username || url.password) {
    throw new Error(
      `Invalid URL at ${key}: it carries credentials (user:password@); give them as token, or username and password, instead`,
    );
  }
  return value.replace(/\/+$/, '');
}

/**
 * The Argo CD instances of `argocd.appLocatorMethods` (the community Argo CD plugins'
 * keys), as the GitOps backend and the scaffolder actions reach them. Throws with the
 * offending config key on bad input.
 *
 * @public
 */
export function readArgoCdInstances(config: Config): ArgoCdInstanceConfig[] {
  const defaultUser = config.getOptionalString('argocd.username');
  const defaultPassword = config.getOptionalString('argocd.password');
  const instances: ArgoCdInstanceConfig[] = [];
  const methods =
    config.getOptionalConfigArray('argocd.appLocatorMethods') ?? [];
  methods.forEach((method, m) => {
    const type = method.getString('type');
    if (type !== 'config') {
      throw new Error(
        `Unsupported argocd.appLocatorMethods[${m}].type "${type}"; only "config" is supported`,
      );
    }
    method.getConfigArray('instances').forEach((instance, i) => {
      const key = `argocd.appLocatorMethods[${m}].instances[${i}]`;
      const name = instance.getString('name');
      if (!CONFIG_NAME.test(name)) {
        throw new Error(`Invalid ${key}.name "${name}"`);
      }
      if (instances.some(existing => existing.name === name)) {
        throw new Error(
          `Duplicate Argo CD instance name "${name}" at ${key}.name`,
        );
      }
      const url = httpUrl(instance.getString('url'), `${key}.url`);
      const frontendUrl = instance.has('frontendUrl')
        ? httpUrl(instance.getString('frontendUrl'), `${key}.frontendUrl`)
        : url;
      const token = instance.getOptionalString('token');
      const username = instance.getOptionalString('username') ?? defaultUser;
      const password =
        instance.getOptionalString('password') ?? defaultPassword;
      let credentials: ArgoCdInstanceConfig['credentials'];
      if (token) {
        credentials = { kind: 'token', token };
      } else if (username && password) {
        credentials = { kind: 'password', username, password };
      } else {
        throw new Error(
          `Argo CD instance "${name}" at ${key} needs a token, or a username and password`,
        );
      }
      instances.push({ name, url, frontendUrl, credentials });
    });
  });
  return instances;
}
