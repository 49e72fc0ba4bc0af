import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a small chart (`<dir>/<name>-<version>/`): a ConfigMap telling the chart
 * version it came from and the `greeting` value, and a values file for `prod` inside.
 */
export async function writeChart(
  dir: string,
  version: string,
  name = 'hello',
): Promise<string> {
  const chartDir = path.join(dir, `${name}-${version}`);
  const files = {
    'Chart.yaml': `apiVersion: v2\nname: ${name}\ndescription: a tiny chart\nversion: ${version}\nappVersion: "1.0"\nhome: https://example.com/hello\nmaintainers:\n  - name: Platform Team\n    email: platform@example.com\n`,
    'values.yaml': 'greeting: hello from the chart\n',
    'values-prod.yaml': 'greeting: hello from prod\n',
    'templates/configmap.yaml': [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata:',
      '  name: {{ .Release.Name }}-greeting',
      'data:',
      '  greeting: {{ .Values.greeting | quote }}',
      '  chartVersion: {{ .Chart.Version | quote }}',
      '',
    ].join('\n'),
  };
  for (const [file, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(chartDir, file)), {
      recursive: true,
    });
    await fs.writeFile(path.join(chartDir, file), text);
  }
  return chartDir;
}
