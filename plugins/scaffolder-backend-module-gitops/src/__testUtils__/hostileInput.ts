import { TemplateAction } from '@backstage/plugin-scaffolder-node';
import fc from 'fast-check';
import { validate } from 'jsonschema';

/** Where a hostile value would leave a trace: files the attacks aim at. */
export interface Targets {
  /** The file a shell injection would create (`touch <canary>`). */
  canary: string;
  /** A file outside every workspace that path attacks try to read or overwrite. */
  decoy: string;
}

/**
 * What an attacker types into a template's form or writes into a template: flags,
 * shell and YAML metacharacters, paths out of the workspace (relative, absolute,
 * climbing past the root, through a symlink named `escape`), template syntax,
 * unicode, NUL, a 64 KB string, URLs with credentials or other schemes, and any
 * other short string. The named values are not shrunk: fast-check would try the
 * 64 KB string as a string, one character at a time.
 */
export function hostileString({ canary, decoy }: Targets) {
  const climb = `${'../'.repeat(16)}${decoy.slice(1)}`;
  return fc.oneof(
    fc.noShrink(
      fc.constantFrom(
        '--post-renderer=/bin/sh',
        `--values=${decoy}`,
        '-h',
        'checkout --debug',
        `$(touch ${canary})`,
        `\`touch ${canary}\``,
        `; touch ${canary}`,
        `| touch ${canary}`,
        decoy,
        climb,
        '../../decoy.yaml',
        '../../../../decoy.yaml',
        'escape/decoy.yaml',
        'escape',
        '..',
        '.',
        '../',
        '/',
        '%2e%2e%2f',
        'a/../../..',
        'prod\nimage:\n  tag: evil',
        'key: [unclosed',
        '{{ .Values.secret }}',
        '${{ secrets.TOKEN }}',
        '*',
        '!x',
        'prod\u0000',
        'ｐｒｏｄ',
        'dev\u200b',
        'x'.repeat(64 * 1024),
        'staging ',
        'PROD',
        'http://user:pass@evil.example.com/',
        'file:///etc/passwd',
        `ext::sh -c touch% ${canary}`,
      ),
    ),
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'grapheme', maxLength: 20 }),
  );
}

/** One input field an attack aims at. */
export interface FieldAttack {
  /** Dotted path into the input: `source.helm.releaseName`, `environments.0.name`. */
  field: string;
  /** The valid input it goes into, when not the action's usual one. */
  base?: () => unknown;
  values: fc.Arbitrary<unknown>;
  /** Values the action may rightly accept (skipped: not hostile). */
  legit?: (value: any) => boolean;
  /** What the refusal must name. */
  names: RegExp;
}

/** A copy of `base` with `value` at the dotted `field`. */
export function withValue<T>(base: T, field: string, value: unknown): T {
  const copy = structuredClone(base) as any;
  const keys = field.split('.');
  let at = copy;
  for (const key of keys.slice(0, -1)) {
    at[key] ??= {};
    at = at[key];
  }
  at[keys[keys.length - 1]] = value;
  return copy;
}

/**
 * One hostile value for one of the attacks (by index, and its field for the report
 * of a counterexample); `inputOf` puts it into its valid input.
 */
export function hostileInputs<T>(base: () => T, attacks: FieldAttack[]) {
  return {
    arbitrary: fc.oneof(
      ...attacks.map((attack, index) =>
        attack.values.map(value => ({ index, field: attack.field, value })),
      ),
    ),
    inputOf: ({ index, value }: { index: number; value: unknown }): T => {
      const attack = attacks[index];
      return withValue((attack.base ?? base)() as T, attack.field, value);
    },
  };
}

/** The errors of @backstage/errors a scaffolder step fails with for bad input (4xx). */
const REFUSALS = [
  'InputError',
  'NotAllowedError',
  'ConflictError',
  'NotFoundError',
];

/** A value for a failure message: short, and visible. */
export const show = (value: unknown) =>
  JSON.stringify(value, (_, v) =>
    typeof v === 'string' && v.length > 100 ? `${v.slice(0, 100)}…` : v,
  );

/**
 * Why the scaffolder refuses `input` for `action` before running it: its check against
 * the action's JSON schema with jsonschema, as NunjucksWorkflowRunner does. Undefined
 * when the input passes.
 */
export function schemaRefusal(
  action: TemplateAction<any, any, any>,
  input: unknown,
): string | undefined {
  const checked = validate(input, action.schema?.input ?? {});
  return checked.valid ? undefined : checked.errors.join(', ');
}

/**
 * One hostile run, as the scaffolder runs a step: the input is checked against the
 * action's JSON schema with jsonschema (as NunjucksWorkflowRunner does), and a refusal
 * there ends it; otherwise `run` calls the handler, which must fail with a 4xx error
 * (or one `alsoRefusal` accepts) whose message names the problem. Throws, for
 * fast-check to report and shrink, when the action accepts the input. Answers who
 * refused: `schema`, or the error's name.
 */
export async function expectRefused(options: {
  action: TemplateAction<any, any, any>;
  input: unknown;
  names: RegExp;
  run: () => Promise<unknown>;
  alsoRefusal?: (error: any) => boolean;
}): Promise<string> {
  const { action, input, names, run, alsoRefusal } = options;
  const message = schemaRefusal(action, input);
  if (message !== undefined) {
    if (!names.test(message)) {
      throw new Error(
        `${action.id} refused ${show(
          input,
        )} by its schema, without naming ${names}: ${message}`,
      );
    }
    return 'schema';
  }
  const error = await run().then(
    () => undefined,
    (e: any) => e ?? new Error('(thrown without an error)'),
  );
  if (!error) {
    throw new Error(`${action.id} accepted ${show(input)}`);
  }
  if (!REFUSALS.includes(error.name) && !alsoRefusal?.(error)) {
    throw new Error(
      `${action.id} failed on ${show(input)} with ${
        error.name
      }, not a refusal: ${error.message}`,
    );
  }
  if (!error.message || !names.test(error.message)) {
    throw new Error(
      `${action.id} refused ${show(input)} without naming ${names}: ${
        error.name
      }: ${error.message}`,
    );
  }
  return error.name;
}
