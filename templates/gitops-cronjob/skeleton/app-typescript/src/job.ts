// Extract, transform, load — one run, then exit. The same image runs on the cluster's
// schedule and locally (`docker run --rm <image>`). SOURCE (a JSON file of readings,
// default: a built-in sample) and TARGET (a file, default: standard output).
import fs from 'node:fs';
import { Reading, transform } from './transform';

const SAMPLE: Reading[] = [
  { sensor: 's-1', celsius: 21.5 },
  { sensor: 's-2', celsius: 19 },
  { sensor: 's-1', celsius: 22.5 },
];

const source = process.env.SOURCE;
const readings: Reading[] = source
  ? JSON.parse(fs.readFileSync(source, 'utf8'))
  : SAMPLE;
const rows = transform(readings);
const text = `${JSON.stringify(rows, null, 2)}\n`;
if (process.env.TARGET) fs.writeFileSync(process.env.TARGET, text);
else process.stdout.write(text);
console.error(
  `loaded ${rows.length} rows (version ${process.env.APP_VERSION ?? 'dev'})`,
);
