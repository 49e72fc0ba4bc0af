import {
  CHART_VERSION_ANNOTATION,
  readChartVersionLocation,
} from './annotations';

const read = (value?: string) =>
  readChartVersionLocation(
    value === undefined ? {} : { [CHART_VERSION_ANNOTATION]: value },
    'staging',
  );

describe('readChartVersionLocation', () => {
  it('defaults to the Application manifest', () => {
    expect(read()).toEqual({ kind: 'application' });
    expect(read(' application ')).toEqual({ kind: 'application' });
  });

  it('reads a values key, with the environment put in', () => {
    expect(read('values:environments.{environment}.chartVersion')).toEqual({
      kind: 'values',
      key: 'environments.staging.chartVersion',
    });
    expect(read('values:shop_chart-version')).toEqual({
      kind: 'values',
      key: 'shop_chart-version',
    });
  });

  it.each([
    'value:a.b',
    'values:',
    'values:a..b',
    'values:a.b.',
    'values:a.{env}.b',
    'values:a b',
    'dependency:shop',
  ])('refuses %j, naming the annotation and the value', value => {
    expect(() => read(value)).toThrow(
      `${CHART_VERSION_ANNOTATION} must be "application" or "values:<key>"`,
    );
    expect(() => read(value)).toThrow(JSON.stringify(value));
  });
});
