import { resolveSafeChildPath } from '@backstage/backend-plugin-api';
import { InputError, NotAllowedError } from '@backstage/errors';
import fs from 'node:fs/promises';

/** A value for a message: quoted, and cut short so a huge input stays out of logs. */
export function quoted(value: string) {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * `resolveSafeChildPath` (symlinks followed), with an InputError that names the input
 * (`what`, e.g. `sourcePath "../x"`) for a path outside the workspace or one no file
 * system takes (a NUL character, a name too long), instead of a bare Node error.
 */
export function insideWorkspace(
  workspacePath: string,
  target: string,
  what: string,
): string {
  if (target.includes('\0')) {
    throw new InputError(`${what} holds a NUL character`);
  }
  try {
    return resolveSafeChildPath(workspacePath, target);
  } catch (error) {
    // By name: @backstage/errors may be another copy than the one here.
    if ((error as Error)?.name === NotAllowedError.name) {
      throw new InputError(`${what} is outside the workspace`);
    }
    if ((error as NodeJS.ErrnoException)?.code === 'ENAMETOOLONG') {
      throw new InputError(`${what} is too long for a path`);
    }
    throw error;
  }
}

/** A directory of the workspace (`key` names the input), or an InputError saying why not. */
export async function workspaceDirectory(
  workspacePath: string,
  value: string,
  key: string,
): Promise<string> {
  const what = `${key} ${quoted(value)}`;
  const dir = insideWorkspace(workspacePath, value, what);
  const stat = await fs.stat(dir).catch(() => undefined);
  if (!stat?.isDirectory()) {
    throw new InputError(
      `${what} is not a directory in the workspace${
        stat ? '' : ': it does not exist'
      }`,
    );
  }
  return dir;
}
