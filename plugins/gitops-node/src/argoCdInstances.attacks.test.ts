import { ConfigReader } from '@backstage/config';
import { readArgoCdInstances } from './argoCdInstances';

const instances = (instance: object) =>
  readArgoCdInstances(
    new ConfigReader({
      argocd: {
        appLocatorMethods: [
          { type: 'config', instances: [{ name: 'main', ...instance }] },
        ],
      },
    }),
  );

describe('Argo CD instance URLs never carry credentials into links, logs or errors', () => {
  it('refuses a url with user:password@ (so frontendUrl cannot default to it), without repeating the password', () => {
    const read = () =>
      instances({
        url: 'https://admin:hunter2@argocd.example.com',
        token: 't',
      });
    expect(read).toThrow(
      'Invalid URL at argocd.appLocatorMethods[0].instances[0].url: it carries credentials (user:password@); give them as token, or username and password, instead',
    );
    expect(read).not.toThrow(/hunter2/);
  });

  it('refuses a frontendUrl with credentials', () => {
    expect(() =>
      instances({
        url: 'https://argocd.example.com',
        frontendUrl: 'https://viewer:pw@argocd.example.com',
        token: 't',
      }),
    ).toThrow(
      'Invalid URL at argocd.appLocatorMethods[0].instances[0].frontendUrl: it carries credentials',
    );
  });

  it('redacts credentials from a URL it cannot parse', () => {
    expect(() =>
      instances({ url: 'https://admin:hunter2@bad host', token: 't' }),
    ).toThrow(
      'Invalid URL at argocd.appLocatorMethods[0].instances[0].url: "https://***@bad host"',
    );
  });

  it('defaults frontendUrl to the url, which has no credentials', () => {
    expect(
      instances({ url: 'https://argocd.example.com/', token: 't' }),
    ).toEqual([
      expect.objectContaining({
        url: 'https://argocd.example.com',
        frontendUrl: 'https://argocd.example.com',
      }),
    ]);
  });
});
