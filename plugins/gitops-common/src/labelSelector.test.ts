import { compileLabelSelector, labelSelectorPinnedKeys } from './labelSelector';

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

describe('labelSelectorPinnedKeys', () => {
  it.each([
    ['app=service-a', ['app']],
    ['app==service-a,!x', ['app']],
    ['tier in (web, api)', ['tier']],
    ['!x', []],
    ['app', []],
    ['app!=payments', []],
    ['app notin (payments)', []],
    ['app=', []],
    ['', []],
  ])('%s pins %j', (selector, keys) => {
    expect(labelSelectorPinnedKeys(selector)).toEqual(keys);
  });
});
