import { compileLabelSelector } from './labelSelector';

describe('compileLabelSelector', () => {
  const labels = { app: 'service-a', 'gitops/environment': 'dev' };

  it.each([
    ['app=service-a', true],
    ['app==service-a', true],
    ['app!=service-a', false],
    ['app=service-a,gitops/environment in (dev, staging)', true],
    ['gitops/environment notin (dev)', false],
    ['app', true],
    ['!app', false],
    ['!tier', true],
    ['', true],
  ])('%s → %s', (selector, expected) => {
    expect(compileLabelSelector(selector)(labels)).toBe(expected);
  });

  it('treats missing labels as an empty set', () => {
    expect(compileLabelSelector('app')(undefined)).toBe(false);
    expect(compileLabelSelector('app notin (x)')(undefined)).toBe(true);
  });

  it('names the term it cannot parse', () => {
    expect(() => compileLabelSelector('app in b')).toThrow(
      'unable to parse requirement: "app in b"',
    );
  });
});
